'use strict';
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, it } = require('node:test');
const { APP_DIR, eventually, freePort, request, services, validEnv } = require('./helpers');

// Replaces the file the way editors, `sed -i` and Ansible do: write a new file, rename it over the old.
function replaceFile(file, content) {
  fs.writeFileSync(`${file}.tmp`, content);
  fs.renameSync(`${file}.tmp`, file);
}

describe('npm run dev (src/dev.js)', () => {
  let dir;
  let dev;
  let url;
  before(async () => {
    // A copy of the app, so the test can edit its source files.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sample-backend-dev-'));
    fs.cpSync(path.join(APP_DIR, 'src'), path.join(dir, 'src'), { recursive: true });
    fs.copyFileSync(path.join(APP_DIR, 'package.json'), path.join(dir, 'package.json'));
    fs.symlinkSync(path.join(APP_DIR, 'node_modules'), path.join(dir, 'node_modules'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}/api/version`;
    dev = spawn(process.execPath, ['src/dev.js'], {
      cwd: dir,
      env: validEnv({ ...services(), NODE_ENV: 'development', PORT: String(port) }),
      stdio: 'ignore',
    });
  });
  after(() => {
    if (dev.exitCode === null) dev.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const greeting = async () => {
    try {
      return (await request(url)).body.greeting;
    } catch {
      return undefined; // restarting
    }
  };

  it('serves the new greeting after each replacement of src/greeting.js', async () => {
    assert.ok(await eventually(greeting, { timeoutMs: 20_000 }), 'the dev server did not start');
    for (const text of ['first edit', 'second edit', 'third edit']) {
      replaceFile(path.join(dir, 'src', 'greeting.js'), `module.exports = { GREETING: '${text}' };\n`);
      const served = await eventually(async () => (await greeting()) === text, { timeoutMs: 20_000 });
      assert.ok(served, `"${text}" was not served after the file changed`);
    }
  });

  it('stops the server and exits 0 on SIGTERM', async () => {
    dev.kill('SIGTERM');
    const [code] = await once(dev, 'exit');
    assert.equal(code, 0);
    assert.equal(await greeting(), undefined);
  });
});
