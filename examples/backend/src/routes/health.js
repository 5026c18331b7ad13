'use strict';
const { createHash, timingSafeEqual } = require('node:crypto');
const express = require('express');
const { checkDependencies, healthDetails } = require('../health');

const digest = (value) => createHash('sha256').update(value).digest();

/** In production the detailed view needs `Authorization: Bearer <HEALTH_TOKEN>`; elsewhere it is open. */
function requireHealthToken({ isProduction, healthToken }) {
  if (!isProduction) return (req, res, next) => next();
  // Comparing digests keeps the comparison constant-time whatever the length of the given token.
  const expected = digest(healthToken);
  return (req, res, next) => {
    const [scheme, token] = (req.get('authorization') ?? '').split(' ');
    if (scheme?.toLowerCase() === 'bearer' && token && timingSafeEqual(digest(token), expected)) return next();
    res.set('WWW-Authenticate', 'Bearer realm="health"');
    return res.status(401).json({ error: 'send Authorization: Bearer <HEALTH_TOKEN> to see the health details' });
  };
}

function healthRoutes({ config, prisma, redis, triage, version }) {
  const router = express.Router();
  router.get('/', async (req, res) => {
    const checks = await checkDependencies({ prisma, redis });
    if (checks.ok) return res.json({ status: 'ok' });
    return res.status(503).json({
      status: 'degraded',
      checks: { database: checks.database.status, redis: checks.redis.status },
    });
  });
  router.get('/details', requireHealthToken(config), async (req, res) => {
    const details = await healthDetails({ prisma, redis, triage, version });
    res.status(details.status === 'ok' ? 200 : 503).json(details);
  });
  return router;
}

module.exports = { healthRoutes };
