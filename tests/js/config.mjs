// Drive the config-sections service of a running jupyter_server_lite with
// JupyterLab's own ConfigSection and ConfigWithDefaults, unchanged: create a
// section (GET), update it (PATCH), read a value through defaults, reload it.
//
// Input (environment): JSL_BASE_URL, JSL_WS_URL, JSL_TOKEN (see client.mjs).
// Output: one JSON object on stdout, which tests/test_jupyterlab_services.py
// asserts; on failure {"error": ...} and exit status 1.
import services from '@jupyterlab/services';

import { run, settingsFromEnv, withTimeout } from './harness.mjs';

const { ConfigSection, ConfigSectionManager, ConfigWithDefaults } = services;

async function main() {
  const serverSettings = settingsFromEnv();
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

run(main);
