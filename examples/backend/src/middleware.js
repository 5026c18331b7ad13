'use strict';
// Small HTTP middleware: CORS for the configured origins and a per-client rate limit.

const RATE_LIMIT_WINDOW_MS = 60_000;

/** Answers CORS for ALLOWED_ORIGINS ("*" allows every origin); no list means same-origin only. */
function cors(allowedOrigins) {
  const anyOrigin = allowedOrigins.includes('*');
  return (req, res, next) => {
    if (allowedOrigins.length === 0) return next();
    res.vary('Origin');
    const origin = req.get('origin');
    if (!origin || !(anyOrigin || allowedOrigins.includes(origin))) return next();
    res.set('Access-Control-Allow-Origin', anyOrigin ? '*' : origin);
    if (req.method === 'OPTIONS' && req.get('access-control-request-method')) {
      res.set({
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type',
        'Access-Control-Max-Age': '600',
      });
      return res.sendStatus(204);
    }
    return next();
  };
}

/**
 * At most `max` requests per client IP per minute (fixed window, in memory, so per process).
 * `exempt(req)` requests are never counted.
 */
function rateLimit({ max, exempt = () => false }) {
  const windows = new Map();
  let nextSweep = 0;
  return (req, res, next) => {
    if (exempt(req)) return next();
    const time = Date.now();
    if (time >= nextSweep) {
      // Forget clients whose window is over: the map holds at most the last minute's clients.
      for (const [ip, window] of windows) if (window.resetAt <= time) windows.delete(ip);
      nextSweep = time + RATE_LIMIT_WINDOW_MS;
    }
    let window = windows.get(req.ip);
    if (!window || window.resetAt <= time) {
      window = { count: 0, resetAt: time + RATE_LIMIT_WINDOW_MS };
      windows.set(req.ip, window);
    }
    window.count += 1;
    if (window.count <= max) return next();
    const retryAfter = Math.ceil((window.resetAt - time) / 1000);
    res.set('Retry-After', String(retryAfter));
    return res.status(429).json({ error: `too many requests (limit ${max} per minute), retry in ${retryAfter} s` });
  };
}

module.exports = { cors, rateLimit };
