'use strict';
// Dependency checks for the health endpoints. Each check is bounded by a short timeout, so a dead or
// hanging PostgreSQL/Redis makes the probe answer "degraded" quickly instead of hanging with it.

const { withTimeout } = require('./timeout');

const CHECK_TIMEOUT_MS = 2000;

async function check(what, probe) {
  try {
    await withTimeout(probe(), what, CHECK_TIMEOUT_MS);
    return { status: 'up' };
  } catch (error) {
    return { status: 'down', error: error.message };
  }
}

/** The public probe: is every dependency answering? */
async function checkDependencies({ prisma, redis }) {
  const [database, cache] = await Promise.all([
    check('PostgreSQL', () => prisma.$queryRaw`SELECT 1`),
    check('Redis', () => redis.ping()),
  ]);
  return { ok: database.status === 'up' && cache.status === 'up', database, redis: cache };
}

/** Names of the Prisma migrations applied to the database, oldest first. */
async function appliedMigrations(prisma) {
  const rows = await withTimeout(
    prisma.$queryRaw`SELECT migration_name FROM _prisma_migrations
      WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY started_at, migration_name`,
    'PostgreSQL',
    CHECK_TIMEOUT_MS,
  );
  return rows.map((row) => row.migration_name);
}

/** The detailed view: dependencies, migrations, version, uptime and queue counts. */
async function healthDetails({ prisma, redis, triage, version }) {
  const checks = await checkDependencies({ prisma, redis });
  const errors = {};
  for (const name of ['database', 'redis']) {
    if (checks[name].error) errors[name] = checks[name].error;
  }
  let migrations = null;
  if (checks.database.status === 'up') {
    migrations = await appliedMigrations(prisma).catch((error) => {
      errors.migrations = error.message;
      return null;
    });
  }
  let queue = null;
  if (checks.redis.status === 'up') {
    queue = await withTimeout(triage.counts(), 'Redis', CHECK_TIMEOUT_MS).catch((error) => {
      errors.queue = error.message;
      return null;
    });
  }
  return {
    status: checks.ok ? 'ok' : 'degraded',
    version,
    uptimeSeconds: Math.round(process.uptime()),
    database: checks.database.status,
    redis: checks.redis.status,
    migrations,
    queue,
    ...(Object.keys(errors).length > 0 ? { errors } : {}),
  };
}

module.exports = { checkDependencies, healthDetails };
