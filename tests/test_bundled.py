"""bundled/__init__.py: the bundled extensions are on in every install mode, and off by an enabler ``false``."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClient

from jupyter_server_lite import bundled, configfiles

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = "jupyter_server_lite.bundled.dashboard"
ENABLER = f"jupyter_server_lite_config.d/{DASHBOARD}.json"


def off(module: str) -> dict:
    return {"ServerApp": {"jpserver_extensions": {module: False}}}


def test_every_bundled_module_is_a_valid_extension_and_advertised():
    from importlib.metadata import entry_points

    from jupyter_server_lite.extension.discovery import ENTRY_POINT_GROUP
    from jupyter_server_lite.extension.record import check_extension

    advertised = {ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    for module in bundled.BUNDLED_EXTENSIONS:
        record = check_extension(module)
        assert record.ok and record.bundled, (module, record.error)
        assert module.startswith("jupyter_server_lite.bundled.") and module in advertised


def test_the_shipped_conf_d_names_exactly_the_bundled_extensions():
    """setupbase.py ships etc/ as data files: one true enabler per bundled extension, no stale one."""
    conf_d = ROOT / "etc" / "jupyter" / "jupyter_server_lite_config.d"
    shipped = {}
    for path in sorted(conf_d.glob("*.json")):
        shipped[path.stem] = json.loads(path.read_text())
    assert set(shipped) == set(bundled.BUNDLED_EXTENSIONS)
    for module, data in shipped.items():
        assert data == {"ServerApp": {"jpserver_extensions": {module: True}}}, module


def test_the_bundled_level_is_below_every_config_folder(jsl_dirs):
    view = configfiles.enabler_view()
    setting = view[DASHBOARD]
    assert setting.enabled and [(s.level, s.path, s.directory) for s in setting.enablers] == [
        ("bundled", bundled.__file__, None)
    ]
    # the lowest config folder still beats it
    jsl_dirs.write_config("system", ENABLER, off(DASHBOARD))
    setting = configfiles.enabler_view()[DASHBOARD]
    assert not setting.enabled
    assert [s.level for s in setting.enablers] == ["system", "bundled"]


def test_only_the_servers_own_config_has_the_bundled_level(jsl_dirs):
    own = configfiles.load_config_files([str(jsl_dirs.user)], base_name="jupyter_hello_config", conf_d=False)
    assert own.extensions == {} and own.provenance == {}


def test_a_program_changing_the_list_is_obeyed(jsl_server_factory, monkeypatch):
    monkeypatch.setattr(bundled, "BUNDLED_EXTENSIONS", ())
    app = jsl_server_factory(start=False)
    assert app.extension_manager.records == [] and app.jpserver_extensions == {}


async def test_safe_mode_loads_no_bundled_extension_either(jsl_server_factory, jsl_fetch, jsl_expect_log):
    app = jsl_server_factory(argv=["--safe-mode"], start=False)
    await app.start_server()
    assert DASHBOARD in app.jpserver_extensions and app.extension_manager.records == []
    with jsl_expect_log("404 GET"):
        r = await jsl_fetch("dashboard", "", app=app, raise_error=False)
    assert r.code == 404


# -- for real: an editable install, the README's own command ------------------------------------


class Server:
    """``jupyter server-lite`` run by ``python`` (a venv's), until stopped."""

    def __init__(self, python: Path, env: dict[str, str], runtime: Path, cwd: Path) -> None:
        self.log = cwd / f"server-{time.monotonic_ns()}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(python), "-m", "jupyter", "server-lite", "--port=0", "--ip=127.0.0.1", "--no-browser"],
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            files = glob.glob(str(runtime / f"jsl-server-{self.proc.pid}.json"))
            if files:
                try:
                    self.info = json.loads(Path(files[0]).read_text())
                    return
                except ValueError:
                    pass  # being written
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"the server did not start:\n{self.log.read_text()}")

    def get(self, path: str):
        headers = {"Authorization": f"token {self.info['token']}"}
        client = HTTPClient()
        try:
            return client.fetch(self.info["url"] + path, headers=headers, raise_error=False)
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def editable_venv(tmp_path):
    """A fresh venv (seeing this environment's packages) with this checkout installed editable, no deps."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the install alone must find the code
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--quiet", "-e", str(ROOT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


@pytest.mark.slow
def test_an_editable_install_serves_the_dashboard_until_an_enabler_says_false(editable_venv, jsl_dirs):
    python = editable_venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = os.pathsep.join([str(editable_venv / "bin"), env.get("PATH", "")])  # its jupyter-server-lite
    found = subprocess.run(
        [str(python), "-c", "import jupyter_server_lite, sys; print(jupyter_server_lite.__file__, sys.prefix)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.stdout.split() == [str(ROOT / "jupyter_server_lite" / "__init__.py"), str(editable_venv)]
    sys_prefix_conf = editable_venv / "etc" / "jupyter" / "jupyter_server_lite_config.d"
    assert not sys_prefix_conf.exists()  # no data files in an editable install: nothing enables it but the code

    server = Server(python, env, jsl_dirs.runtime, jsl_dirs.root)
    try:
        page = server.get("dashboard/")
        assert page.code == 200 and b"<h1>Dashboard</h1>" in page.body
        records = {r["name"]: r for r in json.loads(server.get("api/extensions").body)["extensions"]}
        assert records["dashboard"]["enabled_by"] == {
            "path": str(ROOT / "jupyter_server_lite" / "bundled" / "__init__.py"),
            "level": "bundled",
            "directory": None,
        }
    finally:
        server.stop()

    disable = subprocess.run(
        [str(python), "-m", "jupyter", "server-lite", "extension", "disable", DASHBOARD],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert disable.returncode == 0, disable.stderr
    assert json.loads((sys_prefix_conf / f"{DASHBOARD}.json").read_text()) == off(DASHBOARD)

    server = Server(python, env, jsl_dirs.runtime, jsl_dirs.root)
    try:
        assert server.get("dashboard/").code == 404
        names = [r["name"] for r in json.loads(server.get("api/extensions").body)["extensions"]]
        assert "dashboard" not in names
    finally:
        server.stop()
    assert glob.glob(str(jsl_dirs.runtime / "jsl-server-*.json")) == []
