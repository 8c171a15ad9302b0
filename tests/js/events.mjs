// Drive the events service with JupyterLab's own EventManager, unchanged: it
// subscribes to /api/events/subscribe, emits through POST /api/events, and
// receives both its own event and the contents service's (a file saved,
// renamed and deleted through JupyterLab's ContentsManager).
//
// Input (environment): JSL_BASE_URL, JSL_WS_URL, JSL_TOKEN (see client.mjs).
// Output: one JSON object on stdout, which tests/test_events.py asserts; on
// failure {"error": ...} and exit status 1.
import services from '@jupyterlab/services';
import WebSocket from 'ws';

import { run, settingsFromEnv, withTimeout } from './harness.mjs';

const { ContentsManager, EventManager } = services;
const CONTENTS_SCHEMA = 'https://events.jupyter.org/jupyter_server/contents_service/v1';

// Count the sockets the EventManager opens: one, if the server keeps it open.
let socketsOpened = 0;
class CountingWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    socketsOpened += 1;
  }
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

async function main() {
  const serverSettings = settingsFromEnv(CountingWebSocket);
  const out = {};
  const events = new EventManager({ serverSettings, standby: 'never' });
  const received = [];
  events.stream.connect((_, emission) => received.push(emission));

  // The manager says nothing when its socket opens: emit probes until one comes back.
  const probe = { schema_id: CONTENTS_SCHEMA, version: '1', data: { action: 'get', path: 'probe' } };
  await withTimeout(
    (async () => {
      while (!received.some(e => e.path === 'probe')) {
        await events.emit(probe);
        await sleep(200);
      }
    })(),
    'the first event over the subscription'
  );
  received.length = 0;

  const waitFor = (predicate, what) =>
    withTimeout(
      (async () => {
        while (!predicate()) {
          await sleep(20);
        }
      })(),
      what
    );

  await events.emit({ schema_id: CONTENTS_SCHEMA, version: '1', data: { action: 'save', path: 'from-lab.txt' } });
  await waitFor(() => received.length >= 1, 'the event emitted');
  out.emitted = received.shift();

  try {
    await events.emit({ schema_id: CONTENTS_SCHEMA, version: '1', data: { action: 'explode', path: 'x' } });
    out.refused = { status: 'accepted' };
  } catch (err) {
    // EventManager throws a bare ResponseError: the server's message is in the body.
    const body = err.response ? await err.response.json().catch(() => null) : null;
    out.refused = { status: err.response?.status ?? null, message: body?.message ?? String(err) };
  }

  const contents = new ContentsManager({ serverSettings });
  await contents.save('lab-notes.txt', { type: 'file', format: 'text', content: 'from lab\n' });
  await contents.rename('lab-notes.txt', 'lab-renamed.txt');
  await contents.delete('lab-renamed.txt');
  await waitFor(() => received.some(e => e.action === 'delete'), 'the contents events');
  out.contents_events = received.filter(e => e.path !== 'probe');

  out.sockets_opened = socketsOpened;
  events.dispose();
  contents.dispose();
  return out;
}

run(main);
