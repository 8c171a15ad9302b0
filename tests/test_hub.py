"""JupyterHub mode (``jupyter-server-lite --hub``) against a real JupyterHub.

One Hub for the module (``tests/hubrunner.py``): jupyterhub from PyPI, its
proxy (configurable-http-proxy) from npm, a dummy authenticator and
``SimpleLocalProcessSpawner`` spawning our server, everything on 127.0.0.1
in temporary folders.  Every request goes through the Hub's proxy, as a
user's would.  The users: ``alice`` (her server is the one under test),
``bob`` (another user), ``admin`` (the Hub's admin role, which holds
``access:servers``) and ``ops`` (may start and stop servers, but holds no
``access:servers``).

The tests share alice's server, in file order; the last one stops it from
the Hub.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hubrunner import Browser, Hub, start_hub
from kernel_ws_client import Client, of_type
from support import capture_logs, free_port, process_running, wait_for
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse
from tornado.httpserver import HTTPServer
from tornado.websocket import websocket_connect

from jupyter_server_lite.auth.hub import hub_environment_config
from jupyter_server_lite.auth.hub_activity import ActivityReporter
from jupyter_server_lite.listen import StartupError

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ACTIVITY_INTERVAL = 1  # seconds, so that a test sees a report soon


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("hub")
    spawned = {  # every spawned server gets isolated jupyter folders
        "JUPYTER_CONFIG_DIR": str(folder / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(folder / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(folder / "jupyter-runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTERHUB_ACTIVITY_INTERVAL": str(ACTIVITY_INTERVAL),
        "PYTHONUNBUFFERED": "1",
    }
    # These tests look for the core's landing page at /user/<name>/; with the [lab] extra installed
    # / would go on to JupyterLab (the browser tests cover that), so keep / where they expect it.
    config = folder / "jupyter-config" / "jupyter_server_lite_config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"ServerApp": {"default_url": "/"}}), encoding="utf-8")
    running = start_hub(folder, spawned)
    try:
        yield running
    finally:
        running.stop()
    log = running.log_text()
    # Our server's lines carry no date ("[E 09:20:17.283 ServerApp]"); the Hub's do.
    errors = [line for line in log.splitlines() if re.match(r"\[[EC] \d\d:\d\d:\d\d\.\d{3} ", line)]
    assert not errors, "a spawned server logged errors:\n" + "\n".join(errors)
    assert "has no version header" not in log  # our answers carry X-JupyterHub-Version


@pytest.fixture(scope="module")
def alice(hub: Hub) -> Browser:
    """Alice's browser, logged in at the Hub and in her own server."""
    browser = Browser()
    browser.log_in(hub, "alice")
    return browser


def server_url(hub: Hub, *parts: str, user: str = "alice") -> str:
    return "/".join([f"{hub.url}/user/{user}", *parts])


async def fetch(url: str, method: str = "GET", body: Any = None, **headers: str) -> HTTPResponse:
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = ""
    request = HTTPRequest(url, method=method, body=body, headers=headers, follow_redirects=False)
    return await AsyncHTTPClient().fetch(request, raise_error=False)


def token_header(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


def hub_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


# -- logging in ---------------------------------------------------------------------


def test_a_user_logs_in_at_the_hub_and_lands_in_their_server(hub, alice):
    page = alice.landing
    assert page is not None and page.status == 200 and page.url == server_url(hub, "")
    assert "<title>Jupyter Server Lite" in page.body  # our landing page, not the Hub's
    assert page.headers["X-JupyterHub-Version"]
    paths = [visited.removeprefix(hub.url).split("?")[0] for visited in alice.visited]
    # Our server sent the anonymous visitor to its /login, which started the Hub's OAuth;
    # the Hub sent the browser back to our callback, which set the cookie.
    start = paths.index("/user/alice/")
    assert paths[start:] == [
        "/user/alice/",
        "/user/alice/login",
        "/hub/api/oauth2/authorize",
        "/user/alice/oauth_callback",
        "/user/alice/",
    ], paths
    cookie = next(c for c in alice.jar if c.name == "jupyterhub-user-alice")
    assert cookie.path == "/user/alice/" and cookie.has_nonstandard_attr("HttpOnly")
    assert alice.cookie("_xsrf", "/user/alice/")  # for cookie-authenticated writes

    me = alice.open(server_url(hub, "api", "me"))
    assert me.status == 200
    assert json.loads(me.body)["identity"]["username"] == "alice"


def test_login_when_logged_in_goes_straight_to_next(hub, alice):
    page = alice.open(server_url(hub, "login?next=%2Fuser%2Falice%2Fapi%2Fstatus"))
    assert page.status == 200 and page.url == server_url(hub, "api", "status")
    # next must stay on this server
    page = alice.open(server_url(hub, "login?next=https%3A%2F%2Fevil.example%2F"))
    assert page.url == server_url(hub, "")


# -- the API and the kernel websocket through the proxy --------------------------------


async def test_the_api_answers_a_hub_token_through_the_proxy(hub, alice):
    token = hub.token_of("alice")
    r = await fetch(server_url(hub, "api", "status"), **token_header(token))
    assert r.code == 200 and "kernels" in json.loads(r.body)
    r = await fetch(server_url(hub, "api", "me"), **token_header(token))
    assert json.loads(r.body)["identity"]["username"] == "alice"
    # A token in the header is no cookie: it needs no XSRF value for a write.
    r = await fetch(server_url(hub, "api", "sessions"), "POST", {"nope": 1}, **token_header(token))
    assert r.code == 400 and json.loads(r.body)["reason"] == "Bad Request"


async def test_cookie_writes_need_the_xsrf_value_and_the_kernel_runs_through_the_proxy(hub, alice):
    kernels = server_url(hub, "api", "kernels")
    cookies = alice.cookie_header(kernels)
    r = await fetch(kernels, "POST", {}, Cookie=cookies)
    assert r.code == 403 and "XSRF" in json.loads(r.body)["message"]
    r = await fetch(kernels, "POST", {}, Cookie=cookies, **{"X-XSRFToken": alice.cookie("_xsrf", "/user/alice/")})
    assert r.code == 201, r.body
    kernel_id = json.loads(r.body)["id"]
    try:
        ws_url = server_url(hub, "api", "kernels", kernel_id, "channels").replace("http", "ws", 1)
        ws = await websocket_connect(
            HTTPRequest(
                f"{ws_url}?session_id={uuid.uuid4().hex}",
                headers={"Cookie": alice.cookie_header(kernels), "Origin": hub.url},
            )
        )
        client = Client(ws)
        try:
            reply, outputs = await client.run("1+1")
        finally:
            ws.close()
        assert reply["content"]["status"] == "ok"
        assert of_type(outputs, "execute_result")[0]["content"]["data"]["text/plain"] == "2"
    finally:
        r = await fetch(
            f"{kernels}/{kernel_id}", "DELETE", Cookie=cookies, **{"X-XSRFToken": alice.cookie("_xsrf", "/user/alice/")}
        )
        assert r.code == 204


async def test_a_websocket_may_carry_the_token_in_the_url(hub, alice):
    token = hub.token_of("alice")
    r = await fetch(server_url(hub, "api", "kernels"), "POST", {}, **token_header(token))
    kernel_id = json.loads(r.body)["id"]
    try:
        ws_url = server_url(hub, "api", "kernels", kernel_id, "channels").replace("http", "ws", 1)
        ws = await websocket_connect(HTTPRequest(f"{ws_url}?token={token}", headers={"Origin": hub.url}))
        try:
            reply, _ = await Client(ws).run("6*7")
        finally:
            ws.close()
        assert reply["content"]["status"] == "ok"
        # ...but a page does not take it there (JUPYTERHUB_ALLOW_TOKEN_IN_URL is off).
        r = await fetch(server_url(hub, "api", f"status?token={token}"))
        assert r.code == 403
    finally:
        await fetch(f"{server_url(hub, 'api', 'kernels')}/{kernel_id}", "DELETE", **token_header(token))


# -- who is refused --------------------------------------------------------------------


async def test_an_anonymous_caller_is_refused(hub, alice):
    r = await fetch(server_url(hub, "api", "status"))
    assert r.code == 403 and set(json.loads(r.body)) == {"message", "reason"}
    r = await fetch(server_url(hub, "api", "status"), Authorization="token not-a-hub-token")
    assert r.code == 403
    r = await fetch(server_url(hub, ""))  # a page: to our login, which leads to the Hub
    assert r.code == 302 and r.headers["Location"].startswith("/user/alice/login?next=")
    r = await fetch(hub.url + r.headers["Location"])
    assert r.code == 302 and r.headers["Location"].startswith(
        "/hub/api/oauth2/authorize?client_id=jupyterhub-user-alice"
    )
    ws_url = server_url(hub, "api", "kernels", "0" * 8, "channels").replace("http", "ws", 1)
    with pytest.raises(Exception, match="403"):
        await websocket_connect(HTTPRequest(ws_url, headers={"Origin": hub.url}))


async def test_another_user_is_refused(hub, alice):
    r = await fetch(server_url(hub, "api", "status"), **token_header(hub.token_of("bob")))
    assert r.code == 403
    assert "'bob' may not use this server" in json.loads(r.body)["message"]
    # In a browser, the Hub itself refuses bob the OAuth login into alice's server.
    browser = Browser()
    browser.log_in(hub, "bob", next_url="/hub/home")
    page = browser.open(server_url(hub, ""))
    assert page.status == 403 and "/hub/api/oauth2/authorize" in page.url
    assert "jupyterhub-user-alice" not in {c.name for c in browser.jar}


async def test_an_admin_gets_in_only_with_access_servers(hub, alice):
    r = await fetch(server_url(hub, "api", "me"), **token_header(hub.token_of("admin")))
    assert r.code == 200  # the Hub's admin role holds access:servers
    assert json.loads(r.body)["identity"]["username"] == "admin"
    ops = hub.token_of("ops")
    assert hub.api("GET", "users/alice", token=ops)[0] == 200  # ops administers users...
    r = await fetch(server_url(hub, "api", "me"), **token_header(ops))
    assert r.code == 403  # ...but may not use their servers
    assert "'ops' may not use this server" in json.loads(r.body)["message"]


async def test_the_oauth_callback_refuses_what_the_hub_did_not_send(hub, alice):
    callback = server_url(hub, "oauth_callback")
    r = await fetch(f"{callback}?code=abc&state=forged")
    assert r.code == 403 and "OAuth state" in r.body.decode()
    assert "Traceback" not in r.body.decode()
    r = await fetch(f"{callback}?state=forged")
    assert r.code == 400
    r = await fetch(f"{callback}?error=access_denied&error_description=no+way")
    assert r.code == 400 and "no way" in r.body.decode()


# -- activity ------------------------------------------------------------------------------


async def test_activity_reaches_the_hub(hub, alice):
    before = hub_time(hub.user("alice")["servers"][""]["last_activity"])
    await asyncio.sleep(0.05)
    token = hub.token_of("alice")
    r = await fetch(server_url(hub, "api", "kernels"), "POST", {}, **token_header(token))  # a real use
    used = datetime.fromisoformat(json.loads(r.body)["last_activity"].replace("Z", "+00:00"))
    try:

        def reported():
            moment = hub_time(hub.user("alice")["servers"][""]["last_activity"])
            return moment > before and moment >= used.replace(microsecond=0)

        await wait_for(reported, timeout=30 * ACTIVITY_INTERVAL)
        assert hub_time(hub.user("alice")["last_activity"]) >= used.replace(microsecond=0)
    finally:
        kernel = json.loads(r.body)["id"]
        await fetch(f"{server_url(hub, 'api', 'kernels')}/{kernel}", "DELETE", **token_header(token))


# -- logging out, stopping ------------------------------------------------------------------


def test_logout_clears_the_cookie_and_goes_on_to_the_hub(hub, alice):
    browser = Browser()
    assert browser.log_in(hub, "alice").url == server_url(hub, "")
    page = browser.open(server_url(hub, "logout"))
    assert page.url.startswith(f"{hub.url}/hub/login")  # the Hub logged the browser out too
    assert "jupyterhub-user-alice" not in {c.name for c in browser.jar}
    assert browser.open(server_url(hub, "api", "me")).status == 403


async def test_stopping_from_the_hub_stops_the_server_and_its_kernel(hub, alice):
    token = hub.token_of("alice")
    r = await fetch(server_url(hub, "api", "kernels"), "POST", {}, **token_header(token))
    kernel_id = json.loads(r.body)["id"]
    ws_url = server_url(hub, "api", "kernels", kernel_id, "channels").replace("http", "ws", 1)
    ws = await websocket_connect(HTTPRequest(f"{ws_url}?token={token}", headers={"Origin": hub.url}))
    try:
        _, outputs = await Client(ws).run("import os; print(os.getpid(), os.getppid())")
    finally:
        ws.close()
    kernel_pid, parent = map(int, of_type(outputs, "stream")[0]["content"]["text"].split())
    server_pid = hub.server_pid("alice")
    assert parent == server_pid and process_running(kernel_pid)

    status, _ = hub.api("DELETE", "users/alice/server")
    assert status in (202, 204)
    await wait_for(lambda: not process_running(server_pid), timeout=60)
    assert not process_running(kernel_pid), "the kernel outlived its server"
    await asyncio.to_thread(hub.wait_server, "alice", False)
    log = hub.log_text()
    assert "Received SIGINT, shutting down" in log  # the spawner's stop: a clean one, not SIGKILL
    assert not (Path(hub.folder) / "jupyter-runtime" / f"jsl-server-{server_pid}.json").exists()


# -- without a Hub ------------------------------------------------------------------------


async def test_an_activity_report_that_fails_is_logged_and_sent_again():
    """Against a stand-in for the Hub's activity API on 127.0.0.1 that is not up at first."""
    received: list[tuple[str, dict[str, Any]]] = []

    class ActivityAPI(web.RequestHandler):
        def post(self) -> None:
            received.append((self.request.headers["Authorization"], json.loads(self.request.body)))
            self.set_status(204)

    port = free_port()
    moments = [datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)]
    log = logging.getLogger("test_hub.activity")
    reporter = ActivityReporter(
        url=f"http://127.0.0.1:{port}/hub/api/users/alice/activity",
        token="server-token",
        server_name="",
        interval=3600,
        last_activity=lambda: moments[-1],
        log=log,
    )
    with capture_logs(log) as captured:
        assert await reporter.report() is False  # nothing listens yet
    assert [r.levelname for r in captured.records] == ["WARNING"]
    assert "Cannot report activity to JupyterHub" in captured.records[0].getMessage()

    server = HTTPServer(web.Application([(r"/hub/api/users/alice/activity", ActivityAPI)]))
    server.listen(port, "127.0.0.1")
    try:
        assert await reporter.report() is True  # the same activity, sent again
        assert received == [
            (
                "token server-token",
                {"last_activity": "2026-01-02T03:04:05Z", "servers": {"": {"last_activity": "2026-01-02T03:04:05Z"}}},
            )
        ]
        assert await reporter.report() is True and len(received) == 1  # nothing new: nothing sent
        reporter.start()
        moments.append(datetime(2026, 1, 2, 3, 5, 0, tzinfo=timezone.utc))
        await reporter.stop(timeout=10)  # the last report, at stop
        assert received[-1][1]["last_activity"] == "2026-01-02T03:05:00Z"
    finally:
        server.stop()


# -- the spawner's environment --------------------------------------------------------------


def spawner_environment(**changes: str) -> dict[str, str]:
    env = {
        "JUPYTERHUB_API_TOKEN": "secret-token",
        "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
        "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-alice",
        "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:54321/user/alice/",
        "JUPYTERHUB_SERVICE_PREFIX": "/user/alice/",
    }
    env.update(changes)
    return {k: v for k, v in env.items() if v}


def test_the_spawner_environment_becomes_server_settings(tmp_path):
    config = hub_environment_config(
        spawner_environment(
            JUPYTERHUB_ROOT_DIR=str(tmp_path),
            JUPYTERHUB_DEFAULT_URL="/lab",
            JUPYTERHUB_DEBUG="1",
            JUPYTERHUB_SSL_CERTFILE="/certs/server.crt",
            JUPYTERHUB_SSL_KEYFILE="/certs/server.key",
            JUPYTERHUB_SSL_CLIENT_CA="/certs/ca.crt",
        )
    ).ServerApp
    assert (config.ip, config.port, config.port_retries, config.base_url) == ("127.0.0.1", 54321, 0, "/user/alice/")
    assert config.root_dir == str(tmp_path) and config.default_url == "/lab" and config.log_level == "DEBUG"
    assert (config.certfile, config.keyfile, config.client_ca) == (
        "/certs/server.crt",
        "/certs/server.key",
        "/certs/ca.crt",
    )
    assert config.allow_remote_access is True and config.open_browser is False
    every_interface = hub_environment_config(spawner_environment(JUPYTERHUB_SERVICE_URL="https://:8888/")).ServerApp
    assert (every_interface.ip, every_interface.port) == ("", 8888)
    with pytest.raises(StartupError, match="missing: JUPYTERHUB_API_TOKEN, JUPYTERHUB_CLIENT_ID"):
        hub_environment_config(spawner_environment(JUPYTERHUB_API_TOKEN="", JUPYTERHUB_CLIENT_ID=""))


def run_python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def clean_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
    for name in ("config", "data", "runtime"):
        (tmp_path / name).mkdir(exist_ok=True)
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        **extra,
    )
    return env


SERVE_ONCE = """
import asyncio, sys
from tornado.httpclient import AsyncHTTPClient
from jupyter_server_lite.serverapp import ServerApp

async def main():
    app = ServerApp()
    app.initialize(sys.argv[1:] + ["--port=0", "--ip=127.0.0.1", "--no-browser"])
    await app.start_server()
    response = await AsyncHTTPClient().fetch(app.url + "api/me", headers={{"Authorization": f"token {{app.identity_provider.token}}"}})
    await app.stop_server()
    print(response.code, sorted(m for m in sys.modules if m.split(".")[0] == "jupyterhub"))

sys.argv[1:] = {argv!r}
asyncio.run(main())
"""


def test_a_server_not_in_hub_mode_imports_nothing_of_jupyterhub(tmp_path):
    # The Hub's environment is there, but the server is not in Hub mode: nothing of jupyterhub loads.
    env = clean_environment(tmp_path, **spawner_environment())
    done = run_python(SERVE_ONCE.format(argv=[]), env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "200 []"
    # The same start in Hub mode does import it (so the check above could fail).
    check = run_python(
        """
        import sys
        from jupyter_server_lite.serverapp import ServerApp
        app = ServerApp()
        app.initialize(["--hub", "--no-browser", "--port=1234"])  # the command line beats the Hub's port
        app.identity_provider.hub_auth
        print("jupyterhub.services.auth" in sys.modules, app.base_url, app.port)
        """,
        env,
        tmp_path,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == ["True", "/user/alice/", "1234"]


def test_hub_mode_outside_a_hub_says_what_is_missing(tmp_path):
    env = clean_environment(tmp_path)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_server_lite", "--hub"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and time.monotonic() - started < 60
    assert done.stderr.strip().splitlines() == [
        "jupyter-server-lite: error: JupyterHub mode needs the environment a JupyterHub spawner sets; missing: "
        "JUPYTERHUB_API_TOKEN, JUPYTERHUB_API_URL, JUPYTERHUB_CLIENT_ID, JUPYTERHUB_SERVICE_URL "
        "(is this server started by JupyterHub?)"
    ]
