'use strict';
// Entry point: validate the environment, connect the clients, serve HTTP, shut down cleanly.
const { loadConfig } = require('./config');

const { config, errors } = loadConfig(process.env);
if (errors.length > 0) {
  for (const error of errors) process.stderr.write(`config error: ${error}\n`);
  process.exit(1);
}

const { PrismaClient } = require('@prisma/client');
const { PrismaPg } = require('@prisma/adapter-pg');
const Redis = require('ioredis');
const { createLogger } = require('./logger');
const { createTriageQueue } = require('./queue');
const { createApp } = require('./app');

const SHUTDOWN_TIMEOUT_MS = 10_000;

const logger = createLogger(config.logLevel);
const prisma = new PrismaClient({
  // A connect timeout keeps an unreachable database from piling up waiting requests.
  adapter: new PrismaPg({ connectionString: config.databaseUrl, connectionTimeoutMillis: 5000 }),
});
// Used for health checks only: without the offline queue a PING fails at once while Redis is away.
const redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5000 });
let redisDown = false;
redis.on('error', (error) => {
  if (!redisDown) logger.warn('Redis unavailable', { error: error.message });
  redisDown = true;
});
redis.on('ready', () => {
  if (redisDown) logger.info('Redis available again');
  redisDown = false;
});

const triage = createTriageQueue({ redisUrl: config.redisUrl, prisma, logger });
const app = createApp({ config, prisma, redis, triage, logger });

const server = app.listen(config.port, (error) => {
  if (error) {
    logger.error(`cannot listen on port ${config.port}: ${error.message}`);
    process.exit(1);
  }
  logger.info(`listening on port ${config.port}`, { nodeEnv: config.nodeEnv });
});

let shuttingDown = false;
async function shutdown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info(`${signal} received, shutting down`);
  setTimeout(() => {
    logger.error(`shutdown did not finish within ${SHUTDOWN_TIMEOUT_MS} ms, exiting anyway`);
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS).unref();
  // Stop taking requests and jobs first, then close the clients the in-flight ones still use.
  await Promise.allSettled([new Promise((resolve) => server.close(resolve)), triage.close()]);
  await Promise.allSettled([prisma.$disconnect(), Promise.resolve(redis.disconnect())]);
  logger.info('shutdown complete');
  // Exit explicitly: Prisma's WASM engine and client sockets can keep the event loop alive.
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
