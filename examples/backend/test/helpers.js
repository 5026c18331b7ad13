'use strict';
// Shared test helpers: run the real server (node src/server.js) and a private redis-server as child
// processes, and talk to them over HTTP. Services come from DATABASE_URL / REDIS_URL, which
// scripts/test-sample-backend points at a throwaway PostgreSQL 15 cluster and Redis 7.
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const net = require('node:net');
const path = require('node:path');

const APP_DIR = path.join(__dirname, '..');
const REQUEST_TIMEOUT_MS = 10_000; // a hang guard, not a performance goal
const START_TIMEOUT_MS = 20_000;

/** DATABASE_URL and REDIS_URL of the services the integration tests run against. */
function services() {
  const { DATABASE_URL, REDIS_URL } = process.env;
  if (!DATABASE_URL || !REDIS_URL) {
    throw new Error('DATABASE_URL and REDIS_URL must point at PostgreSQL 15 and Redis 7 (scripts/test-sample-backend sets them)');
  }
  return { DATABASE_URL, REDIS_URL };
}

/** A complete, valid environment; only PATH is taken from the caller, so its env cannot leak in. */
function validEnv(overrides = {}) {
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'test',
    PORT: '3000',
    DATABASE_URL: 'postgresql://app:app@127.0.0.1:5432/app',
    REDIS_URL: 'redis://127.0.0.1:6379',
    SUPABASE_URL: 'http://127.0.0.1:54321',
    SUPABASE_ANON_KEY: 'test-anon-key',
    JWT_SECRET: 'a-test-jwt-secret-that-is-long-enough-for-production',
    LOG_LEVEL: 'warn',
    ...overrides,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return env;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `probe` until it returns a truthy value or the deadline passes; returns the last value. */
async function eventually(probe, { timeoutMs = 15_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value || Date.now() > deadline) return value;
    await sleep(intervalMs);
  }
}

/** fetch() with a hang guard; returns { status, headers, body } with body parsed from JSON. */
async function request(url, { method = 'GET', headers = {}, body, json } = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
  if (json !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Runs `node src/server.js` with exactly `env` and waits until it exits (config tests). */
async function runServerUntilExit(env, timeoutMs = START_TIMEOUT_MS) {
  const child = spawn(process.execPath, ['src/server.js'], { cwd: APP_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await once(child, 'exit');
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

/**
 * Starts `node src/server.js` on a free port with the real services (overridable) and waits until it
 * answers HTTP. `stop()` sends SIGTERM and resolves with the exit code.
 */
async function startServer(overrides = {}) {
  const port = await freePort();
  const env = validEnv({ ...services(), PORT: String(port), ...overrides });
  const child = spawn(process.execPath, ['src/server.js'], { cwd: APP_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const ready = await eventually(async () => {
    if (child.exitCode !== null) return 'exited';
    try {
      return (await fetch(`${url}/api/version`, { signal: AbortSignal.timeout(1000) })).ok;
    } catch {
      return false;
    }
  }, { timeoutMs: START_TIMEOUT_MS });
  if (ready !== true) {
    child.kill('SIGKILL');
    throw new Error(`server did not start (${ready === 'exited' ? `exit code ${child.exitCode}` : 'timeout'}):\n${output}`);
  }
  return {
    url,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code] = await exited;
      return code;
    },
  };
}

/** Sends PING over a plain socket; resolves true on +PONG, false on any error or after a second. */
function redisAnswersPing(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** Starts a private redis-server (REDIS_SERVER_BIN or redis-server on PATH) that a test may stop. */
async function startRedis(port) {
  const listenPort = port ?? await freePort();
  const binary = process.env.REDIS_SERVER_BIN || 'redis-server';
  const child = spawn(binary, ['--bind', '127.0.0.1', '--port', String(listenPort), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  // A binary that cannot start emits 'error' (reported below through the failed PING) instead of 'exit'.
  const exited = new Promise((resolve) => {
    child.on('exit', resolve);
    child.on('error', resolve);
  });
  const up = await eventually(() => redisAnswersPing(listenPort), { timeoutMs: 10_000 });
  if (!up) {
    child.kill('SIGKILL');
    throw new Error(`${binary} did not start on port ${listenPort} (set REDIS_SERVER_BIN or put redis-server on PATH)`);
  }
  return {
    url: `redis://127.0.0.1:${listenPort}`,
    port: listenPort,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
      }
      await exited;
    },
  };
}

module.exports = { APP_DIR, eventually, freePort, request, runServerUntilExit, services, startRedis, startServer, validEnv };
