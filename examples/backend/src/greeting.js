'use strict';
// Returned by GET /api/version. Kept alone in this file so that a development deployment can show hot
// reload: edit the text, and `npm run dev` (node --watch) restarts the server with it.
const GREETING = 'Hello from the backendops.stack sample backend';

module.exports = { GREETING };
