'use strict';
const assert = require('node:assert/strict');
const { describe, it } = require('node:test');
const { loadConfig } = require('../src/config');
const { runServerUntilExit, validEnv } = require('./helpers');

const REQUIRED = ['NODE_ENV', 'PORT', 'DATABASE_URL', 'REDIS_URL', 'SUPABASE_URL', 'SUPABASE_ANON_KEY', 'JWT_SECRET'];
const PRODUCTION = { NODE_ENV: 'production', HEALTH_TOKEN: 'a-health-token' };

describe('loadConfig', () => {
  it('accepts a complete environment and applies the defaults', () => {
    const { config, errors } = loadConfig(validEnv({ LOG_LEVEL: undefined }));
    assert.deepEqual(errors, []);
    assert.equal(config.port, 3000);
    assert.equal(config.isProduction, false);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.rateLimitMax, 100);
    assert.deepEqual(config.allowedOrigins, []);
  });

  for (const name of REQUIRED) {
    it(`names ${name} when it is missing or blank`, () => {
      for (const value of [undefined, '', '   ']) {
        const { config, errors } = loadConfig(validEnv({ [name]: value }));
        assert.equal(config, null);
        assert.deepEqual(errors, [`${name} is required (set it in the env file)`]);
      }
    });
  }

  const malformed = [
    ['NODE_ENV', 'staging', 'NODE_ENV must be one of development, production, test (got "staging")'],
    ['PORT', '0', 'PORT must be an integer from 1 to 65535 (got "0")'],
    ['PORT', '65536', 'PORT must be an integer from 1 to 65535 (got "65536")'],
    ['PORT', '80a', 'PORT must be an integer from 1 to 65535 (got "80a")'],
    ['DATABASE_URL', 'mysql://app:pw@db/app', 'DATABASE_URL must be a URL like postgresql://USER:PASSWORD@HOST:5432/DATABASE'],
    ['DATABASE_URL', 'db.internal:5432', 'DATABASE_URL must be a URL like postgresql://USER:PASSWORD@HOST:5432/DATABASE'],
    ['REDIS_URL', 'http://cache:6379', 'REDIS_URL must be a URL like redis://HOST:6379 or rediss://HOST:6380'],
    ['SUPABASE_URL', 'ftp://supabase.local', 'SUPABASE_URL must be an http:// or https:// URL (got "ftp://supabase.local")'],
    ['LOG_LEVEL', 'verbose', 'LOG_LEVEL must be one of error, warn, info, debug (got "verbose")'],
    ['RATE_LIMIT_MAX', '0', 'RATE_LIMIT_MAX must be a positive integer (got "0")'],
    ['RATE_LIMIT_MAX', '1.5', 'RATE_LIMIT_MAX must be a positive integer (got "1.5")'],
    ['ALLOWED_ORIGINS', 'https://ok.example, https://app.example/path',
      'ALLOWED_ORIGINS entry "https://app.example/path" is not an origin like https://app.example.com (or *)'],
  ];
  for (const [name, value, message] of malformed) {
    it(`rejects ${name}=${value}`, () => {
      const { config, errors } = loadConfig(validEnv({ [name]: value }));
      assert.equal(config, null);
      assert.deepEqual(errors, [message]);
    });
  }

  it('accepts both PostgreSQL and both Redis URL schemes', () => {
    for (const [databaseUrl, redisUrl] of [['postgres://a:b@h/d', 'redis://h:6379'], ['postgresql://a:b@h:5433/d', 'rediss://:pw@h:6380/1']]) {
      const { errors } = loadConfig(validEnv({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl }));
      assert.deepEqual(errors, []);
    }
  });

  it('parses ALLOWED_ORIGINS as a comma list of normalised origins', () => {
    const { config } = loadConfig(validEnv({ ALLOWED_ORIGINS: ' https://App.example.com/ ,http://localhost:5173,, ' }));
    assert.deepEqual(config.allowedOrigins, ['https://app.example.com', 'http://localhost:5173']);
  });

  it('requires HEALTH_TOKEN and a 32 character JWT_SECRET in production only', () => {
    const shortSecret = { JWT_SECRET: 'only-31-characters-long-secret!' };
    assert.equal(shortSecret.JWT_SECRET.length, 31);
    assert.deepEqual(loadConfig(validEnv({ ...shortSecret, NODE_ENV: 'development' })).errors, []);
    assert.deepEqual(loadConfig(validEnv({ ...PRODUCTION, ...shortSecret })).errors, [
      'JWT_SECRET must be at least 32 characters long when NODE_ENV=production',
    ]);
    assert.deepEqual(loadConfig(validEnv({ ...PRODUCTION, HEALTH_TOKEN: undefined })).errors, [
      'HEALTH_TOKEN is required when NODE_ENV=production (set it in the env file)',
    ]);
    const { config } = loadConfig(validEnv({ ...PRODUCTION, JWT_SECRET: 'x'.repeat(32) }));
    assert.equal(config.isProduction, true);
    assert.equal(config.healthToken, 'a-health-token');
  });

  it('reports every problem at once and never repeats a secret value', () => {
    const secrets = ['db-password-123', 'redis-password-456', 'jwt-789'];
    const { errors } = loadConfig(validEnv({
      ...PRODUCTION,
      DATABASE_URL: `mysql://app:${secrets[0]}@db/app`,
      REDIS_URL: `memcached://:${secrets[1]}@cache`,
      JWT_SECRET: secrets[2],
      PORT: 'x',
    }));
    assert.equal(errors.length, 4);
    for (const secret of secrets) assert.ok(!errors.join('\n').includes(secret), `error output contains ${secret}`);
  });
});

describe('server start with a bad environment', () => {
  it('exits 1 with one "config error" line per missing variable', async () => {
    const result = await runServerUntilExit({ PATH: process.env.PATH });
    assert.equal(result.code, 1);
    assert.deepEqual(
      result.stderr.trim().split('\n'),
      REQUIRED.map((name) => `config error: ${name} is required (set it in the env file)`),
    );
    assert.equal(result.stdout, '');
  });

  it('exits 1 naming the malformed variable without printing its value', async () => {
    const result = await runServerUntilExit(validEnv({ ...PRODUCTION, DATABASE_URL: 'mysql://app:s3cret-pw@db/app', HEALTH_TOKEN: '' }));
    assert.equal(result.code, 1);
    assert.deepEqual(result.stderr.trim().split('\n'), [
      'config error: DATABASE_URL must be a URL like postgresql://USER:PASSWORD@HOST:5432/DATABASE',
      'config error: HEALTH_TOKEN is required when NODE_ENV=production (set it in the env file)',
    ]);
    assert.ok(!result.stderr.includes('s3cret-pw'));
  });
});
