"""pytest fixtures for testing a server and its extensions (``pytest11`` plugin).

Every test gets its own jupyter config, data and runtime folders (the three
config levels ``--user``, ``--sys-prefix`` and ``--system`` included), so
nothing on the developer's machine leaks in and nothing leaks out.  Servers
run for real on 127.0.0.1 with a token and, by default, an awkward
``base_url`` (``/a%40b/``) that flushes out URL-joining bugs.

Tests run clean: a warning or error logged by a server fails the test unless
it was announced with :func:`jsl_expect_log`.

The fixtures are factories where that helps::

    async def test_status(jsl_fetch):
        r = await jsl_fetch("api", "status")
        assert json.loads(r.body)["kernels"] == 0

    def test_other_config(jsl_server_factory):
        app = jsl_server_factory(config={"ServerApp": {"base_url": "/"}})
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from jupyter_core import paths as jupyter_paths
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse
from tornado.ioloop import IOLoop
from tornado.websocket import WebSocketClientConnection, websocket_connect
from traitlets.config import Config

from .web.handlers import url_path_join

if TYPE_CHECKING:
    from .serverapp import ServerApp


@dataclasses.dataclass(frozen=True)
class JupyterDirs:
    """The isolated folders of one test."""

    root: Path  # the server's root_dir
    user: Path  # config level --user (JUPYTER_CONFIG_DIR)
    sys_prefix: Path  # config level --sys-prefix
    system: Path  # config level --system
    data: Path
    runtime: Path

    def level(self, name: str) -> Path:
        """The config folder of ``"user"``, ``"sys_prefix"`` or ``"system"``."""
        return getattr(self, name.replace("-", "_"))

    def write_config(self, level: str, filename: str, data: dict[str, Any] | str) -> Path:
        """Write a config file (a dict as JSON, a str verbatim) at a config level."""
        path = self.level(level) / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        return path


@pytest.fixture
def jsl_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> JupyterDirs:
    """Isolated jupyter folders; every config level points into ``tmp_path``."""
    dirs = JupyterDirs(
        root=tmp_path / "root",
        user=tmp_path / "config" / "user",
        sys_prefix=tmp_path / "config" / "sys-prefix",
        system=tmp_path / "config" / "system",
        data=tmp_path / "data",
        runtime=tmp_path / "runtime",
    )
    for d in dataclasses.astuple(dirs):
        Path(d).mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(dirs.user))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(dirs.data))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(dirs.runtime))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    # jupyter_core puts sys-prefix above user inside a virtualenv; pin the
    # documented order (user, sys-prefix, system) so tests mean the same everywhere.
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")
    for var in ("JUPYTER_CONFIG_PATH", "JUPYTER_PATH", "JUPYTER_NO_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(jupyter_paths, "ENV_CONFIG_PATH", [str(dirs.sys_prefix)])
    monkeypatch.setattr(jupyter_paths, "SYSTEM_CONFIG_PATH", [str(dirs.system)])
    monkeypatch.setattr(jupyter_paths, "ENV_JUPYTER_PATH", [str(dirs.data / "sys-prefix")])
    monkeypatch.setattr(jupyter_paths, "SYSTEM_JUPYTER_PATH", [str(dirs.data / "system")])
    return dirs


class _EventLoopFixture:
    """Holds ``io_loop``: registered in ``pytest_configure``, after every
    entry-point plugin, so it replaces pytest-tornasync's fixture of the same
    name (which calls the deprecated ``IOLoop.make_current``)."""

    @pytest.fixture
    def io_loop(self) -> Iterator[IOLoop]:
        """A fresh event loop per test; async tests run on it."""
        loop = IOLoop(make_current=False)
        yield loop
        loop.close(all_fds=True)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_EventLoopFixture(), "jupyter_server_lite.io_loop")


@pytest.fixture
def jsl_base_url() -> str:
    """The server's base_url; override the fixture to test another."""
    return "/a%40b/"


@pytest.fixture
def jsl_server_config() -> dict[str, Any]:
    """Config for ``jsl_serverapp`` (a traitlets-style dict); override to change it."""
    return {}


@pytest.fixture
def jsl_argv() -> list[str]:
    """Command-line arguments for ``jsl_serverapp``; override to change them."""
    return []


class LogGuard(logging.Handler):
    """Collects a server's warnings and errors; expected ones are ticked off."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.expected: list[tuple[int, re.Pattern[str], list[logging.LogRecord]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for level, pattern, hits in self.expected:
            if record.levelno == level and pattern.search(message):
                hits.append(record)
                return
        self.records.append(record)

    @contextlib.contextmanager
    def expect(self, pattern: str, level: int = logging.WARNING) -> Iterator[list[logging.LogRecord]]:
        hits: list[logging.LogRecord] = []
        entry = (level, re.compile(pattern), hits)
        self.expected.append(entry)
        try:
            yield hits
        finally:
            self.expected.remove(entry)
        assert hits, f"expected a {logging.getLevelName(level)} log line matching {pattern!r}, none came"

    def unexpected(self) -> list[str]:
        return [f"{r.levelname} {r.name}: {r.getMessage()}" for r in self.records]


@pytest.fixture
def jsl_log_guard() -> Iterator[LogGuard]:
    """The guard attached to every server of the test; fails the test on stray warnings."""
    guard = LogGuard()
    yield guard
    stray = guard.unexpected()
    assert not stray, "the server logged unexpected warnings/errors:\n" + "\n".join(stray)


@pytest.fixture
def jsl_expect_log(
    jsl_log_guard: LogGuard,
) -> Callable[..., contextlib.AbstractContextManager[list[logging.LogRecord]]]:
    """``with jsl_expect_log("pattern", logging.ERROR): ...`` -- the block must log it.

    Announces a log line the test expects (an isolated failure, a refused
    request): it is then not a stray, and its absence fails the test.
    """
    return jsl_log_guard.expect


@pytest.fixture
def jsl_server_factory(
    io_loop: Any, jsl_dirs: JupyterDirs, jsl_base_url: str, jsl_log_guard: LogGuard
) -> Iterator[Callable[..., ServerApp]]:
    """``jsl_server_factory(config=None, argv=(), extensions=(), start=True)`` -> ServerApp.

    Builds a server in the test's isolated folders on a free 127.0.0.1 port
    and (unless ``start=False``) starts it.  ``extensions`` are registered on
    the app directly (ExtensionApp classes or instances, or modules), without
    any conf.d file.  Every server is stopped at teardown, kernels included.
    """
    # start-up cost: serverapp (tornado, zmq, jupyter_client): pytest loads this plugin in every session
    from .serverapp import ServerApp

    apps: list[ServerApp] = []

    def factory(
        config: dict[str, Any] | None = None,
        argv: list[str] | tuple[str, ...] = (),
        extensions: list[Any] | tuple[Any, ...] = (),
        start: bool = True,
    ) -> ServerApp:
        base = Config(
            {
                "ServerApp": {
                    "ip": "127.0.0.1",
                    "port": 0,
                    "open_browser": False,
                    "base_url": jsl_base_url,
                    "root_dir": str(jsl_dirs.root),
                }
            }
        )
        base.merge(Config(config or {}))
        app = ServerApp(config=base)
        app.log.addHandler(jsl_log_guard)
        apps.append(app)
        for extension in extensions:
            app.register_extension(extension)
        app.initialize(list(argv))
        # Setting a logging trait (log_level from config or argv) rebuilds the
        # logger's handlers; attach the guard again (addHandler is idempotent).
        app.log.addHandler(jsl_log_guard)
        if start:
            io_loop.run_sync(app.start_server)
        return app

    yield factory
    for app in reversed(apps):
        io_loop.run_sync(app.stop_server, timeout=60)
        app.log.removeHandler(jsl_log_guard)
        ServerApp.clear_instance()


@pytest.fixture
def jsl_server_extensions() -> list[str] | dict[str, bool]:
    """Extensions ``jsl_serverapp`` enables by module name, as a conf.d enabler
    would (``ServerApp.jpserver_extensions``); override to choose them::

        @pytest.fixture
        def jsl_server_extensions():
            return ["my_extension"]
    """
    return []


@pytest.fixture
def jsl_serverapp(
    jsl_server_factory: Callable[..., ServerApp],
    jsl_server_config: dict[str, Any],
    jsl_argv: list[str],
    jsl_server_extensions: list[str] | dict[str, bool],
) -> ServerApp:
    """A started server built from ``jsl_server_config``, ``jsl_argv`` and ``jsl_server_extensions``."""
    config = copy.deepcopy(jsl_server_config)
    if jsl_server_extensions:
        enabled = (
            jsl_server_extensions
            if isinstance(jsl_server_extensions, dict)
            else dict.fromkeys(jsl_server_extensions, True)
        )
        section = config.setdefault("ServerApp", {})
        section["jpserver_extensions"] = {**section.get("jpserver_extensions", {}), **enabled}
    return jsl_server_factory(config=config, argv=jsl_argv)


@pytest.fixture
def jsl_http_port(jsl_serverapp: ServerApp) -> int:
    return jsl_serverapp.actual_port


@pytest.fixture
def jsl_token(jsl_serverapp: ServerApp) -> str:
    return jsl_serverapp.identity_provider.token


def _url(app: ServerApp, parts: tuple[str, ...], params: dict[str, Any] | None, scheme: str = "http") -> str:
    path = url_path_join(app.base_url, *[urllib.parse.quote(p, safe="/%") for p in parts])
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    return f"{scheme}://127.0.0.1:{app.actual_port}{path}{query}"


def _request_headers(app: ServerApp, authenticated: bool, headers: dict[str, str] | None) -> dict[str, str]:
    """The token header (unless ``authenticated`` is false), then the caller's headers."""
    all_headers = {}
    if authenticated and app.identity_provider.token:
        all_headers["Authorization"] = f"token {app.identity_provider.token}"
    all_headers.update(headers or {})
    return all_headers


@pytest.fixture
def jsl_fetch(jsl_serverapp: ServerApp) -> Callable[..., Any]:
    """``await jsl_fetch("api", "kernels", method="POST", body=..., params=...)``.

    Sends the token header unless ``headers`` sets ``Authorization`` (use
    ``authenticated=False`` for none).  A ``body`` that is not ``str`` or
    ``bytes`` is sent as JSON.  Raises ``HTTPClientError`` on an error status,
    like tornado's client, unless ``raise_error=False``.
    """

    async def fetch(
        *parts: str,
        method: str = "GET",
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        authenticated: bool = True,
        app: ServerApp | None = None,
        **kwargs: Any,
    ) -> HTTPResponse:
        app = app or jsl_serverapp
        all_headers = _request_headers(app, authenticated, headers)
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        raise_error = kwargs.pop("raise_error", True)
        request = HTTPRequest(
            _url(app, parts, params), method=method, body=body, headers=all_headers, follow_redirects=False, **kwargs
        )
        return await AsyncHTTPClient().fetch(request, raise_error=raise_error)

    return fetch


@pytest.fixture
def jsl_ws_connect(jsl_serverapp: ServerApp) -> Iterator[Callable[..., Any]]:
    """``await jsl_ws_connect("api", "kernels", kid, "channels", params=..., subprotocols=[...])``.

    Authenticated with the token header; every connection is closed at teardown.
    """
    connections: list[WebSocketClientConnection] = []

    async def connect(
        *parts: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        subprotocols: list[str] | None = None,
        authenticated: bool = True,
        app: ServerApp | None = None,
        **kwargs: Any,
    ) -> WebSocketClientConnection:
        app = app or jsl_serverapp
        all_headers = _request_headers(app, authenticated, headers)
        request = HTTPRequest(_url(app, parts, params, scheme="ws"), headers=all_headers, **kwargs)
        conn = await websocket_connect(request, subprotocols=subprotocols)
        connections.append(conn)
        return conn

    yield connect
    for conn in connections:
        conn.close()
