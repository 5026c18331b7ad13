'use strict';
const express = require('express');
const { version } = require('../package.json');
const { cors, rateLimit } = require('./middleware');
const { healthRoutes } = require('./routes/health');
const { bugReportRoutes } = require('./routes/bug-reports');
const { versionRoutes } = require('./routes/version');

const JSON_BODY_LIMIT = '16kb';

/** Builds the Express app around already-created clients (PrismaClient, ioredis, triage queue). */
function createApp({ config, prisma, redis, triage, logger }) {
  const app = express();
  app.disable('x-powered-by');
  // Behind a reverse proxy on a private network (Docker, Compose), req.ip must be the client's address
  // from X-Forwarded-For, or every client would share the proxy's rate limit.
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => logger.debug('request', {
      method: req.method,
      path: req.originalUrl.split('?')[0],
      status: res.statusCode,
      ms: Number((process.hrtime.bigint() - started) / 1_000_000n),
    }));
    next();
  });
  app.use(cors(config.allowedOrigins));
  // The public probe stays outside the limit: orchestrator health checks must never see a 429.
  const isHealthProbe = (req) => req.method === 'GET' && `${req.baseUrl}${req.path}`.replace(/\/$/, '') === '/api/health';
  app.use('/api', rateLimit({ max: config.rateLimitMax, exempt: isHealthProbe }));
  app.use(express.json({ limit: JSON_BODY_LIMIT }));

  app.use('/api/health', healthRoutes({ config, prisma, redis, triage, version }));
  app.use('/api/bug-reports', bugReportRoutes({ prisma, triage }));
  app.use('/api/version', versionRoutes({ version }));

  app.use((req, res) => res.status(404).json({ error: `no route for ${req.method} ${req.path}` }));
  // Express 5 forwards rejected promises from async handlers here; the 4 parameters mark an error handler.
  app.use((error, req, res, next) => {
    if (error.type === 'entity.parse.failed') return res.status(400).json({ error: 'request body is not valid JSON' });
    if (error.type === 'entity.too.large') return res.status(413).json({ error: `request body is larger than ${JSON_BODY_LIMIT}` });
    const status = error.status ?? error.statusCode;
    if (status >= 400 && status < 500) return res.status(status).json({ error: error.message });
    logger.error('request failed', { method: req.method, path: req.path, error: error.message });
    return res.status(500).json({ error: 'internal server error' });
  });
  return app;
}

module.exports = { createApp };
