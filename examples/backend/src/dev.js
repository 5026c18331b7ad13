'use strict';
// `npm run dev`: runs src/server.js and restarts it when a .js/.json file under src/ changes.
// Not `node --watch`: on Linux, Node 20 watches each loaded file's inode, so once an editor, `sed -i`
// or Ansible replaces a file by renaming a new one over it, later changes to it go unnoticed.
// Watching the directories sees every replacement, also through a bind mount.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const SRC_DIR = __dirname;
const SERVER = path.join(SRC_DIR, 'server.js');
const DEBOUNCE_MS = 200; // one restart for the burst of events a single save produces

const log = (message) => process.stderr.write(`dev: ${message}\n`);

let server = null;
let restarting = false;
let stopping = false;

function start() {
  restarting = false;
  server = spawn(process.execPath, [SERVER], { stdio: 'inherit' });
  server.on('exit', (code, signal) => {
    server = null;
    if (stopping) process.exit(code ?? 0);
    if (restarting) return start();
    return log(`server exited (${signal ?? `code ${code}`}); it restarts on the next change under src/`);
  });
}

function restart(file) {
  log(`${file} changed, restarting the server`);
  if (!server) return start();
  restarting = true;
  return server.kill('SIGTERM');
}

let timer;
function watchTree(dir) {
  fs.watch(dir, (event, name) => {
    if (!name || !/\.(c?js|json)$/.test(name)) return; // editors' and sed's temporary files
    clearTimeout(timer);
    timer = setTimeout(restart, DEBOUNCE_MS, path.relative(path.dirname(SRC_DIR), path.join(dir, name)));
  });
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) watchTree(path.join(dir, entry.name));
  }
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    stopping = true;
    clearTimeout(timer);
    if (server) server.kill(signal);
    else process.exit(0);
  });
}

watchTree(SRC_DIR);
start();
