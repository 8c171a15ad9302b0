"""What the server logs (web/logs.py): the access log, and no secret in any line.

A token or password hash must not reach a log line at any level, whoever
writes it: the access log, tornado's "Uncaught exception" summary (which
prints the request URI twice), a websocket, traitlets' DEBUG dump of the
config.  The only exception is the start-up URL of a random token.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from support import capture_logs, server_with_routes
from tornado.httpclient import AsyncHTTPClient
from tornado.websocket import WebSocketHandler, websocket_connect

from jupyter_server_lite.auth import passwd
from jupyter_server_lite.web.handlers import APIHandler


class CrashingHandler(APIHandler):
    def get(self) -> None:
        raise RuntimeError("boom: an unexpected bug")


class CrashingSocketHandler(WebSocketHandler, APIHandler):
    """A websocket whose ``open`` fails: tornado logs it through ``log_exception``."""

    def open(self) -> None:
        raise RuntimeError("boom: the socket failed to open")


ROUTES = [(r"/api/test-crash", CrashingHandler), (r"/api/test-crash-ws", CrashingSocketHandler)]


@pytest.fixture
def jsl_serverapp(jsl_server_factory: Any, io_loop: Any) -> Any:
    app = server_with_routes(jsl_server_factory, ROUTES)
    io_loop.run_sync(app.start_server)
    return app


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("GET /x?token=abc&other=kept (1.2.3.4)", "GET /x?token=[secret]&other=kept (1.2.3.4)"),
        (
            "/x?Token=A&TOKEN=B&%74oken=C&my_token=D",
            "/x?Token=[secret]&TOKEN=[secret]&%74oken=[secret]&my_token=[secret]",
        ),
        ("uri='/x?token=abc', version", "uri='/x?token=[secret]', version"),
        (
            "/x?_xsrf=1&code=2&state=3&password=4&session_id=5",
            "/x?_xsrf=[secret]&code=[secret]&state=[secret]&password=[secret]&session_id=5",
        ),
        ("/login?next=%2Fa%2540b%2F%3FToken%3Dwrong%26x%3D1", "/login?next=%2Fa%2540b%2F%3FToken%3D[secret]%26x%3D1"),
        ("/login?next=/a?token=zz", "/login?next=/a?token=[secret]"),
        (
            "Config changed: {'IdentityProvider': {'token': 'ab\\'c', 'username': 'me'}, 'ServerApp': {'cookie_secret': 's'}}",
            "Config changed: {'IdentityProvider': {'token': '[secret]', 'username': 'me'}, 'ServerApp': {'cookie_secret': '[secret]'}}",
        ),
        ('{"hashed_password": "x", "url": "http://h/?a=1"}', '{"hashed_password": "[secret]", "url": "http://h/?a=1"}'),
        ("hash pbkdf2_sha256$390000$00ff$abcdef here", "hash [secret] here"),
        ("/api/kernels?a=%41&b=c: nothing secret", "/api/kernels?a=%41&b=c: nothing secret"),
    ],
)
def test_redact(line, masked):
    from jupyter_server_lite.web.logs import redact

    assert redact(line) == masked


async def test_uncaught_exception_masks_every_spelling_of_the_token(jsl_serverapp, jsl_expect_log):
    """Tornado's summary ("Uncaught exception GET <uri>" and the request's repr)
    and the access line: neither may show a token, however it is spelled."""
    token = jsl_serverapp.identity_provider.token
    spelled = ["T0-unused", "T1-Title", "T2-UPPER", "T3-encoded", "T4-nested"]
    # tornado takes the last "token" (%74oken is one too), so the real one comes last
    query = f"Token={spelled[1]}&TOKEN={spelled[2]}&%74oken={spelled[3]}&next=%2F%3Ftoken%3D{spelled[4]}&token={token}"
    url = f"http://127.0.0.1:{jsl_serverapp.actual_port}{jsl_serverapp.base_url}api/test-crash?{query}"
    with (
        capture_logs(jsl_serverapp.log) as captured,
        jsl_expect_log(r"Uncaught exception GET .*/api/test-crash", logging.ERROR) as uncaught,
        jsl_expect_log(r"^500 GET", logging.ERROR),
    ):
        r = await AsyncHTTPClient().fetch(url, raise_error=False)
    assert r.code == 500
    lines = captured.lines()
    assert any("Traceback" in line and "boom: an unexpected bug" in line for line in lines)  # the log keeps it
    leaks = [line for line in lines if any(secret in line for secret in (token, *spelled))]
    assert not leaks, leaks
    assert uncaught[0].exc_info and "boom" in str(uncaught[0].exc_info[1])  # the exception itself is intact


async def test_websocket_opened_with_a_query_token_logs_no_token(jsl_serverapp, jsl_expect_log):
    token = jsl_serverapp.identity_provider.token
    url = f"ws://127.0.0.1:{jsl_serverapp.actual_port}{jsl_serverapp.base_url}api/test-crash-ws?token={token}&Token=x{token}"
    with (
        capture_logs(jsl_serverapp.log) as captured,
        jsl_expect_log(r"Uncaught exception GET .*/api/test-crash-ws", logging.ERROR),
    ):
        conn = await websocket_connect(url)
        assert await conn.read_message() is None  # the server aborted it
        conn.close()
    lines = captured.lines()
    assert any("boom: the socket failed to open" in line for line in lines)
    assert any("101 GET" in line and "token=[secret]" in line and "Token=[secret]" in line for line in lines), lines
    assert not [line for line in lines if token in line]


async def test_debug_log_shows_no_configured_token_or_password_hash(
    jsl_server_factory, jsl_fetch, jsl_expect_log, capfd
):
    """At DEBUG traitlets logs the whole config; a configured token is not even
    in the start-up URL (the user knows it). What the console shows is checked."""
    token, hashed = "configured-token-0123456789", passwd("a password")
    config = {"IdentityProvider": {"token": token, "hashed_password": hashed}, "ServerApp": {"log_level": "DEBUG"}}
    app = jsl_server_factory(config=config, start=False)
    await app.start_server()
    await jsl_fetch("api", "status", app=app, params={"token": token}, authenticated=False)
    with jsl_expect_log(r"^403 GET"):
        await jsl_fetch("api", "status", app=app, params={"TOKEN": token}, authenticated=False, raise_error=False)
    console = capfd.readouterr().err
    assert re.search(r"Config changed: .*'token': '\[secret\]', 'hashed_password': '\[secret\]'", console), console
    assert f"is running at:\n    http://127.0.0.1:{app.actual_port}/a%40b/?token=...\n" in console
    assert "200 GET /a%40b/api/status?token=[secret] " in console
    assert token not in console and hashed.split("$")[-1] not in console


async def test_rebuilt_log_handlers_keep_masking(jsl_serverapp, jsl_fetch, capfd):
    """Changing log_level rebuilds the console handler (traitlets' dictConfig): it still masks."""
    jsl_serverapp.log_level = "DEBUG"
    token = jsl_serverapp.identity_provider.token
    await jsl_fetch("api", "status", params={"token": token}, authenticated=False)
    console = capfd.readouterr().err
    assert re.search(r"200 GET /a%40b/api/status\?token=\[secret\] ", console), console
    assert token not in console


async def test_json_log_lines_are_masked_in_every_field(jsl_server_factory, jsl_expect_log, capfd):
    """--log-json prints extra= fields (the access log's path) and the traceback itself."""
    app = server_with_routes(jsl_server_factory, ROUTES, {"ServerApp": {"log_json": True}})
    await app.start_server()
    token = app.identity_provider.token
    url = f"http://127.0.0.1:{app.actual_port}{app.base_url}api/test-crash?Token=wrong-{token}&token={token}"
    with jsl_expect_log(r"Uncaught exception", logging.ERROR), jsl_expect_log(r"^500 GET", logging.ERROR):
        await AsyncHTTPClient().fetch(url, raise_error=False)
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    access = next(line for line in lines if line["logger"] == "jupyter_server_lite.access")
    assert access["path"] == "/a%40b/api/test-crash?Token=[secret]&token=[secret]"
    uncaught = next(line for line in lines if line["message"].startswith("Uncaught exception"))
    assert "boom: an unexpected bug" in uncaught["exception"]
    leaks = [line for line in lines if token in json.dumps(line) and "is running at" not in line["message"]]
    assert not leaks, leaks
