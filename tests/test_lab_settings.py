"""bundled/lab/settings.py (and jsontext.py): JupyterLab's settings API on real schemas and files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from frontends import DATA_DIR, use_installed_frontends

THEMES = "@jupyterlab/apputils-extension:themes"
SETTINGS = "lab/api/settings"


@pytest.fixture
def jsl_server_config(monkeypatch, jsl_dirs):
    use_installed_frontends(monkeypatch)
    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(jsl_dirs.user / "lab" / "user-settings"))
    return {}


def user_file(jsl_dirs, plugin_id=THEMES):
    package, plugin = plugin_id.split(":")
    return jsl_dirs.user / "lab" / "user-settings" / package / f"{plugin}.jupyterlab-settings"


async def test_list_has_every_core_plugin_with_its_schema(jsl_fetch):
    listed = json.loads((await jsl_fetch(SETTINGS)).body)["settings"]
    ids = [item["id"] for item in listed]
    assert THEMES in ids and "@jupyter-notebook/application-extension:shell" in ids
    assert ids == sorted(ids, reverse=True), "ordered as jupyterlab_server orders them"
    themes = next(item for item in listed if item["id"] == THEMES)
    assert themes["schema"]["properties"]["theme"]["default"] == "JupyterLab Light"
    assert themes["raw"] == "{}" and themes["settings"] == {} and themes["last_modified"] is None
    assert themes["version"][0].isdigit()


async def test_ids_only_lists_ids_alone(jsl_fetch):
    listed = json.loads((await jsl_fetch(SETTINGS, params={"ids_only": "true"})).body)["settings"]
    assert {"id": THEMES} in listed and all(set(item) == {"id"} for item in listed)


async def test_a_prebuilt_extensions_schemas_are_listed(jsl_fetch):
    # @jupyter-notebook/lab-extension ships its schemas in its labextension folder, not in lab/schemas
    one = json.loads((await jsl_fetch(SETTINGS, "@jupyter-notebook/lab-extension:interface-switcher")).body)
    assert one["id"] == "@jupyter-notebook/lab-extension:interface-switcher" and "schema" in one


async def test_put_keeps_the_json5_text_as_written_and_get_parses_it(jsl_fetch, jsl_dirs):
    raw = '// my theme\n{\n  "theme": "JupyterLab Dark", // darker\n}\n'
    r = await jsl_fetch(SETTINGS, THEMES, method="PUT", body={"raw": raw})
    assert r.code == 204
    assert user_file(jsl_dirs).read_text(encoding="utf-8") == raw
    one = json.loads((await jsl_fetch(SETTINGS, THEMES)).body)
    assert one["raw"] == raw and one["settings"] == {"theme": "JupyterLab Dark"}
    assert one["last_modified"] and one["created"]


async def test_put_violating_the_schema_is_a_400_and_writes_nothing(jsl_fetch, jsl_dirs, jsl_expect_log):
    with jsl_expect_log(r"400 PUT .*apputils-extension:themes"):
        r = await jsl_fetch(
            SETTINGS, THEMES, method="PUT", body={"raw": '{"theme-scrollbars": "yes"}'}, raise_error=False
        )
    assert r.code == 400
    body = json.loads(r.body)
    assert "do not match its schema" in body["message"] and "theme-scrollbars" in body["message"]
    assert not user_file(jsl_dirs).exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"raw": "{not json5"}, "not valid JSON5"),
        ({"raw": "[1, 2]"}, "must be a JSON object"),
        ({"raw": 3}, '{"raw"'),
        ({}, '{"raw"'),
    ],
)
async def test_put_malformed_bodies_are_400s(jsl_fetch, jsl_expect_log, body, message):
    with jsl_expect_log(r"400 PUT"):
        r = await jsl_fetch(SETTINGS, THEMES, method="PUT", body=body, raise_error=False)
    assert r.code == 400 and message in json.loads(r.body)["message"]


@pytest.mark.parametrize("plugin_id", ["@jupyterlab/nothing-extension:plugin", "no-colon", "@x/..%2F..%2Fetc:passwd"])
async def test_unknown_or_malformed_plugin_ids_are_json_404s(jsl_fetch, jsl_expect_log, plugin_id):
    with jsl_expect_log(r"404 GET"):
        r = await jsl_fetch(SETTINGS, plugin_id, raise_error=False)
    assert r.code == 404 and "Schema not found" in json.loads(r.body)["message"]


async def test_overrides_json_changes_the_defaults(jsl_server_factory, jsl_fetch, tmp_path, monkeypatch):
    settings = tmp_path / "extra" / "lab" / "settings"
    settings.mkdir(parents=True)
    (settings / "overrides.json").write_text(json.dumps({THEMES: {"theme": "JupyterLab Dark"}}), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", f"{DATA_DIR}:{tmp_path / 'extra'}")
    app = jsl_server_factory(start=False)
    await app.start_server()
    one = json.loads((await jsl_fetch(SETTINGS, THEMES, app=app)).body)
    assert one["schema"]["properties"]["theme"]["default"] == "JupyterLab Dark"


async def test_a_broken_overrides_file_is_named_in_a_warning(
    jsl_server_factory, jsl_fetch, tmp_path, monkeypatch, jsl_expect_log
):
    settings = tmp_path / "extra" / "lab" / "settings"
    settings.mkdir(parents=True)
    (settings / "overrides.json").write_text("{oops", encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", f"{DATA_DIR}:{tmp_path / 'extra'}")
    app = jsl_server_factory(start=False)
    await app.start_server()
    with jsl_expect_log(r"Ignoring the JupyterLab settings overrides in .*overrides\.json"):
        r = await jsl_fetch(SETTINGS, THEMES, app=app)
    assert r.code == 200


async def test_an_unparsable_user_file_reads_as_empty_with_a_warning(jsl_fetch, jsl_dirs, jsl_expect_log):
    path = user_file(jsl_dirs)
    path.parent.mkdir(parents=True)
    path.write_text("{broken", encoding="utf-8")
    with jsl_expect_log(r"Failed loading the settings of @jupyterlab/apputils-extension:themes"):
        one = json.loads((await jsl_fetch(SETTINGS, THEMES)).body)
    assert one["settings"] == {} and one["raw"] == "{}"
    assert path.read_text(encoding="utf-8") == "{broken", "the user's file is left as it is"


def test_a_server_start_imports_neither_jsonschema_nor_json5(jsl_dirs):
    """A started server (lab and notebook loaded, their pages routed, start-up hooks run) has imported neither."""
    code = (
        "import asyncio, sys\n"
        "from jupyter_server_lite.serverapp import ServerApp\n"
        "app = ServerApp()\n"
        f"app.initialize(['--ServerApp.root_dir={jsl_dirs.root}', '--ServerApp.port=0', '--ServerApp.ip=127.0.0.1'])\n"
        "names = {r.name: r.state for r in app.extension_manager.records}\n"
        "assert names.get('lab') == 'loaded' and names.get('notebook') == 'loaded', names\n"
        "async def main():\n"
        "    await app.start_server()\n"
        "    print(sorted(m for m in ('jsonschema', 'json5') if m in sys.modules))\n"
        "    await app.stop_server()\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "JUPYTER_PATH": DATA_DIR},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
