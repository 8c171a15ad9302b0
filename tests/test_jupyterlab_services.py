"""JupyterLab's own client library (@jupyterlab/services, from npm, unchanged) drives the server.

tests/js/package.json pins the library and ``ws``; ``npm install`` runs
only when node_modules is missing or package.json / package-lock.json
changed (a stamp file remembers their hash).  Node and npm are required:
without them the test fails and says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).parent / "js"
STAMP = JS_DIR / "node_modules" / ".jsl-install-stamp"
NPM_INSTALL_TIMEOUT = 300
CLIENT_TIMEOUT = 120


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not on PATH: this test needs Node.js (20 or later) and npm to run @jupyterlab/services")
    return path


def _manifest_hash() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        path = JS_DIR / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


@pytest.fixture(scope="module")
def node_client() -> list[str]:
    """The command that runs the client, after installing its packages if needed."""
    node, npm = _tool("node"), _tool("npm")
    wanted = _manifest_hash()
    if not (STAMP.exists() and STAMP.read_text() == wanted):
        try:
            proc = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--no-progress"],
                cwd=JS_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_INSTALL_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"npm install in {JS_DIR} did not finish in {NPM_INSTALL_TIMEOUT}s")
        if proc.returncode != 0:
            pytest.fail(f"npm install in {JS_DIR} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        STAMP.write_text(wanted)
    return [node, str(JS_DIR / "client.mjs")]


async def run_client(command: list[str], app) -> dict:
    http_url = f"http://127.0.0.1:{app.actual_port}{app.base_url}"
    env = {
        **os.environ,
        "JSL_BASE_URL": http_url,
        "JSL_WS_URL": "ws" + http_url[len("http") :],
        "JSL_TOKEN": app.identity_provider.token,
        "JSL_CLIENT_TIMEOUT_MS": str(1000 * (CLIENT_TIMEOUT - 10)),
    }
    proc = await asyncio.create_subprocess_exec(
        *command, cwd=JS_DIR, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=CLIENT_TIMEOUT)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"the Node client did not finish in {CLIENT_TIMEOUT}s")
    lines = stdout.decode().strip().splitlines()
    assert lines, f"the Node client printed nothing (exit {proc.returncode}):\n{stderr.decode()}"
    result = json.loads(lines[-1])
    assert proc.returncode == 0 and "error" not in result, f"{result.get('error')}\n{stderr.decode()}"
    return result


def check_client_run(out: dict) -> None:
    """What client.mjs saw, checked the same way whoever runs the kernels (here, or on a gateway)."""
    assert out["default_kernel"] in out["kernelspecs"]
    assert out["kernel_info"] == {"status": "ok", "implementation": "ipython"}
    assert out["execute"] == {"result": "2", "status": "ok"}

    started = out["session_started"]
    assert (started["path"], started["name"], started["type"]) == ("work/first.ipynb", "first.ipynb", "notebook")
    assert out["session_execute"] == {"result": "42", "status": "ok"}
    assert [s["id"] for s in out["sessions_listed"]] == [started["id"]]

    patched = out["session_patched"]
    assert patched == {**started, "path": "work/renamed.ipynb", "name": "renamed.ipynb", "type": "console"}
    changed = out["session_kernel_changed"]
    assert changed["id"] == started["id"] and changed["kernel"] not in (started["kernel"], None)
    assert out["new_kernel_execute"] == {"result": "1024", "status": "ok"}
    assert out["found_by_path"] == started["id"]

    assert out["sessions_after_shutdown"] == [] and out["kernels_after_shutdown"] == []


@pytest.mark.timeout(CLIENT_TIMEOUT + NPM_INSTALL_TIMEOUT)
async def test_jupyterlab_services_client(node_client, jsl_serverapp):
    assert "%40" in jsl_serverapp.base_url, "runs under an awkward base_url, to prove URL joining"
    out = await run_client(node_client, jsl_serverapp)
    assert out["default_kernel"] == jsl_serverapp.kernel_manager.default_kernel_name
    assert out["default_display_name"]
    check_client_run(out)
    assert jsl_serverapp.kernel_manager.list_kernels() == [], "every kernel the client started is gone"
    assert jsl_serverapp.session_manager.list_sessions() == []


@pytest.mark.timeout(CLIENT_TIMEOUT + NPM_INSTALL_TIMEOUT)
async def test_jupyterlab_contents_manager(node_client, jsl_serverapp, jsl_expect_log):
    """JupyterLab's ContentsManager against the bundled contents and files services (tests/js/contents.mjs)."""
    (Path(jsl_serverapp.root_dir) / "work").mkdir()
    with jsl_expect_log(r"404 GET .*/api/contents/work/no-such-file.txt"):
        out = await run_client([node_client[0], str(JS_DIR / "contents.mjs")], jsl_serverapp)

    assert out["listing_before"] == ["directory:work"]
    assert out["untitled"] == ["work/Untitled.ipynb", "work/untitled.txt", "work/Untitled Folder"]
    assert out["saved"] == {"path": "work/Untitled.ipynb", "type": "notebook", "content": None, "writable": True}
    assert out["notebook_source"] == 'print("v1")'
    assert out["notebook_hash"] == {"algorithm": "sha256", "length": 64}
    assert out["text"] == {"content": "hello from lab\n", "format": "text", "mimetype": "text/plain"}
    assert (out["renamed"], out["copied"]) == ("work/renamed.ipynb", "work/renamed-Copy1.ipynb")
    assert out["checkpoint_id"] == "checkpoint" and out["checkpoints_listed"] == ["checkpoint"]
    assert (out["source_before_restore"], out["source_after_restore"]) == ('print("v2")', 'print("v1")')
    assert out["checkpoints_after_delete"] == 0
    assert out["download"] == {"status": 200, "type": "text/plain; charset=UTF-8", "body": "hello from lab\n"}
    assert out["listing_work"] == [
        "directory:Untitled Folder",
        "file:untitled.txt",
        "notebook:renamed-Copy1.ipynb",
        "notebook:renamed.ipynb",
    ]
    assert out["listing_after_delete"] == ["file:untitled.txt", "notebook:renamed.ipynb"]
    assert out["missing"] == 404
    assert out["changes"] == ["new", "new", "new", "save", "save", "rename", "new", "save", "delete", "delete"]
    root = Path(jsl_serverapp.root_dir) / "work"
    assert json.loads((root / "renamed.ipynb").read_text())["cells"][0]["source"] == ['print("v1")']


@pytest.mark.timeout(CLIENT_TIMEOUT + NPM_INSTALL_TIMEOUT)
async def test_jupyterlab_terminal_manager(node_client, jsl_server_factory):
    """TerminalManager: start a terminal, echo $((6*7)) over its websocket, list it, shut it down."""
    # bash without the machine's profile: a login shell here runs pyenv's rehash, which may wait on a lock.
    app = jsl_server_factory(
        config={"TerminalManager": {"shell_command": ["/bin/bash", "--noprofile", "--norc"]}}, start=False
    )
    await app.start_server()
    assert "%40" in app.base_url
    terminals = app.extension_manager.get("terminado").apps[0].terminal_manager
    out = await run_client([node_client[0], str(JS_DIR / "terminals.mjs")], app)
    assert out["available"] is True
    assert out["name"] == "1" and out["output_has_42"] is True and out["connection_status"] == "connected"
    assert out["running"] == ["1"]
    assert out["running_after_shutdown"] == [] and len(terminals) == 0, "the shell the client started is gone"


@pytest.mark.timeout(CLIENT_TIMEOUT + NPM_INSTALL_TIMEOUT)
async def test_jupyterlab_config_section(node_client, jsl_server_factory, jsl_dirs):
    """ConfigSection and ConfigWithDefaults: create, update, read through defaults, reload."""
    jsl_dirs.write_config("sys_prefix", "serverconfig/notebook.json", {"Lower": {"kept": True}})
    app = jsl_server_factory(start=False)
    await app.start_server()
    out = await run_client([node_client[0], str(JS_DIR / "config.mjs")], app)
    assert out["initial"] == {"Lower": {"kept": True}}
    assert out["updated"] == {"Lower": {"kept": True}, "Notebook": {"theme": "dark", "fontSize": 12}, "toolbar": True}
    assert (out["theme"], out["line_numbers"]) == ("dark", True), "a stored value, then a default"
    kept = {"Lower": {"kept": True}, "Notebook": {"theme": "dark"}, "toolbar": True}
    assert out["reloaded"] == kept and out["reloaded_again"] == kept, "null deleted fontSize on the server"
    stored = json.loads((jsl_dirs.user / "serverconfig" / "notebook.json").read_text())
    assert stored == {"Notebook": {"theme": "dark"}, "toolbar": True}, "only the change is in the user's file"
