'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, it } = require('node:test');
const { APP_DIR, eventually, freePort, request, startRedis, startServer } = require('./helpers');
const { version } = require('../package.json');

const MIGRATIONS = fs.readdirSync(path.join(APP_DIR, 'prisma', 'migrations'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe('GET /api/health with a Redis that goes away', () => {
  let redis;
  let server;
  before(async () => {
    redis = await startRedis();
    server = await startServer({ REDIS_URL: redis.url });
  });
  after(async () => {
    await server?.stop();
    await redis?.stop();
  });

  const health = () => request(`${server.url}/api/health`);

  it('answers 200 {"status":"ok"} while PostgreSQL and Redis answer', async () => {
    const response = await eventually(async () => {
      const result = await health();
      return result.status === 200 && result;
    });
    assert.ok(response, 'health never became 200');
    assert.deepEqual(response.body, { status: 'ok' });
  });

  it('answers 503 degraded while Redis hangs (each check is bounded)', async () => {
    redis.pause();
    try {
      const response = await health();
      assert.equal(response.status, 503);
      assert.deepEqual(response.body, { status: 'degraded', checks: { database: 'up', redis: 'down' } });
    } finally {
      redis.resume();
    }
  });

  it('answers 503 degraded once Redis is stopped', async () => {
    await eventually(async () => (await health()).status === 200);
    await redis.stop();
    const response = await eventually(async () => {
      const result = await health();
      return result.status === 503 && result;
    });
    assert.ok(response, 'health stayed 200 after Redis stopped');
    assert.deepEqual(response.body, { status: 'degraded', checks: { database: 'up', redis: 'down' } });
  });

  it('still stores bug reports while Redis is down (the triage job is skipped)', async () => {
    const created = await request(`${server.url}/api/bug-reports`, {
      method: 'POST',
      json: { title: 'Redis is down', description: 'stored anyway', severity: 'low' },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.status, 'new');
  });

  it('answers 200 again when Redis is back', async () => {
    redis = await startRedis(redis.port);
    const response = await eventually(async () => {
      const result = await health();
      return result.status === 200 && result;
    });
    assert.ok(response, 'health did not recover after Redis restarted');
  });

  it('exits 0 on SIGTERM while the queue worker is still reconnecting', async () => {
    const code = await server.stop();
    assert.equal(code, 0, server.output());
  });
});

describe('GET /api/health with an unreachable database', () => {
  let server;
  before(async () => {
    // Nothing listens on a just-freed port: the connection is refused.
    server = await startServer({ DATABASE_URL: `postgresql://app:app@127.0.0.1:${await freePort()}/app` });
  });
  after(() => server?.stop());

  it('answers 503 with the database down', async () => {
    const response = await request(`${server.url}/api/health`);
    assert.equal(response.status, 503);
    assert.equal(response.body.status, 'degraded');
    assert.equal(response.body.checks.database, 'down');
  });
});

describe('GET /api/health/details', () => {
  const token = 'details-token-for-the-test';
  let production;
  let development;
  before(async () => {
    [production, development] = await Promise.all([
      startServer({ NODE_ENV: 'production', HEALTH_TOKEN: token }),
      startServer({ NODE_ENV: 'development' }),
    ]);
  });
  after(() => Promise.all([production?.stop(), development?.stop()]));

  it('requires the bearer token in production', async () => {
    for (const authorization of [undefined, `Bearer ${token}x`, `Basic ${token}`, 'Bearer ', token]) {
      const headers = authorization === undefined ? {} : { authorization };
      const response = await request(`${production.url}/api/health/details`, { headers });
      assert.equal(response.status, 401, `authorization ${JSON.stringify(authorization)} was accepted`);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="health"');
      assert.equal(response.body.migrations, undefined);
    }
  });

  it('shows dependencies, migrations, version, uptime and queue counts with the token', async () => {
    const response = await request(`${production.url}/api/health/details`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    const { body } = response;
    assert.equal(body.status, 'ok');
    assert.equal(body.database, 'up');
    assert.equal(body.redis, 'up');
    assert.deepEqual(body.migrations, MIGRATIONS);
    assert.equal(body.version, version);
    assert.ok(Number.isInteger(body.uptimeSeconds) && body.uptimeSeconds >= 0);
    assert.equal(body.queue.name, 'bug-report-triage');
    for (const state of ['waiting', 'active', 'delayed', 'completed', 'failed']) {
      assert.ok(Number.isInteger(body.queue[state]), `queue.${state} is ${body.queue[state]}`);
    }
    assert.equal(body.errors, undefined);
  });

  it('keeps the public probe open in production', async () => {
    const response = await request(`${production.url}/api/health`);
    assert.equal(response.status, 200);
  });

  it('is open in development', async () => {
    const response = await request(`${development.url}/api/health/details`);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.migrations, MIGRATIONS);
  });
});
