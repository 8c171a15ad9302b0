// What every client script here shares: the server's settings from the
// environment, a bounded wait, and the one-JSON-object-on-stdout contract
// that tests/test_jupyterlab_services.py reads.
//
// Input (environment): JSL_BASE_URL, JSL_WS_URL, JSL_TOKEN; JSL_CLIENT_TIMEOUT_MS
// bounds the whole script (default 90 s).
import services from '@jupyterlab/services';
import WebSocket from 'ws';

const { ServerConnection } = services;
const TIMEOUT_MS = Number(process.env.JSL_CLIENT_TIMEOUT_MS || 90000);

// JupyterLab's ServerConnection settings for the server under test, its websockets made by `SocketClass`.
export function settingsFromEnv(SocketClass = WebSocket) {
  return ServerConnection.makeSettings({
    baseUrl: process.env.JSL_BASE_URL,
    wsUrl: process.env.JSL_WS_URL,
    token: process.env.JSL_TOKEN,
    WebSocket: SocketClass
  });
}

// `promise`, or a rejection naming `what` after `ms`.
export function withTimeout(promise, what, ms = 30000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Run `main`; print what it returns as one JSON line (exit 0), or {"error": ...} (exit 1).
export function run(main) {
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
}
