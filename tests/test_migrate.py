"""``jupyter server-lite migrate`` (cli/migrate.py) on a sample Jupyter Server setup.

The setup, in the isolated config levels of ``jsl_dirs``:

* user: ``jupyter_server_config.py`` with plain settings, the old name
  ``ServerApp.token``, a jupyter_server password hash, a trait that does not
  exist here, an unknown class and a line computed by code; and a
  ``jupyter_server_config.d`` with a known extension (``jsl_hello``), an
  unknown one and JupyterLab's enabler;
* sys-prefix: ``jupyter_server_config.json`` with network settings and a
  jupyter_client trait.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from jupyter_server_lite.bundled import BUNDLED_EXTENSIONS
from jupyter_server_lite.cli.migrate import main

PY_CONFIG = """\
c = get_config()  # noqa
import os
c.ServerApp.port = 9100
c.ServerApp.token = "s3cret-token"
c.ServerApp.password = "argon2:$argon2id$v=19$m=10240,t=10,p=8$abc"
c.ServerApp.allow_root = True
c.ContentsManager.allow_hidden = True
c.MappingKernelManager.cull_idle_timeout = 3600
c.ServerApp.root_dir = os.path.expanduser("~")
open(os.environ["JSL_MIGRATE_PROBE"], "w").close()  # proves whether the file was run
"""


@pytest.fixture
def setup(jsl_dirs, tmp_path, monkeypatch):
    probe = tmp_path / "the-py-file-ran"
    monkeypatch.setenv("JSL_MIGRATE_PROBE", str(probe))
    py = jsl_dirs.write_config("user", "jupyter_server_config.py", PY_CONFIG)
    os.chmod(py, 0o600)
    conf_d = "jupyter_server_config.d"
    for name in ("jsl_hello", "no_such_extension", "jupyterlab"):
        jsl_dirs.write_config("user", f"{conf_d}/{name}.json", {"ServerApp": {"jpserver_extensions": {name: True}}})
    jsl_dirs.write_config(
        "sys_prefix",
        "jupyter_server_config.json",
        {"ServerApp": {"ip": "127.0.0.1", "base_url": "/jupyter/"}, "KernelManager": {"shutdown_wait_time": 10}},
    )
    return jsl_dirs, probe


def test_dry_run_prints_everything_and_writes_nothing(setup, capsys):
    dirs, probe = setup
    before = sorted(p for p in dirs.user.parent.rglob("*"))
    assert main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert sorted(p for p in dirs.user.parent.rglob("*")) == before
    assert not probe.exists()  # the .py file was read, not run
    assert f"Would write {dirs.user / 'jupyter_server_lite_config.py'}:" in out
    assert "  IdentityProvider.token = [secret, not shown] (from ServerApp.token, its old name)" in out
    assert "s3cret-token" not in out
    assert f"Would write {dirs.sys_prefix / 'jupyter_server_lite_config.json'}:" in out
    assert "  KernelManager.shutdown_wait_time = 10" in out
    assert "  ContentsManager.allow_hidden = True" in out, "the bundled contents service knows the trait"
    assert f"Would write {dirs.user / 'jupyter_server_lite_config.d' / 'jsl_hello.json'}:" in out
    not_carried = out.split("Not carried over:\n", 1)[1]
    for expected in [
        "jupyter_server_config.py: ServerApp.allow_root: ServerApp has no trait allow_root here",
        "jupyter_server_config.py: ServerApp.password: a Jupyter Server password hash",
        'jupyter_server_config.py: line 9: c.ServerApp.root_dir = os.path.expanduser("~"): cannot be translated statically',
        "jupyter_server_config.py: line 10: open(",
        "no_such_extension.json: extension no_such_extension: not a jupyter_server_lite extension here: ModuleNotFoundError",
        "jupyterlab.json: extension jupyterlab: nothing to do: the bundled jupyter_server_lite.bundled.lab is on by default",
    ]:
        assert expected in not_carried, expected


def test_migrated_config_is_what_a_server_starts_with(setup, capsys, jsl_server_factory):
    dirs, probe = setup
    assert main([]) == 0
    py = dirs.user / "jupyter_server_lite_config.py"
    assert stat.S_IMODE(py.stat().st_mode) == 0o600  # it holds the token, like its source
    assert json.loads((dirs.user / "jupyter_server_lite_config.d" / "jsl_hello.json").read_text()) == {
        "ServerApp": {"jpserver_extensions": {"jsl_hello": True}}
    }
    assert not (dirs.user / "jupyter_server_lite_config.d" / "no_such_extension.json").exists()
    assert not probe.exists()
    app = jsl_server_factory(start=False, argv=["--safe-mode"])
    files = app.loaded_config.config.ServerApp  # the factory itself sets port and base_url for its tests
    assert (files.port, files.base_url, app.ip) == (9100, "/jupyter/", "127.0.0.1")
    assert app.identity_provider.token == "s3cret-token"
    assert app.kernel_manager.cull_idle_timeout == 3600
    assert app.jpserver_extensions == {**dict.fromkeys(BUNDLED_EXTENSIONS, True), "jsl_hello": True}
    assert app.config.KernelManager.shutdown_wait_time == 10


def test_it_never_overwrites_without_saying_so(setup, capsys):
    dirs, _probe = setup
    target = dirs.sys_prefix / "jupyter_server_lite_config.json"
    target.write_text('{"ServerApp": {"port_retries": 3}}')
    assert main([]) == 1
    out = capsys.readouterr().out
    assert f"Not written: {target} exists (--force replaces it)" in out
    assert json.loads(target.read_text()) == {"ServerApp": {"port_retries": 3}}
    assert (dirs.user / "jupyter_server_lite_config.py").exists()  # the other files were written
    assert main(["--force"]) == 0
    assert f"Replaced {target}:" in capsys.readouterr().out
    assert json.loads(target.read_text())["ServerApp"] == {"base_url": "/jupyter/", "ip": "127.0.0.1"}


def test_run_py_uses_traitlets_loader(setup, capsys):
    _dirs, probe = setup
    assert main(["--run-py", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert probe.exists()  # asked for: the file ran
    assert f"  ServerApp.root_dir = {os.path.expanduser('~')!r}" in out
    assert "cannot be translated statically" not in out


def test_nothing_to_migrate(jsl_dirs, capsys):
    assert main([]) == 0
    assert "No Jupyter Server config file" in capsys.readouterr().out


def test_a_broken_source_file_stops_it_naming_the_file(jsl_dirs, capsys):
    path = jsl_dirs.write_config("user", "jupyter_server_config.json", "{not json")
    assert main([]) == 1
    err = capsys.readouterr().err
    assert f"Cannot load config file {path}: invalid JSON" in err and "Nothing was written." in err


def test_the_bundled_services_traits_carry_over(jsl_dirs, capsys, jsl_server_factory):
    """jupyter_server_terminals' TerminalManager traits and ServerApp.terminals_enabled are ours too."""
    jsl_dirs.write_config(
        "user",
        "jupyter_server_config.json",
        {"TerminalManager": {"cull_inactive_timeout": 600}, "ServerApp": {"terminals_enabled": False}},
    )
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "TerminalManager.cull_inactive_timeout = 600" in out and "ServerApp.terminals_enabled = False" in out
    app = jsl_server_factory(start=False)
    assert app.config.TerminalManager.cull_inactive_timeout == 600
    assert app.jpserver_extensions["jupyter_server_lite.bundled.terminals"] is False


def test_gateway_client_traits_carry_over(jsl_dirs, capsys, jsl_server_factory):
    """jupyter_server's GatewayClient settings are gateway mode's here, under the same names."""
    jsl_dirs.write_config(
        "user",
        "jupyter_server_config.json",
        {"GatewayClient": {"url": "http://127.0.0.1:9", "request_timeout": 90.0, "accept_cookies": True}},
    )
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "GatewayClient.url = 'http://127.0.0.1:9'" in out and "GatewayClient.request_timeout = 90.0" in out
    assert "GatewayClient.accept_cookies: GatewayClient has no trait accept_cookies here" in out
    app = jsl_server_factory(start=False)
    assert app.gateway_client is not None and app.gateway_client.request_timeout == 90.0
