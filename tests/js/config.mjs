// Drive the config-sections service of a running jupyter_server_lite with
// JupyterLab's own ConfigSection and ConfigWithDefaults, unchanged: create a
// section (GET), update it (PATCH), read a value through defaults, reload it.
//
// Input (environment): JSL_BASE_URL, JSL_WS_URL, JSL_TOKEN (see client.mjs).
// Output: one JSON object on stdout, which tests/test_jupyterlab_services.py
// asserts; on failure {"error": ...} and exit status 1.
import services from '@jupyterlab/services';
import WebSocket from 'ws';

const { ConfigSection, ConfigSectionManager, ConfigWithDefaults, ServerConnection } = services;
const TIMEOUT_MS = Number(process.env.JSL_CLIENT_TIMEOUT_MS || 90000);

function withTimeout(promise, what, ms = 30000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main() {
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: process.env.JSL_BASE_URL,
    wsUrl: process.env.JSL_WS_URL,
    token: process.env.JSL_TOKEN,
    WebSocket
  });
  const out = {};
  const manager = new ConfigSectionManager({ serverSettings });

  // The test server has a lower config level holding {"Lower": {"kept": true}}.
  const section = await withTimeout(manager.create({ name: 'notebook' }), 'create (GET) the section');
  out.initial = section.data;

  out.updated = await withTimeout(
    section.update({ Notebook: { theme: 'dark', fontSize: 12 }, toolbar: true }),
    'update (PATCH) the section'
  );
  const withDefaults = new ConfigWithDefaults({
    section,
    defaults: { theme: 'light', lineNumbers: true },
    className: 'Notebook'
  });
  out.theme = withDefaults.get('theme');
  out.line_numbers = withDefaults.get('lineNumbers');
  await withTimeout(withDefaults.set('fontSize', null), 'ConfigWithDefaults.set (PATCH, null deletes)');

  // A second handle on the same section, loaded afresh: what the server kept.
  const reloaded = await withTimeout(ConfigSection.create({ name: 'notebook', serverSettings }), 'reload');
  out.reloaded = reloaded.data;
  await withTimeout(reloaded.load(), 'load() again');
  out.reloaded_again = reloaded.data;
  return out;
}

const guard = setTimeout(() => {
  process.stdout.write(JSON.stringify({ error: `client gave up after ${TIMEOUT_MS} ms` }) + '\n');
  process.exit(1);
}, TIMEOUT_MS);

main().then(
  out => {
    clearTimeout(guard);
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(0);
  },
  err => {
    clearTimeout(guard);
    process.stdout.write(JSON.stringify({ error: String(err && err.stack ? err.stack : err) }) + '\n');
    process.exit(1);
  }
);
