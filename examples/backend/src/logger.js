'use strict';
// One JSON object per line on stdout (stderr for warn and error), so container log drivers keep
// the fields. Callers pass messages and fields only, never secret values.
const { LOG_LEVELS } = require('./config');

function createLogger(level = 'info') {
  const threshold = LOG_LEVELS.indexOf(level);
  const logger = {};
  for (const [rank, name] of LOG_LEVELS.entries()) {
    const stream = rank <= LOG_LEVELS.indexOf('warn') ? process.stderr : process.stdout;
    logger[name] = rank > threshold
      ? () => {}
      : (msg, fields = {}) => stream.write(`${JSON.stringify({ time: new Date().toISOString(), level: name, msg, ...fields })}\n`);
  }
  return logger;
}

module.exports = { createLogger };
