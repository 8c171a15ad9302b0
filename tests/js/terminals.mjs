// Drive the terminals service of a running jupyter_server_lite with JupyterLab's
// own TerminalManager, unchanged: start a terminal, run `echo $((6*7))` over its
// websocket and read 42, list the running terminals, shut it down.
//
// Input (environment): JSL_BASE_URL, JSL_WS_URL, JSL_TOKEN (see client.mjs).
// Output: one JSON object on stdout, which tests/test_jupyterlab_services.py
// asserts; on failure {"error": ...} and exit status 1.
import coreutils from '@jupyterlab/coreutils';
import services from '@jupyterlab/services';

import { run, settingsFromEnv, withTimeout } from './harness.mjs';

const { PageConfig } = coreutils;
const { TerminalManager } = services;

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
  const serverSettings = settingsFromEnv();
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

run(main);
