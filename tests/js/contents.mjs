// Drive the contents service of a running jupyter_server_lite with JupyterLab's
// own ContentsManager (@jupyterlab/services, unchanged): a directory listing,
// new untitled notebook and file, saves, reads with content, rename, copy,
// checkpoints (create, list, restore, delete), a /files/ download, delete.
//
// Input (environment): JSL_BASE_URL, JSL_WS_URL, JSL_TOKEN (as client.mjs).
// Output: one JSON object on stdout, which tests/test_jupyterlab_services.py
// asserts; on failure {"error": ...} and exit status 1.
import services from '@jupyterlab/services';

import { run, settingsFromEnv } from './harness.mjs';

const { ContentsManager, ServerConnection } = services;

function names(model) {
  return model.content.map(child => `${child.type}:${child.name}`).sort();
}

function notebook(source) {
  return {
    cells: [{ cell_type: 'code', execution_count: null, id: 'c1', metadata: {}, outputs: [], source }],
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5
  };
}

async function main() {
  const serverSettings = settingsFromEnv();
  const contents = new ContentsManager({ serverSettings });
  const changes = [];
  contents.fileChanged.connect((_sender, change) => changes.push(change.type));
  const out = {};

  out.listing_before = names(await contents.get('', { content: true }));

  const nb = await contents.newUntitled({ path: 'work', type: 'notebook' });
  const txt = await contents.newUntitled({ path: 'work', type: 'file', ext: 'txt' });
  const folder = await contents.newUntitled({ path: 'work', type: 'directory' });
  out.untitled = [nb.path, txt.path, folder.path];

  const saved = await contents.save(nb.path, { type: 'notebook', format: 'json', content: notebook('print("v1")') });
  out.saved = { path: saved.path, type: saved.type, content: saved.content, writable: saved.writable };
  await contents.save(txt.path, { type: 'file', format: 'text', content: 'hello from lab\n' });
  const nbModel = await contents.get(nb.path, { content: true, hash: true });
  out.notebook_source = nbModel.content.cells[0].source;
  out.notebook_hash = { algorithm: nbModel.hash_algorithm, length: (nbModel.hash || '').length };
  const txtModel = await contents.get(txt.path, { content: true, type: 'file', format: 'text' });
  out.text = { content: txtModel.content, format: txtModel.format, mimetype: txtModel.mimetype };

  const renamed = await contents.rename(nb.path, 'work/renamed.ipynb');
  out.renamed = renamed.path;
  const copied = await contents.copy('work/renamed.ipynb', 'work');
  out.copied = copied.path;

  const checkpoint = await contents.createCheckpoint('work/renamed.ipynb');
  out.checkpoint_id = checkpoint.id;
  out.checkpoints_listed = (await contents.listCheckpoints('work/renamed.ipynb')).map(c => c.id);
  await contents.save('work/renamed.ipynb', { type: 'notebook', format: 'json', content: notebook('print("v2")') });
  out.source_before_restore = (await contents.get('work/renamed.ipynb')).content.cells[0].source;
  await contents.restoreCheckpoint('work/renamed.ipynb', checkpoint.id);
  out.source_after_restore = (await contents.get('work/renamed.ipynb')).content.cells[0].source;
  await contents.deleteCheckpoint('work/renamed.ipynb', checkpoint.id);
  out.checkpoints_after_delete = (await contents.listCheckpoints('work/renamed.ipynb')).length;

  const url = await contents.getDownloadUrl(txt.path);
  const response = await ServerConnection.makeRequest(url, {}, serverSettings);
  out.download = { status: response.status, type: response.headers.get('content-type'), body: await response.text() };

  out.listing_work = names(await contents.get('work', { content: true }));
  await contents.delete(copied.path);
  await contents.delete(folder.path);
  out.listing_after_delete = names(await contents.get('work', { content: true }));
  try {
    await contents.get('work/no-such-file.txt');
    out.missing = 'found';
  } catch (err) {
    out.missing = err.response ? err.response.status : String(err);
  }
  out.changes = changes;
  contents.dispose();
  return out;
}

run(main);
