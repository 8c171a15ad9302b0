// Drive the terminals service of a running jupyter_server_lite with JupyterLab's
// own TerminalManager, unchanged: start a terminal, run `echo $((6*7))` over its
// websocket and read 42, list the running terminals, shut it down.
//
// Input (environment): JSL_BASE_URL, JSL_WS_URL, JSL_TOKEN (see client.mjs).
// Output: one JSON object on stdout, which tests/test_jupyterlab_services.py
// asserts; on failure {"error": ...} and exit status 1.
import coreutils from '@jupyterlab/coreutils';
import services from '@jupyterlab/services';
import WebSocket from 'ws';

const { PageConfig } = coreutils;
const { ServerConnection, TerminalManager } = services;
const TIMEOUT_MS = Number(process.env.JSL_CLIENT_TIMEOUT_MS || 90000);

function withTimeout(promise, what, ms = 30000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Resolves with the terminal's output once `pattern` matches it.
function outputMatching(terminal, pattern) {
  let text = '';
  return new Promise(resolve => {
    const onMessage = (_sender, msg) => {
      if (msg.type === 'stdout') {
        text += msg.content[0];
        if (pattern.test(text)) {
          terminal.messageReceived.disconnect(onMessage);
          resolve(text);
        }
      }
    };
    terminal.messageReceived.connect(onMessage);
  });
}

async function main() {
  // A page served by the server says whether terminals exist; here the client says it.
  PageConfig.setOption('terminalsAvailable', 'true');
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: process.env.JSL_BASE_URL,
    wsUrl: process.env.JSL_WS_URL,
    token: process.env.JSL_TOKEN,
    WebSocket
  });
  const out = {};
  const manager = new TerminalManager({ serverSettings });
  out.available = manager.isAvailable();
  await withTimeout(manager.ready, 'terminal manager ready');

  const terminal = await withTimeout(manager.startNew(), 'start a terminal');
  out.name = terminal.name;
  const answer = outputMatching(terminal, /[\r\n]42\r?\n/);
  terminal.send({ type: 'stdin', content: ['echo $((6*7))\r'] });
  out.output_has_42 = /[\r\n]42\r?\n/.test(await withTimeout(answer, 'the answer 42 over the websocket'));
  out.connection_status = terminal.connectionStatus;

  await manager.refreshRunning();
  out.running = Array.from(manager.running(), model => model.name);

  await withTimeout(terminal.shutdown(), 'terminal shutdown');
  await manager.refreshRunning();
  out.running_after_shutdown = Array.from(manager.running(), model => model.name);
  manager.dispose();
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
