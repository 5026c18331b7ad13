'use strict';
// Reads and validates the environment contract. Every problem is reported (not only the first), and
// values that may hold credentials (URLs, keys, secrets, tokens) are never echoed back.

const NODE_ENVS = ['development', 'production', 'test'];
const LOG_LEVELS = ['error', 'warn', 'info', 'debug'];
const DEFAULT_RATE_LIMIT_MAX = 100;
const MIN_PRODUCTION_SECRET_LENGTH = 32;

function parseUrl(value, protocols) {
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.hostname ? url : null;
  } catch {
    return null;
  }
}

function parseOrigin(entry) {
  if (entry === '*') return entry;
  const url = parseUrl(entry, ['http:', 'https:']);
  // An origin is scheme://host[:port] and nothing else; normalised the way browsers send it.
  const originOnly = url && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
  return originOnly ? url.origin : null;
}

/**
 * @param {Record<string, string | undefined>} env
 * @returns {{ config: object | null, errors: string[] }}
 */
function loadConfig(env) {
  const errors = [];
  const read = (name) => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const required = (name, why = '') => {
    const value = read(name);
    if (value === undefined) errors.push(`${name} is required${why} (set it in the env file)`);
    return value;
  };

  const nodeEnv = required('NODE_ENV');
  if (nodeEnv !== undefined && !NODE_ENVS.includes(nodeEnv)) {
    errors.push(`NODE_ENV must be one of ${NODE_ENVS.join(', ')} (got "${nodeEnv}")`);
  }
  const isProduction = nodeEnv === 'production';

  const portText = required('PORT');
  const port = Number(portText);
  if (portText !== undefined && !(/^\d+$/.test(portText) && port >= 1 && port <= 65535)) {
    errors.push(`PORT must be an integer from 1 to 65535 (got "${portText}")`);
  }

  const databaseUrl = required('DATABASE_URL');
  if (databaseUrl !== undefined && !parseUrl(databaseUrl, ['postgres:', 'postgresql:'])) {
    errors.push('DATABASE_URL must be a URL like postgresql://USER:PASSWORD@HOST:5432/DATABASE');
  }

  const redisUrl = required('REDIS_URL');
  if (redisUrl !== undefined && !parseUrl(redisUrl, ['redis:', 'rediss:'])) {
    errors.push('REDIS_URL must be a URL like redis://HOST:6379 or rediss://HOST:6380');
  }

  const supabaseUrl = required('SUPABASE_URL');
  if (supabaseUrl !== undefined && !parseUrl(supabaseUrl, ['http:', 'https:'])) {
    errors.push(`SUPABASE_URL must be an http:// or https:// URL (got "${supabaseUrl}")`);
  }

  const supabaseAnonKey = required('SUPABASE_ANON_KEY');

  const jwtSecret = required('JWT_SECRET');
  if (jwtSecret !== undefined && isProduction && jwtSecret.length < MIN_PRODUCTION_SECRET_LENGTH) {
    errors.push(`JWT_SECRET must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters long when NODE_ENV=production`);
  }

  const healthToken = isProduction ? required('HEALTH_TOKEN', ' when NODE_ENV=production') : read('HEALTH_TOKEN');

  const allowedOrigins = [];
  for (const entry of (read('ALLOWED_ORIGINS') ?? '').split(',').map((item) => item.trim()).filter(Boolean)) {
    const origin = parseOrigin(entry);
    if (origin) {
      allowedOrigins.push(origin);
    } else {
      errors.push(`ALLOWED_ORIGINS entry "${entry}" is not an origin like https://app.example.com (or *)`);
    }
  }

  const logLevel = read('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    errors.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  }

  const rateLimitText = read('RATE_LIMIT_MAX');
  const rateLimitMax = rateLimitText === undefined ? DEFAULT_RATE_LIMIT_MAX : Number(rateLimitText);
  if (rateLimitText !== undefined && !(/^\d+$/.test(rateLimitText) && rateLimitMax >= 1 && Number.isSafeInteger(rateLimitMax))) {
    errors.push(`RATE_LIMIT_MAX must be a positive integer (got "${rateLimitText}")`);
  }

  if (errors.length > 0) return { config: null, errors };
  return {
    config: {
      nodeEnv,
      isProduction,
      port,
      databaseUrl,
      redisUrl,
      supabaseUrl,
      supabaseAnonKey,
      jwtSecret,
      healthToken,
      allowedOrigins,
      logLevel,
      rateLimitMax,
    },
    errors,
  };
}

module.exports = { loadConfig, LOG_LEVELS };
