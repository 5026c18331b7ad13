'use strict';
const express = require('express');
const { GREETING } = require('../greeting');

function versionRoutes({ version }) {
  const router = express.Router();
  router.get('/', (req, res) => res.json({ version, greeting: GREETING }));
  return router;
}

module.exports = { versionRoutes };
