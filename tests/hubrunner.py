"""A real JupyterHub for the tests: its proxy from npm, a dummy authenticator,
local-process spawns of ``jupyter-server-lite --hub``, all on 127.0.0.1.

:func:`start_hub` writes a ``jupyterhub_config.py`` into a temporary folder,
starts ``python -m jupyterhub`` there and waits (bounded) until its proxy
answers; :class:`Hub` talks to its REST API with a service token that may
manage users and servers; :class:`Browser` is a real HTTP client -- cookies
kept per host and path, redirects followed and recorded -- for the login
flow.  ``configurable-http-proxy`` is installed into ``tests/hub/node_modules``
by ``npm install`` when missing or when ``tests/hub/package.json`` changed.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import free_port, stop_process

HUB_DIR = Path(__file__).parent / "hub"
STAMP = HUB_DIR / "node_modules" / ".jsl-install-stamp"
PROXY = HUB_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
SERVER_COMMAND = os.path.join(sysconfig.get_path("scripts"), "jupyter-server-lite")
NPM_INSTALL_TIMEOUT = 300
WAIT = 90.0  # seconds: the longest a Hub start, a spawn or a stop may take on a loaded machine
PASSWORD = "hub-test-password"  # the dummy authenticator's one password


class HubTestError(AssertionError):
    """The Hub, its proxy or a spawn did not do what the test needed (the message says what)."""


def install_proxy() -> Path:
    """``configurable-http-proxy``, installed by npm when missing or out of date."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise HubTestError("Node.js and npm are needed for JupyterHub's proxy (configurable-http-proxy)")
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        path = HUB_DIR / name
        digest.update(path.read_bytes() if path.exists() else b"")
    wanted = digest.hexdigest()
    if not (PROXY.exists() and STAMP.exists() and STAMP.read_text() == wanted):
        proc = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-progress"],
            cwd=HUB_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_INSTALL_TIMEOUT,
        )
        if proc.returncode != 0:
            raise HubTestError(f"npm install in {HUB_DIR} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        STAMP.write_text(wanted)
    return PROXY


def _json_or_text(raw: bytes) -> Any:
    """A body as JSON; the proxy's own error pages (the Hub not up yet) as text."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


@dataclass
class Hub:
    """A running JupyterHub: its public URL (the proxy), its process and log."""

    url: str
    token: str  # the "tester" service's: manages users, servers and tokens
    process: subprocess.Popen[bytes]
    folder: Path
    log: Path
    _tokens: dict[str, str] = field(default_factory=dict)

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """``(status, JSON body)`` of a Hub API request (``path`` below ``/hub/api/``)."""
        data = None if body is None else json.dumps(body).encode()
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = b""
        request = urllib.request.Request(
            f"{self.url}/hub/api/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {token or self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                return response.status, _json_or_text(response.read())
        except urllib.error.HTTPError as err:
            return err.code, _json_or_text(err.read())

    def user(self, name: str) -> dict[str, Any]:
        status, model = self.api("GET", f"users/{name}")
        if status != 200:
            raise HubTestError(f"GET users/{name}: {status} {model}")
        return model

    def token_of(self, name: str) -> str:
        """An API token of user ``name`` (made once; the user is created if need be)."""
        if name not in self._tokens:
            status, _ = self.api("GET", f"users/{name}")
            if status == 404:
                self.api("POST", f"users/{name}")
            status, model = self.api("POST", f"users/{name}/tokens", {"note": "test_hub"})
            if status != 201:
                raise HubTestError(f"cannot make a token for {name}: {status} {model}")
            self._tokens[name] = model["token"]
        return self._tokens[name]

    def server_pid(self, name: str) -> int:
        """The pid of ``name``'s server process (LocalProcessSpawner's state)."""
        state = self.user(name)["servers"][""]["state"]
        return int(state["pid"])

    def start_server(self, name: str) -> None:
        status, model = self.api("POST", f"users/{name}/server")
        if status not in (201, 202, 400):  # 400: running already
            raise HubTestError(f"cannot start {name}'s server: {status} {model}")
        self.wait_server(name, ready=True)

    def stop_server(self, name: str) -> None:
        status, model = self.api("DELETE", f"users/{name}/server")
        if status not in (202, 204, 400):  # 400: not running
            raise HubTestError(f"cannot stop {name}'s server: {status} {model}")
        self.wait_server(name, ready=False)

    def wait_server(self, name: str, ready: bool) -> None:
        deadline = time.monotonic() + WAIT
        while True:
            server = self.user(name)["servers"].get("")
            if (server is not None and server["ready"]) == ready and (ready or server is None):
                return
            if time.monotonic() > deadline:
                raise HubTestError(f"{name}'s server is not {'ready' if ready else 'stopped'} after {WAIT}s: {server}")
            time.sleep(0.2)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM: the Hub stops every server it spawned and its proxy, then exits."""
        stop_process(self.process, WAIT)


HUB_CONFIG = """\
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {public_port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.db_url = "sqlite:///{folder}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{folder}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{folder}/jupyterhub.pid"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = ["{proxy}"]
c.ConfigurableHTTPProxy.pid_file = "{folder}/proxy.pid"
c.ConfigurableHTTPProxy.auth_token = "{proxy_token}"
# Only the servers' own reports move a server's last_activity during a test.
c.JupyterHub.last_activity_interval = 3600
# A spawn on login waits for the server (no spawn-pending page) on a slow machine too.
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": {wait}}}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{password}"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"admin"}}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{folder}/home/{{username}}"
c.Spawner.cmd = ["{server}", "--hub"]
c.Spawner.args = ["--ServerApp.shutdown_no_activity_timeout=0"]
c.Spawner.start_timeout = {wait}
c.Spawner.http_timeout = {wait}
c.Spawner.environment = {environment}
c.JupyterHub.services = [{{"name": "tester", "api_token": "{token}"}}]
c.JupyterHub.load_roles = [
    {{"name": "tester", "services": ["tester"],
      "scopes": ["admin:users", "admin:servers", "tokens", "read:roles:users"]}},
    # An operator: may start and stop every server, but use none (no access:servers).
    {{"name": "operator", "users": ["ops"], "scopes": ["admin:users", "admin:servers"]}},
]
"""


def start_hub(folder: Path, environment: dict[str, str]) -> Hub:
    """Start a Hub in ``folder`` whose spawns get ``environment`` on top of the spawner's."""
    proxy = install_proxy()
    folder.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("public_port", "hub_port", "proxy_api_port")}
    token = secrets.token_hex(16)
    config = folder / "jupyterhub_config.py"
    config.write_text(
        HUB_CONFIG.format(
            **ports,
            folder=folder,
            proxy=proxy,
            proxy_token=secrets.token_hex(16),
            wait=int(WAIT),
            password=PASSWORD,
            server=SERVER_COMMAND,
            environment=repr(environment),
            token=token,
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
    log = folder / "jupyterhub.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = Hub(f"http://127.0.0.1:{ports['public_port']}", token, process, folder, log)
    try:
        wait_until_up(hub)
    except BaseException:
        hub.stop()  # never leave a Hub (and its proxy) behind
        raise
    return hub


def wait_until_up(hub: Hub) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        if hub.process.poll() is not None:
            raise HubTestError(f"JupyterHub exited with {hub.process.returncode}:\n{hub.log_text()}")
        try:
            if hub.api("GET", "")[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise HubTestError(f"JupyterHub did not answer in {WAIT}s:\n{hub.log_text()}")
        time.sleep(0.2)


class _Recorder(urllib.request.HTTPRedirectHandler):
    """Follows redirects like a browser (a POST's 302 becomes a GET) and records each hop."""

    def __init__(self, visited: list[str]) -> None:
        self.visited = visited

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        self.visited.append(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@dataclass
class Page:
    status: int
    url: str  # where the redirects ended
    body: str
    headers: Any


class Browser:
    """A browser without JavaScript: one cookie jar, redirects followed."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.visited: list[str] = []
        self.landing: Page | None = None  # where the last log_in ended
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _Recorder(self.visited)
        )

    def open(self, url: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Page:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(url, data=data, headers=headers or {})
        self.visited.append(url)
        try:
            with self._opener.open(request, timeout=WAIT) as response:
                return Page(response.status, response.url, response.read().decode(errors="replace"), response.headers)
        except urllib.error.HTTPError as err:
            return Page(err.code, err.url, err.read().decode(errors="replace"), err.headers)

    def cookie(self, name: str, path: str) -> str:
        """The value of cookie ``name`` set for ``path`` (the Hub and a server each have an ``_xsrf``)."""
        values = [c.value for c in self.jar if c.name == name and c.path == path]
        if not values:
            raise HubTestError(
                f"the browser holds no {name!r} cookie for {path}: {[(c.name, c.path) for c in self.jar]}"
            )
        return values[0]

    def cookie_header(self, url: str) -> str:
        """The Cookie header this browser would send to ``url``."""
        request = urllib.request.Request(url)
        self.jar.add_cookie_header(request)
        return request.get_header("Cookie") or ""

    def log_in(self, hub: Hub, name: str, next_url: str = "") -> Page:
        """Fill in the Hub's login form as ``name`` and follow where it leads."""
        query = f"?{urllib.parse.urlencode({'next': next_url})}" if next_url else ""
        form_page = self.open(f"{hub.url}/hub/login{query}")
        match = re.search(r'name="_xsrf" value="([^"]+)"', form_page.body)
        if form_page.status != 200 or match is None:
            raise HubTestError(f"no login form at {form_page.url} ({form_page.status})")
        page = self.open(form_page.url, form={"username": name, "password": PASSWORD, "_xsrf": match.group(1)})
        deadline = time.monotonic() + WAIT
        while "/hub/spawn-pending/" in page.url:  # the page's script would reload it once the server is up
            if time.monotonic() > deadline:
                raise HubTestError(f"{name}'s server still pending after {WAIT}s")
            time.sleep(0.5)
            page = self.open(page.url)
        self.landing = page
        return page
