'use strict';
const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');
const { eventually, request, startServer } = require('./helpers');
const { GREETING } = require('../src/greeting');
const { version } = require('../package.json');

describe('bug reports API', () => {
  let server;
  let api;
  before(async () => {
    server = await startServer();
    api = `${server.url}/api/bug-reports`;
  });
  after(() => server?.stop());

  const create = (json) => request(api, { method: 'POST', json });

  it('creates, lists newest first and fetches bug reports', async () => {
    const first = await create({ title: ' Login fails ', description: 'Clicking "Sign in" shows a 500.', severity: 'high' });
    assert.equal(first.status, 201);
    assert.ok(Number.isInteger(first.body.id));
    assert.equal(first.headers.get('location'), `/api/bug-reports/${first.body.id}`);
    assert.deepEqual(
      { ...first.body, id: undefined, createdAt: undefined },
      { id: undefined, title: 'Login fails', description: 'Clicking "Sign in" shows a 500.', severity: 'high', status: 'new', createdAt: undefined, triagedAt: null },
    );
    assert.ok(!Number.isNaN(Date.parse(first.body.createdAt)));
    const second = await create({ title: 'Typo on the pricing page', description: 'Teh price', severity: 'low' });
    assert.equal(second.status, 201);

    const list = await request(api);
    assert.equal(list.status, 200);
    const ids = list.body.map((report) => report.id);
    assert.ok(ids.includes(first.body.id) && ids.includes(second.body.id));
    assert.ok(ids.indexOf(second.body.id) < ids.indexOf(first.body.id), 'the newer report is not listed first');

    const fetched = await request(`${api}/${second.body.id}`);
    assert.equal(fetched.status, 200);
    assert.equal(fetched.body.title, 'Typo on the pricing page');
    assert.equal(fetched.body.severity, 'low');
  });

  it('triages every new report through the queue worker', async () => {
    const created = await create({ title: 'Queue me', description: 'for triage', severity: 'medium' });
    assert.equal(created.status, 201);
    const triaged = await eventually(async () => {
      const { body } = await request(`${api}/${created.body.id}`);
      return body.status === 'triaged' && body;
    });
    assert.ok(triaged, 'the report was not triaged');
    assert.ok(Date.parse(triaged.triagedAt) >= Date.parse(triaged.createdAt));
    const details = await request(`${server.url}/api/health/details`);
    assert.ok(details.body.queue.completed >= 1, `completed jobs: ${details.body.queue.completed}`);
  });

  const invalid = [
    [{ description: 'd', severity: 'low' }, 'title is required'],
    [{ title: '   ', description: 'd', severity: 'low' }, 'title is required'],
    [{ title: 't', description: 42, severity: 'low' }, 'description must be a string'],
    [{ title: 'x'.repeat(201), description: 'd', severity: 'low' }, 'title must be at most 200 characters'],
    [{ title: 't', description: 'd', severity: 'urgent' }, 'severity must be one of low, medium, high'],
    [{}, 'title is required; description is required; severity is required'],
    [['a list'], 'send a JSON object (Content-Type: application/json) with title, description and severity'],
  ];
  for (const [json, error] of invalid) {
    it(`answers 400 "${error}" for ${JSON.stringify(json).slice(0, 40)}`, async () => {
      const response = await create(json);
      assert.equal(response.status, 400);
      assert.deepEqual(response.body, { error });
    });
  }

  it('answers 400 for a body that is not JSON', async () => {
    const malformed = await request(api, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":' });
    assert.equal(malformed.status, 400);
    assert.deepEqual(malformed.body, { error: 'request body is not valid JSON' });
    const form = await request(api, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'title=x' });
    assert.equal(form.status, 400);
    assert.match(form.body.error, /^send a JSON object/);
  });

  it('answers 400 for a malformed id and 404 for an unknown one', async () => {
    for (const id of ['abc', '0', '-1', '1.5', '99999999999']) {
      const response = await request(`${api}/${id}`);
      assert.equal(response.status, 400, `id ${id}`);
      assert.deepEqual(response.body, { error: 'id must be a positive integer' });
    }
    const missing = await request(`${api}/2147483647`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: 'bug report 2147483647 not found' });
  });

  it('answers JSON 404 for unknown routes', async () => {
    const response = await request(`${server.url}/api/nope`);
    assert.equal(response.status, 404);
    assert.deepEqual(response.body, { error: 'no route for GET /api/nope' });
  });
});

describe('GET /api/version', () => {
  it('returns the package version and the greeting', async () => {
    const server = await startServer();
    try {
      const response = await request(`${server.url}/api/version`);
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, { version, greeting: GREETING });
    } finally {
      await server.stop();
    }
  });
});

describe('rate limit and CORS', () => {
  let server;
  before(async () => {
    server = await startServer({ RATE_LIMIT_MAX: '3', ALLOWED_ORIGINS: 'https://app.example.com' });
  });
  after(() => server?.stop());

  it('answers 429 with Retry-After past RATE_LIMIT_MAX requests, but never for the health probe', async () => {
    // startServer already spent one request on /api/version.
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await request(`${server.url}/api/version`)).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    const limited = await request(`${server.url}/api/bug-reports`);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.match(limited.body.error, /^too many requests \(limit 3 per minute\)/);
    assert.equal((await request(`${server.url}/api/health`)).status, 200);
  });

  it('allows only the configured origins', async () => {
    const allowed = await request(`${server.url}/api/health`, { headers: { origin: 'https://app.example.com' } });
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.match(allowed.headers.get('vary'), /Origin/);
    const other = await request(`${server.url}/api/health`, { headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const preflight = await request(`${server.url}/api/bug-reports`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-methods'), /POST/);
  });
});

describe('shutdown', () => {
  it('exits 0 after SIGTERM and SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT']) {
      const server = await startServer({ LOG_LEVEL: 'info' });
      const code = await server.stop(signal);
      assert.equal(code, 0, server.output());
      assert.match(server.output(), new RegExp(`"msg":"${signal} received, shutting down"[^\\n]*\\n.*"msg":"shutdown complete"`, 's'));
    }
  });
});
