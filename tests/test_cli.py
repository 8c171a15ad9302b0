"""The command line as a user runs it, and how a server starts and stops.

Most tests run ``jupyter server-lite ...`` in a subprocess with its own
JUPYTER_CONFIG_DIR / JUPYTER_RUNTIME_DIR / JUPYTER_DATA_DIR, read the runtime
file the server writes, talk to it over HTTP and stop it.  Every wait is
bounded; every server started here is killed at teardown if still running.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from jupyter_server_lite.auth import passwd_check
from jupyter_server_lite.listen import StartupError
from jupyter_server_lite.serverapp import ServerApp

DOCS = Path(__file__).resolve().parents[1] / "docs"
JUPYTER = os.path.join(sysconfig.get_path("scripts"), "jupyter")
WAIT = 60.0  # seconds: an upper bound for a start or a stop on a slow machine


@dataclass
class CLI:
    """Isolated jupyter folders for subprocesses, and the processes started."""

    env: dict[str, str]
    config_dir: Path
    runtime_dir: Path
    tmp: Path
    procs: list[subprocess.Popen]

    def run(self, *args: str, stdin: str | None = None, timeout: float = WAIT) -> subprocess.CompletedProcess:
        """Run ``jupyter <args>`` to completion."""
        return subprocess.run(
            [JUPYTER, *args],
            env=self.env,
            cwd=self.tmp,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,  # no controlling terminal: getpass cannot reach one
        )

    def start(self, *args: str) -> Server:
        """Start ``jupyter server-lite --port=0 --no-browser <args>`` and wait for its runtime file."""
        log = self.tmp / f"server-{len(self.procs)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [JUPYTER, "server-lite", "--port=0", "--no-browser", *args],
                env=self.env,
                cwd=self.tmp,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        path = self.runtime_dir / f"jsl-server-{proc.pid}.json"
        deadline = time.monotonic() + WAIT
        while not path.exists():
            assert proc.poll() is None, f"the server exited with {proc.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no runtime file after {WAIT}s:\n{log.read_text()}"
            time.sleep(0.05)
        info = json.loads(path.read_text())
        return Server(proc, path, info, log)


@dataclass
class Server:
    proc: subprocess.Popen
    runtime_file: Path
    info: dict[str, Any]
    log: Path

    def get(self, path: str, token: bool = True) -> tuple[int, Any]:
        headers = {"Authorization": f"token {self.info['token']}"} if token else {}
        request = urllib.request.Request(self.info["url"] + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def wait(self) -> int:
        return self.proc.wait(timeout=WAIT)


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[CLI]:
    assert os.path.exists(JUPYTER), f"jupyter-core's `jupyter` command is not installed next to {sys.executable}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    dirs = {name: tmp_path / name for name in ("config", "runtime", "data", "work")}
    for d in dirs.values():
        d.mkdir()
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
    )
    session = CLI(env, dirs["config"], dirs["runtime"], dirs["work"], [])
    yield session
    for proc in session.procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT)


# -- the whole life of a server, as a user sees it ---------------------------------------


def test_start_status_list_stop(cli):
    server = cli.start("--debug")
    info = server.info
    assert {"url", "port", "pid", "token", "base_url", "root_dir"} <= set(info)
    assert info["pid"] == server.proc.pid and info["url"] == f"http://localhost:{info['port']}/"
    assert info["base_url"] == "/" and info["root_dir"] == str(cli.tmp) and len(info["token"]) >= 32
    assert stat.S_IMODE(server.runtime_file.stat().st_mode) == 0o600  # it holds the token

    code, status = server.get("api/status")
    assert code == 200 and status["kernels"] == 0 and "started" in status
    code, refused = server.get("api/status", token=False)
    assert code == 403 and refused["reason"] == "Forbidden"
    request = urllib.request.Request(f"{info['url']}api/status?token={info['token']}")
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        assert response.status == 200

    listed = cli.run("server-lite", "list")
    assert listed.returncode == 0
    assert f"{info['url']}?token={info['token']} :: {info['root_dir']}" in listed.stdout
    as_json = cli.run("server-lite", "list", "--json")
    assert [json.loads(line) for line in as_json.stdout.splitlines()] == [info]

    stopper = subprocess.Popen(
        [JUPYTER, "server-lite", "stop", str(info["port"])],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.wait() == 0  # reaping the server here lets `stop` see it gone
    out, err = stopper.communicate(timeout=WAIT)
    assert stopper.returncode == 0, err
    assert f"Stopping the server on port {info['port']}" in out
    assert not server.runtime_file.exists()
    assert cli.run("server-lite", "list").stdout.strip() == "No running servers."

    log = server.log.read_text()
    # the test extra installs the frontends ([lab]): the start-up URL is JupyterLab's, with the token
    assert f"is running at:\n    {info['url']}lab?token={info['token']}" in log
    assert "Received SIGTERM, shutting down" in log
    assert re.search(r"\[D [\d:.]+ jupyter_server_lite\.access\] 200 GET /api/status\?token=\[secret\] ", log), log
    token_lines = [line for line in log.splitlines() if info["token"] in line]
    assert len(token_lines) == 1 and token_lines[0].startswith("    http://localhost:"), token_lines


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_shut_down_cleanly(cli, sig):
    server = cli.start()
    server.proc.send_signal(sig)
    assert server.wait() == 0
    assert not server.runtime_file.exists()
    log = server.log.read_text()
    assert f"Received {sig.name}, shutting down" in log
    assert "Traceback" not in log


def test_idle_server_stops_itself(cli):
    server = cli.start("--ServerApp.shutdown_no_activity_timeout=1")
    assert server.wait() == 0
    assert not server.runtime_file.exists()
    assert "No activity for 1 seconds" in server.log.read_text()


def test_stop_without_a_port_stops_the_only_server(cli):
    server = cli.start()
    stopper = subprocess.Popen(
        [JUPYTER, "server-lite", "stop"], env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert server.wait() == 0
    stopper.communicate(timeout=WAIT)
    assert stopper.returncode == 0


def test_stop_errors_are_one_clear_line(cli):
    none = cli.run("server-lite", "stop")
    assert none.returncode == 1 and none.stderr.strip() == "There is no running server."
    server = cli.start()
    wrong = cli.run("server-lite", "stop", "1")
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == f"There is no running server on port 1 (running: {server.info['port']})."
    bad = cli.run("server-lite", "stop", "eighty")
    assert bad.returncode == 1 and "PORT must be a number" in bad.stderr
    assert server.proc.poll() is None  # untouched


def test_stale_runtime_file_is_dropped_by_list(cli):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    pid = int(dead.stdout)
    stale = cli.runtime_dir / f"jsl-server-{pid}.json"
    stale.write_text(json.dumps({"pid": pid, "port": 1, "url": "http://localhost:1/", "token": "t", "root_dir": "/"}))
    assert cli.run("server-lite", "list", "--json").stdout == ""
    assert not stale.exists()


# -- start-up errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "text", "problem"),
    [
        ("jupyter_server_lite_config.json", '{"ServerApp": {"port": 0,,}}', "invalid JSON"),
        ("jupyter_server_lite_config.py", "c.ServerApp.port = = 1\n", "SyntaxError"),
    ],
)
def test_broken_config_file_fails_the_start_naming_it(cli, filename, text, problem):
    path = cli.config_dir / filename
    path.write_text(text)
    result = cli.run("server-lite", "--no-browser", timeout=WAIT)
    assert result.returncode == 1
    assert f"jupyter-server-lite: error: Cannot load config file {path}: {problem}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("arg", ["--port=70000", "--port=-1", "--port-retries=-2"])
def test_out_of_range_ports_are_refused(jsl_server_factory, jsl_expect_log, arg):
    with jsl_expect_log(r"Bad config encountered", logging.CRITICAL), pytest.raises(SystemExit):
        jsl_server_factory(argv=[arg], start=False)


def test_taken_port_without_retries_fails_clearly(cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli.run("server-lite", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0", "--no-browser")
    assert result.returncode == 1
    assert (
        f"error: Cannot listen on 127.0.0.1: port {port} already in use (see ServerApp.port_retries)" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_missing_tls_file_fails_clearly(cli, tmp_path):
    missing = tmp_path / "nope.pem"
    result = cli.run("server-lite", f"--certfile={missing}", "--no-browser")
    assert result.returncode == 1
    assert f"Cannot load the TLS certificate/key {missing}" in result.stderr


# -- other commands ------------------------------------------------------------------------


def test_python_m_help(cli):
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_server_lite", "--help"],
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert result.returncode == 0
    assert "--port=<Int>" in result.stdout and "--no-browser" in result.stdout
    assert "jupyter server-lite list" in result.stdout  # the examples


def test_help_all_lists_gateway_mode_settings(cli):
    """GatewayClient is not imported at start-up, yet --help-all shows its traits (--gateway-url's class)."""
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_server_lite", "--help-all"],
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert result.returncode == 0
    assert "--GatewayClient.url=<Unicode>" in result.stdout and "--GatewayClient.request_timeout" in result.stdout


def test_generate_config_writes_a_loadable_file(cli):
    result = cli.run("server-lite", "--generate-config")
    assert result.returncode == 0
    path = cli.config_dir / "jupyter_server_lite_config.py"
    text = path.read_text()
    assert "# c.ServerApp.port = 8888" in text and "# c.IdentityProvider.token" in text
    assert "# c.GatewayClient.url = None" in text, "gateway mode's settings are in it, though it is off"
    server = cli.start()  # the generated (all commented) file loads
    server.proc.send_signal(signal.SIGTERM)
    assert server.wait() == 0


def test_password_from_stdin(cli):
    result = cli.run("server-lite", "password", stdin="s3cret pass\n")
    assert result.returncode == 0, result.stderr
    path = cli.config_dir / "jupyter_server_lite_config.json"
    assert f"Wrote the hashed password to {path}" in result.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    hashed = json.loads(path.read_text())["IdentityProvider"]["hashed_password"]
    assert passwd_check(hashed, "s3cret pass") and "s3cret" not in hashed
    # The server now asks for the password (and makes no token).
    server = cli.start()
    assert server.info["token"] == "" and server.info["password"] is True
    code, _ = server.get("api/status", token=False)
    assert code == 403


@pytest.mark.parametrize("planted", ["a 0644 file", "a symlink"])
def test_password_writes_a_private_file_and_follows_no_link(cli, tmp_path, planted):
    """The config file ends up 0600 whatever was there; a link there is replaced, not written through."""
    path = cli.config_dir / "jupyter_server_lite_config.json"
    target = tmp_path / "elsewhere.json"
    before = '{"ServerApp": {"port_retries": 3}}'
    if planted == "a symlink":
        target.write_text(before)
        path.symlink_to(target)
    else:
        path.write_text(before)
        path.chmod(0o644)
    result = cli.run("server-lite", "password", stdin="pw\n")
    assert result.returncode == 0, result.stderr
    assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600
    config = json.loads(path.read_text())
    assert config["ServerApp"] == {"port_retries": 3} and "hashed_password" in config["IdentityProvider"]
    if planted == "a symlink":
        assert target.read_text() == before
    assert not [p for p in cli.config_dir.iterdir() if p.name.endswith(".tmp")]  # no temporary file left


def test_token_from_the_environment_stays_off_the_command_line_and_out_of_the_log(cli):
    cli.env["JUPYTER_TOKEN"] = "env-token-4f1d2c9b"
    server = cli.start()
    assert server.info["token"] == "env-token-4f1d2c9b"
    assert "env-token" not in Path(f"/proc/{server.proc.pid}/cmdline").read_text()
    assert server.get("api/status")[0] == 200
    server.proc.send_signal(signal.SIGTERM)
    assert server.wait() == 0
    log = server.log.read_text()
    assert f"{server.info['url']}lab?token=...\n" in log and "env-token" not in log


def test_unreadable_token_file_fails_the_start_naming_it(cli, tmp_path):
    missing = tmp_path / "no-such-token-file"
    cli.env["JUPYTER_TOKEN_FILE"] = str(missing)
    result = cli.run("server-lite", "--no-browser")
    assert result.returncode == 1
    expected = f"jupyter-server-lite: error: Cannot read the token file {missing} (JUPYTER_TOKEN_FILE): No such file or directory"
    assert result.stderr.strip() == expected


def test_password_keeps_other_settings_and_refuses_empty(cli):
    path = cli.config_dir / "jupyter_server_lite_config.json"
    path.write_text('{"ServerApp": {"port_retries": 3}}')
    assert cli.run("server-lite", "password", stdin="pw\n").returncode == 0
    assert json.loads(path.read_text())["ServerApp"] == {"port_retries": 3}
    empty = cli.run("server-lite", "password", stdin="\n")
    assert empty.returncode == 1 and "empty password" in empty.stderr


def test_every_option_and_command_is_documented():
    """docs/running.md names every option (`--port`, `-y`) and subcommand (`list`)."""
    text = (DOCS / "running.md").read_text(encoding="utf-8")
    options = [name for name in [*ServerApp.aliases, *ServerApp.flags] if isinstance(name, str)]
    spelled = [("-" if len(name) == 1 else "--") + name for name in options] + list(ServerApp.subcommands)
    missing = [word for word in spelled if f"`{word}" not in text]
    assert not missing, f"docs/running.md does not mention: {missing}"


# -- serving (in process): ports, addresses, TLS -----------------------------------------------


def test_port_retries_moves_to_the_next_free_port(jsl_server_factory, io_loop, jsl_expect_log):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = jsl_server_factory(config={"ServerApp": {"port": port, "port_retries": 20}}, start=False)
        io_loop.run_sync(app.start_server)
    assert port < app.actual_port <= port + 20
    assert app.server_info()["port"] == app.actual_port


def test_taken_port_with_no_retries_raises(jsl_server_factory, io_loop):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = jsl_server_factory(config={"ServerApp": {"port": port, "port_retries": 0}}, start=False)
        with pytest.raises(StartupError, match=f"port {port} already in use"):
            io_loop.run_sync(app.start_server)


def test_unknown_address_is_a_clear_error(jsl_server_factory, io_loop):
    app = jsl_server_factory(config={"ServerApp": {"ip": "no-such-host.invalid"}}, start=False)
    with pytest.raises(StartupError, match=r"no-such-host\.invalid"):
        io_loop.run_sync(app.start_server)


def test_all_interfaces_print_a_loopback_url_too(jsl_server_factory, io_loop):
    app = jsl_server_factory(config={"ServerApp": {"ip": "*"}}, start=False)
    io_loop.run_sync(app.start_server)
    urls = app.display_urls
    assert urls[0].startswith(f"http://{socket.gethostname()}:{app.actual_port}/a%40b/?token=")
    assert urls[1] == f"http://127.0.0.1:{app.actual_port}/a%40b/?token={app.identity_provider.token}"


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made with the openssl command."""
    openssl = shutil.which("openssl")
    assert openssl, "the TLS tests need the openssl command"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=WAIT,
    )
    return cert, key


async def test_tls_serves_https(jsl_server_factory, self_signed):
    cert, key = self_signed
    app = jsl_server_factory(config={"ServerApp": {"certfile": str(cert), "keyfile": str(key)}}, start=False)
    await app.start_server()
    assert app.url.startswith("https://") and app.server_info()["secure"] is True
    url = f"https://127.0.0.1:{app.actual_port}{app.base_url}api/status"
    headers = {"Authorization": f"token {app.identity_provider.token}"}
    r = await AsyncHTTPClient().fetch(url, headers=headers, ca_certs=str(cert))
    assert json.loads(r.body)["kernels"] == 0
    # The login cookie set over https is Secure.
    r = await AsyncHTTPClient().fetch(f"{url}?token={app.identity_provider.token}", ca_certs=str(cert))
    assert "Secure" in r.headers["Set-Cookie"]
    form = await AsyncHTTPClient().fetch(f"https://127.0.0.1:{app.actual_port}{app.base_url}login", ca_certs=str(cert))
    xsrf = next(c for c in form.headers.get_list("Set-Cookie") if c.startswith("_xsrf="))
    assert "Secure" in xsrf and "SameSite=Lax" in xsrf


async def test_client_ca_asks_every_client_for_a_certificate_it_signed(jsl_server_factory, self_signed, jsl_expect_log):
    """Mutual TLS (JupyterHub's internal_ssl): the self-signed certificate is the client's and the CA."""
    cert, key = self_signed
    config = {"ServerApp": {"certfile": str(cert), "keyfile": str(key), "client_ca": str(cert)}}
    app = jsl_server_factory(config=config, start=False)
    await app.start_server()
    url = f"https://127.0.0.1:{app.actual_port}{app.base_url}api/status"
    headers = {"Authorization": f"token {app.identity_provider.token}"}
    r = await AsyncHTTPClient().fetch(
        url, headers=headers, ca_certs=str(cert), client_cert=str(cert), client_key=str(key)
    )
    assert json.loads(r.body)["kernels"] == 0
    with pytest.raises(Exception) as refused, jsl_expect_log("PEER_DID_NOT_RETURN_A_CERTIFICATE"):
        await AsyncHTTPClient().fetch(url, headers=headers, ca_certs=str(cert))
    assert not hasattr(refused.value, "code") or refused.value.code == 599  # no answer at all, not an HTTP status


def test_client_ca_without_certificate_is_refused(jsl_server_factory, io_loop, self_signed):
    cert, _key = self_signed
    app = jsl_server_factory(config={"ServerApp": {"client_ca": str(cert)}}, start=False)
    with pytest.raises(StartupError, match=r"client_ca is set but ServerApp\.certfile is not"):
        io_loop.run_sync(app.start_server)


def test_tls_key_without_certificate_is_refused(jsl_server_factory, io_loop, self_signed):
    _cert, key = self_signed
    app = jsl_server_factory(config={"ServerApp": {"keyfile": str(key)}}, start=False)
    with pytest.raises(StartupError, match=r"keyfile is set but ServerApp\.certfile is not"):
        io_loop.run_sync(app.start_server)


def test_tls_wrong_key_names_the_files(jsl_server_factory, io_loop, self_signed, tmp_path):
    cert, _key = self_signed
    bogus = tmp_path / "bogus.key"
    bogus.write_text("not a key")
    app = jsl_server_factory(config={"ServerApp": {"certfile": str(cert), "keyfile": str(bogus)}}, start=False)
    with pytest.raises(StartupError, match=re.escape(f"{cert} and {bogus}")):
        io_loop.run_sync(app.start_server)


def test_runtime_files_of_two_servers_in_one_process(jsl_server_factory, jsl_dirs, io_loop):
    first = jsl_server_factory()
    second = jsl_server_factory()
    files = sorted(p.name for p in jsl_dirs.runtime.glob("jsl-server-*.json"))
    assert files == sorted([f"jsl-server-{os.getpid()}.json", f"jsl-server-{os.getpid()}-{second.actual_port}.json"])
    io_loop.run_sync(second.stop_server)
    assert [p.name for p in jsl_dirs.runtime.glob("jsl-server-*.json")] == [f"jsl-server-{os.getpid()}.json"]
    assert json.loads((jsl_dirs.runtime / f"jsl-server-{os.getpid()}.json").read_text())["port"] == first.actual_port


@pytest.mark.parametrize("planted", ["symlink", "0644 file"])
def test_runtime_file_is_private_and_follows_no_planted_link(jsl_server_factory, jsl_dirs, tmp_path, planted):
    """The old writer opened <name>.tmp with O_TRUNC: a symlink there got the token,
    a 0644 file there kept its mode. The new one writes a fresh, exclusive name."""
    name = f"jsl-server-{os.getpid()}.json"
    trap = jsl_dirs.runtime / f"{name}.tmp"
    target = tmp_path / "stolen.json"
    target.write_text("untouched")
    if planted == "symlink":
        trap.symlink_to(target)
    else:
        trap.write_text("planted")
        trap.chmod(0o644)
    app = jsl_server_factory()
    path = jsl_dirs.runtime / name
    assert target.read_text() == "untouched" and app.identity_provider.token not in trap.read_text()
    assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["token"] == app.identity_provider.token
    assert sorted(p.name for p in jsl_dirs.runtime.iterdir()) == [name, trap.name]  # no temporary file left


def test_runtime_file_replaces_a_link_at_its_own_name(jsl_server_factory, jsl_dirs, tmp_path):
    target = tmp_path / "stolen.json"
    target.write_text("untouched")
    path = jsl_dirs.runtime / f"jsl-server-{os.getpid()}.json"
    path.symlink_to(target)
    jsl_server_factory()
    assert target.read_text() == "untouched"
    assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600


# -- idle, half-sent and slow requests ----------------------------------------------------------


async def closed_within(port: int, data: bytes, seconds: float) -> bool:
    """Whether the server closes a connection that sent ``data`` (and nothing more) within ``seconds``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), seconds) == b""
    except asyncio.TimeoutError:
        return False
    finally:
        writer.close()


async def test_half_sent_request_is_closed_after_header_timeout(jsl_server_factory, jsl_fetch):
    app = jsl_server_factory(config={"ServerApp": {"header_timeout": 0.5}}, start=False)
    await app.start_server()
    assert await closed_within(app.actual_port, b"GET /a%40b/api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n", 10)
    assert await closed_within(app.actual_port, b"", 10)  # an idle connection too
    assert (await jsl_fetch("api", "status", app=app)).code == 200


async def test_slow_body_is_closed_after_body_timeout(jsl_server_factory):
    """With credentials, body_timeout; without (a public form), header_timeout: a small form need not wait."""
    app = jsl_server_factory(config={"ServerApp": {"body_timeout": 0.5, "header_timeout": 30}}, start=False)
    await app.start_server()
    token = app.identity_provider.token
    authenticated = f"POST /a%40b/api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token {token}\r\n"
    assert await closed_within(app.actual_port, f"{authenticated}Content-Length: 100\r\n\r\n{{".encode(), 10)
    slow_form = jsl_server_factory(config={"ServerApp": {"body_timeout": 60, "header_timeout": 0.5}}, start=False)
    await slow_form.start_server()
    anonymous = "POST /a%40b/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    assert await closed_within(slow_form.actual_port, f"{anonymous}Content-Length: 100\r\n\r\npass".encode(), 10)


@pytest.mark.slow
def test_running_out_of_file_descriptors_pauses_accepting_without_a_traceback_flood(cli):
    """Idle half-sent requests take every descriptor the server may open: it logs one
    warning (not a traceback per turn of its loop), closes them after header_timeout,
    and serves again."""
    server = cli.start("--ServerApp.header_timeout=2", "--ip=127.0.0.1")
    pid = server.proc.pid
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)[1]
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 8, hard))
    half = f"GET {server.info['base_url']}api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
    attackers = []
    for _ in range(40):
        sock = socket.create_connection(("127.0.0.1", server.info["port"]), timeout=WAIT)
        sock.sendall(half)
        attackers.append(sock)
    time.sleep(4)  # past header_timeout: the server has been out of descriptors, and freed some
    for sock in attackers:
        sock.close()
    deadline = time.monotonic() + WAIT
    while True:  # the connections still in the backlog are accepted and time out in turn
        try:
            if server.get("api/status")[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.5)
    server.proc.send_signal(signal.SIGTERM)
    assert server.wait() == 0
    log = server.log.read_text()
    assert "Traceback" not in log, log[:3000]
    assert len(re.findall(r"Cannot accept connections on port \d+: Too many open files", log)) == 1, log


def test_stop_server_is_idempotent(jsl_server_factory, io_loop, jsl_dirs):
    app = jsl_server_factory()
    io_loop.run_sync(app.stop_server)
    io_loop.run_sync(app.stop_server)
    assert not app.started and not list(jsl_dirs.runtime.glob("jsl-server-*.json"))


def test_request_stop_sets_the_event(jsl_server_factory):
    app = jsl_server_factory(start=False)
    assert not app.stop_requested.is_set()
    app.request_stop()
    assert app.stop_requested.is_set()


def test_log_format_has_level_time_and_logger(jsl_server_factory):
    app = jsl_server_factory(start=False)
    handler = next(h for h in app.log.handlers if isinstance(h, logging.StreamHandler) and h.formatter is not None)
    record = logging.LogRecord("jupyter_server_lite.access", logging.WARNING, __file__, 1, "404 GET /x", None, None)
    line = handler.formatter.format(record)
    assert re.fullmatch(r"\[W \d\d:\d\d:\d\d\.\d{3} jupyter_server_lite\.access\] 404 GET /x", line), line


def test_readme_quick_start_is_two_commands_and_ci_runs_the_second():
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [block.strip() for block in re.findall(r"```bash\n(.*?)```", quick_start, flags=re.DOTALL)]
    assert len(commands) == 2 and "\n" not in "".join(commands)
    assert commands[0] == "pip install . && jupyter server-lite"
    assert commands[1].startswith('pip install -e ".[test]"') and commands[1].endswith("&& python -m pytest")
    ci = (root / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == commands[1]


# -- mistakes a user makes in the first hour ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["server-lite", "lsit"], "Unknown command 'lsit'. Did you mean 'list'? (jupyter server-lite commands: "),
        (["server-lite", "bogus", "--port=0"], "Unknown command 'bogus' (jupyter server-lite commands: list, stop"),
        (
            ["server-lite", "extension", "lsit"],
            "Unknown command 'lsit'. Did you mean 'list'? (jupyter server-lite extension",
        ),
    ],
)
def test_unknown_words_are_refused_naming_them(cli, args, message):
    result = cli.run(*args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(cli.runtime_dir.glob("jsl-server-*.json"))  # no server was started


def test_authentication_off_is_a_loud_warning(jsl_server_factory, io_loop, jsl_expect_log):
    app = jsl_server_factory(config={"IdentityProvider": {"token": ""}}, start=False)
    with jsl_expect_log(r"AUTHENTICATION IS OFF: no token and no password", logging.WARNING) as hits:
        io_loop.run_sync(app.start_server)
    assert app.url in hits[0].getMessage()


def test_help_shows_the_defaults_a_server_uses(cli):
    help_text = cli.run("server-lite", "--help").stdout
    token = help_text.split("--token=<Unicode>", 1)[1].split("Equivalent to", 1)[0]
    assert "Default: <a random token per start (none if a password is set)>" in token
    assert "Default: ''" not in token
    log_level = help_text.split("--log-level=<Enum>", 1)[1].split("Equivalent to", 1)[0]
    assert "Default: 20" in log_level and "INFO (20, the default)" in log_level
    help_all = cli.run("server-lite", "--help-all").stdout
    fmt = help_all.split("--ServerApp.log_format=<Unicode>", 1)[1].split("--ServerApp.", 1)[0]
    assert "Default: '%(color)s[%(levelname)1.1s %(asctime)s.%(msecs).03d %(name)s..." in fmt  # traitlets cuts at 64
    assert "highlevel" not in fmt  # traitlets' own default, which the server does not use


def test_generated_config_shows_real_defaults_and_its_token_line_is_no_trap(cli):
    assert cli.run("server-lite", "--generate-config").returncode == 0
    path = cli.config_dir / "jupyter_server_lite_config.py"
    text = path.read_text()
    assert "# c.ServerApp.log_level = 20\n" in text
    assert "# c.ServerApp.log_datefmt = '%H:%M:%S'\n" in text
    assert f"# c.ServerApp.log_format = {ServerApp.class_traits()['log_format'].default_value!r}\n" in text
    line = next(x for x in text.splitlines() if x.startswith("# c.IdentityProvider.token ="))
    assert line == "# c.IdentityProvider.token = <a random token per start (none if a password is set)>"
    # Uncommenting the "default" must not silently turn authentication off: the start stops, naming the file.
    path.write_text(text.replace(line, line[2:]))
    result = cli.run("server-lite", "--no-browser")
    assert result.returncode == 1
    assert f"Cannot load config file {path}: SyntaxError" in result.stderr


def test_json_logs_are_one_object_per_line_with_request_fields(cli):
    server = cli.start("--log-json", "--debug")
    info = server.info
    with urllib.request.urlopen(f"{info['url']}api/status?token={info['token']}", timeout=WAIT) as response:
        assert response.status == 200
    assert server.get("api/status", token=False)[0] == 403
    server.proc.send_signal(signal.SIGTERM)
    assert server.wait() == 0
    lines = server.log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) for r in records)
    access = [r for r in records if r["logger"] == "jupyter_server_lite.access"]
    ok = next(r for r in access if r["status"] == 200)
    assert ok["level"] == "DEBUG" and ok["method"] == "GET" and ok["path"] == "/api/status?token=[secret]"
    assert ok["remote_ip"] == "127.0.0.1" and isinstance(ok["duration_ms"], float)
    refused = next(r for r in access if r["status"] == 403)
    assert refused["level"] == "WARNING" and refused["path"] == "/api/status"
    with_token = [r for r in records if info["token"] in json.dumps(r)]
    assert len(with_token) == 1 and with_token[0]["message"].startswith("Jupyter Server Lite ")  # the start-up URL only
    assert any(r["message"].startswith("Received SIGTERM") for r in records)


def test_an_extension_command_lists_its_own_options():
    from traitlets import Unicode

    from jupyter_server_lite.extension.application import ExtensionApp

    class ShoutApp(ExtensionApp):
        name = "shout"
        volume = Unicode("loud", help="How loud every word is.").tag(config=True)
        aliases = {"volume": "ShoutApp.volume"}
        flags = {"whisper": ({"ShoutApp": {"volume": "quiet"}}, "Say it quietly.")}

    app = ShoutApp.make_serverapp()
    try:
        short = "\n".join(app.emit_help())
        assert "--volume=<Unicode>\n    How loud every word is.\n    Default: 'loud'" in short
        assert "--whisper\n    Say it quietly." in short and "--port=<Int>" in short
        full = "\n".join(app.emit_help(classes=True))
        assert "ShoutApp(ExtensionApp) options" in full and "--ShoutApp.volume=<Unicode>" in full
    finally:
        ServerApp.clear_instance()


def test_jupyter_ext_help_all_lists_the_extension_traits(cli):
    result = cli.run("hello", "--help-all")
    assert result.returncode == 0, result.stderr
    assert "HelloApp(ExtensionApp) options" in result.stdout
    assert "--HelloApp.greeting=<Unicode>\n    The word every greeting starts with." in result.stdout
