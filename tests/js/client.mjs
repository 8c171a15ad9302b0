// Drive a running jupyter_server_lite with JupyterLab's own client library,
// unchanged: kernelspecs, a kernel that computes 1+1, and a session that is
// started, listed, patched (path, name, type, kernel) and shut down.
//
// Input (environment): JSL_BASE_URL (http://host:port/<base_url>/),
// JSL_WS_URL (ws://host:port/<base_url>/), JSL_TOKEN; JSL_WS_PROTOCOL=json
// makes the kernel websockets offer no subprotocol (the default JSON protocol)
// instead of the library's v1.kernel.websocket.jupyter.org.
// Output: one JSON object on stdout, which tests/test_jupyterlab_services.py
// asserts; on failure {"error": ...} and exit status 1.
import services from '@jupyterlab/services';
import WebSocket from 'ws';

import { run, settingsFromEnv, withTimeout } from './harness.mjs';

const { KernelManager, KernelSpecManager, SessionManager } = services;

// The library offers its subprotocols to the server; this socket offers none.
class JsonProtocolWebSocket extends WebSocket {
  constructor(url, _protocols, ...rest) {
    super(url, [], ...rest);
  }
}
const ClientWebSocket = process.env.JSL_WS_PROTOCOL === 'json' ? JsonProtocolWebSocket : WebSocket;

// The text/plain of the execute_result of `code`, and the reply's status.
async function execute(kernel, code) {
  const future = kernel.requestExecute({ code });
  let result = null;
  future.onIOPub = msg => {
    if (msg.header.msg_type === 'execute_result') {
      result = msg.content.data['text/plain'];
    }
  };
  const reply = await withTimeout(future.done, `execute ${code}`);
  return { result, status: reply.content.status };
}

function sessionSummary(model) {
  return { id: model.id, path: model.path, name: model.name, type: model.type, kernel: model.kernel?.id ?? null };
}

async function main() {
  const serverSettings = settingsFromEnv(ClientWebSocket);
  const out = {};

  const specManager = new KernelSpecManager({ serverSettings });
  await withTimeout(specManager.ready, 'kernelspec manager ready');
  await specManager.refreshSpecs();
  out.default_kernel = specManager.specs.default;
  out.kernelspecs = Object.keys(specManager.specs.kernelspecs).sort();
  out.default_display_name = specManager.specs.kernelspecs[out.default_kernel].display_name;

  const kernelManager = new KernelManager({ serverSettings });
  await withTimeout(kernelManager.ready, 'kernel manager ready');
  const kernel = await withTimeout(kernelManager.startNew({ name: out.default_kernel }), 'start kernel');
  out.kernel_id = kernel.id;
  // Resolves once the websocket is connected and the kernel answered kernel_info.
  const info = await withTimeout(kernel.info, 'kernel_info over the websocket');
  out.kernel_info = { status: info.status, implementation: info.implementation };
  out.ws_protocol = kernel._selectedProtocol; // the subprotocol the server chose ('' for the JSON one)
  out.execute = await execute(kernel, '1+1');

  const sessionManager = new SessionManager({ kernelManager, serverSettings });
  await withTimeout(sessionManager.ready, 'session manager ready');
  const session = await withTimeout(
    sessionManager.startNew({ path: 'work/first.ipynb', name: 'first.ipynb', type: 'notebook', kernel: { name: out.default_kernel } }),
    'start session'
  );
  out.session_started = sessionSummary(session.model);
  out.session_execute = await execute(session.kernel, '6*7');

  await sessionManager.refreshRunning();
  out.sessions_listed = Array.from(sessionManager.running(), sessionSummary);

  await withTimeout(session.setPath('work/renamed.ipynb'), 'PATCH path');
  await withTimeout(session.setName('renamed.ipynb'), 'PATCH name');
  await withTimeout(session.setType('console'), 'PATCH type');
  out.session_patched = sessionSummary(session.model);

  const newKernel = await withTimeout(session.changeKernel({ name: out.default_kernel }), 'PATCH kernel');
  out.session_kernel_changed = sessionSummary(session.model);
  out.new_kernel_execute = await execute(newKernel, '2**10');

  const found = await sessionManager.findByPath('work/renamed.ipynb');
  out.found_by_path = found ? found.id : null;

  await withTimeout(session.shutdown(), 'session shutdown');
  await sessionManager.refreshRunning();
  out.sessions_after_shutdown = Array.from(sessionManager.running(), sessionSummary);

  await withTimeout(kernel.shutdown(), 'kernel shutdown');
  await kernelManager.refreshRunning();
  out.kernels_after_shutdown = Array.from(kernelManager.running(), m => m.id);

  sessionManager.dispose();
  kernelManager.dispose();
  specManager.dispose();
  return out;
}

run(main);
