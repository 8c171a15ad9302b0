"""The web layer: Host and Origin checks, CORS, JSON errors, 404s, the access log.

Mirrors ``jupyter_server_lite/web/`` (handlers.py, application.py, pages.py).
Test-only handlers are mounted with ``make_application(extra_routes=...)``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import LogCapture, capture_logs, server_with_routes
from tornado import web

from jupyter_server_lite.web.handlers import APIHandler, JupyterHandler, url_path_join


class JSONBodyHandler(APIHandler):
    """POST echoes ``get_json_body()``; PUT echoes ``get_json_object()``."""

    def post(self) -> None:
        self.finish_json({"body": self.get_json_body()})

    def put(self) -> None:
        self.finish_json({"object": self.get_json_object()})


class CrashingAPIHandler(APIHandler):
    def get(self) -> None:
        raise RuntimeError("boom: an unexpected bug")


class CrashingPageHandler(JupyterHandler):
    def get(self) -> None:
        raise RuntimeError("boom: an unexpected bug")


class PublicCrashingAPIHandler(CrashingAPIHandler):
    allow_unauthenticated = True


class PublicCrashingPageHandler(CrashingPageHandler):
    allow_unauthenticated = True


TEST_ROUTES = [
    (r"/api/test-json", JSONBodyHandler),
    (r"/api/test-crash", CrashingAPIHandler),
    (r"/test-crash-page", CrashingPageHandler),
]


@pytest.fixture
def jsl_serverapp(jsl_server_factory: Any, io_loop: Any) -> Any:
    app = server_with_routes(jsl_server_factory, TEST_ROUTES)
    io_loop.run_sync(app.start_server)
    return app


@pytest.fixture
def captured(jsl_serverapp: Any) -> Iterator[LogCapture]:
    """Records logged by the server from now on, debug included."""
    with capture_logs(jsl_serverapp.log) as capture:
        yield capture


def json_error(response: Any) -> dict[str, Any]:
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    assert set(body) >= {"message", "reason"}
    return body


# -- Host check (DNS rebinding) ---------------------------------------------------


async def test_foreign_host_is_refused(jsl_fetch, jsl_serverapp, jsl_expect_log):
    assert jsl_serverapp.allow_remote_access is False  # default when listening on 127.0.0.1
    with jsl_expect_log(r"^403 GET .*Host 'evil\.example' is not allowed"):
        r = await jsl_fetch("api", "status", headers={"Host": "evil.example"}, raise_error=False)
    assert r.code == 403
    assert "allow_remote_access" in json_error(r)["message"]
    # Public routes and pages are protected too: a rebinding page could read them.
    with jsl_expect_log(r"^403 GET"):
        page = await jsl_fetch("login", headers={"Host": "evil.example:80"}, raise_error=False)
    assert page.code == 403 and page.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:1234", "127.0.0.1", "127.1.2.3:8888", "[::1]:8888"])
async def test_local_hosts_are_accepted(jsl_fetch, host):
    assert (await jsl_fetch("api", "status", headers={"Host": host})).code == 200


async def test_allow_remote_access_and_local_hostnames(jsl_fetch, jsl_server_factory, jsl_expect_log):
    remote = jsl_server_factory(config={"ServerApp": {"allow_remote_access": True}}, start=False)
    named = jsl_server_factory(config={"ServerApp": {"local_hostnames": ["localhost", "my-box"]}}, start=False)
    await remote.start_server()
    await named.start_server()
    assert (await jsl_fetch("api", "status", app=remote, headers={"Host": "evil.example"})).code == 200
    assert (await jsl_fetch("api", "status", app=named, headers={"Host": "my-box:9999"})).code == 200
    with jsl_expect_log(r"^403 GET"):
        r = await jsl_fetch("api", "status", app=named, headers={"Host": "other-box"}, raise_error=False)
    assert r.code == 403


@pytest.mark.parametrize(
    ("ip", "remote"), [("127.0.0.1", False), ("localhost", False), ("0.0.0.0", True), ("*", True), ("", True)]
)
def test_allow_remote_access_default_follows_ip(jsl_server_factory, ip, remote):
    app = jsl_server_factory(config={"ServerApp": {"ip": ip}}, start=False)
    assert app.allow_remote_access is remote
    assert app.ip == ("" if ip == "*" else ip)


# -- Origin and CORS ---------------------------------------------------------------


async def test_foreign_origin_is_refused(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"^403 GET .*Cross-origin request from 'http://evil\.example'"):
        r = await jsl_fetch("api", "status", headers={"Origin": "http://evil.example"}, raise_error=False)
    assert r.code == 403 and "allow_origin" in json_error(r)["message"]
    assert "Access-Control-Allow-Origin" not in r.headers
    with jsl_expect_log(r"^403 OPTIONS"):
        pre = await jsl_fetch(
            "api", "status", method="OPTIONS", headers={"Origin": "http://evil.example"}, raise_error=False
        )
    assert pre.code == 403


async def test_same_origin_needs_no_configuration(jsl_fetch, jsl_serverapp):
    origin = f"http://127.0.0.1:{jsl_serverapp.actual_port}"
    r = await jsl_fetch("api", "status", headers={"Origin": origin})
    assert r.code == 200 and "Access-Control-Allow-Origin" not in r.headers


async def test_allow_origin_sends_cors_headers(jsl_fetch, jsl_server_factory, jsl_expect_log):
    app = jsl_server_factory(
        config={"ServerApp": {"allow_origin": "https://app.example", "allow_credentials": True}}, start=False
    )
    await app.start_server()
    r = await jsl_fetch("api", "status", app=app, headers={"Origin": "https://app.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Vary"] == "Origin"
    # Preflight: no credentials, an allowed Origin is enough.
    pre = await jsl_fetch(
        "api",
        "kernels",
        method="OPTIONS",
        app=app,
        authenticated=False,
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert pre.code == 204
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert "authorization" in pre.headers["Access-Control-Allow-Headers"]
    assert pre.headers["Access-Control-Allow-Origin"] == "https://app.example"
    with jsl_expect_log(r"^403 GET"):
        other = await jsl_fetch(
            "api", "status", app=app, headers={"Origin": "https://app.example.evil"}, raise_error=False
        )
    assert other.code == 403


ANONYMOUS_OPTIONS_PATHS = ["api/kernels", "api/nope", "api/kernels/%FF", "no-such-page", "login", "static/x%00"]


async def test_anonymous_options_is_the_same_on_every_path(jsl_fetch):
    """A preflight carries no credentials: its answer must not tell a route from a missing one."""
    answers = []
    for path in ANONYMOUS_OPTIONS_PATHS:
        r = await jsl_fetch(path, method="OPTIONS", authenticated=False, raise_error=False)
        answers.append((r.code, r.body, sorted((k, v) for k, v in r.headers.get_all() if k != "Date")))
    assert answers[0][0] == 204
    for path, answer in zip(ANONYMOUS_OPTIONS_PATHS, answers):
        assert answer == answers[0], path


async def test_authenticated_options_names_the_routes_methods(jsl_fetch, jsl_expect_log):
    r = await jsl_fetch("api", "kernels", method="OPTIONS")
    assert r.code == 204 and r.headers["Allow"] == "GET, POST, OPTIONS"
    with jsl_expect_log(r"^404 OPTIONS"):
        missing = await jsl_fetch("api", "nope", method="OPTIONS", raise_error=False)
    assert missing.code == 404


async def test_405_names_the_allowed_methods(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"^405 DELETE"):
        r = await jsl_fetch("api", "status", method="DELETE", raise_error=False)
    assert r.code == 405 and r.headers["Allow"] == "GET, OPTIONS"
    assert json_error(r)["reason"] == "Method Not Allowed"
    with jsl_expect_log(r"^405 POST"):  # a body nothing would read is not read
        r = await jsl_fetch("api", "status", method="POST", body=b"{}", raise_error=False)
    assert r.code == 405 and r.headers["Allow"] == "GET, OPTIONS"
    # A method tornado does not know is refused before the caller is known: the same Allow everywhere.
    for path in ("api/status", "api/nope"):
        with jsl_expect_log(r"^405 PROPFIND"):
            r = await jsl_fetch(
                path, method="PROPFIND", authenticated=False, allow_nonstandard_methods=True, raise_error=False
            )
        assert r.code == 405 and r.headers["Allow"] == "GET, HEAD, POST, DELETE, PATCH, PUT, OPTIONS"


async def test_allow_origin_pat_and_star(jsl_fetch, jsl_server_factory, jsl_expect_log):
    pat = jsl_server_factory(config={"ServerApp": {"allow_origin_pat": r"https://[a-z]+\.example"}}, start=False)
    star = jsl_server_factory(config={"ServerApp": {"allow_origin": "*"}}, start=False)
    await pat.start_server()
    await star.start_server()
    r = await jsl_fetch("api", "status", app=pat, headers={"Origin": "https://lab.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://lab.example"
    assert "Access-Control-Allow-Credentials" not in r.headers  # allow_credentials is off by default
    with jsl_expect_log(r"^403 GET"):  # the pattern must match the whole origin
        refused = await jsl_fetch(
            "api", "status", app=pat, headers={"Origin": "https://lab.example.evil"}, raise_error=False
        )
    assert refused.code == 403
    r = await jsl_fetch("api", "status", app=star, headers={"Origin": "https://anything.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"


# -- JSON errors, bodies, 404s -----------------------------------------------------------


async def test_malformed_json_body_is_a_json_400(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"^400 POST .*not valid JSON"):
        r = await jsl_fetch("api", "test-json", method="POST", body=b"{not json", raise_error=False)
    assert r.code == 400 and json_error(r)["reason"] == "Bad Request"
    with jsl_expect_log(r"^400 POST .*not valid JSON"):
        r = await jsl_fetch("api", "test-json", method="POST", body=b"\xff\xfe", raise_error=False)
    assert r.code == 400
    with jsl_expect_log(r"^400 PUT .*must be a JSON object, not list"):
        r = await jsl_fetch("api", "test-json", method="PUT", body=[1, 2], raise_error=False)
    assert r.code == 400 and "JSON object" in json_error(r)["message"]


async def test_deeply_nested_json_is_a_400(jsl_fetch, jsl_expect_log):
    """json.loads raises RecursionError, not ValueError, on deep nesting."""
    for body in (b"[" * 100_000, b'{"a":' * 50_000):
        with jsl_expect_log(r"^400 POST .*nested too deeply"):
            r = await jsl_fetch("api", "test-json", method="POST", body=body, raise_error=False)
        assert r.code == 400 and "nested too deeply" in json_error(r)["message"]


async def test_json_bodies(jsl_fetch):
    assert json.loads((await jsl_fetch("api", "test-json", method="POST", body=[1])).body) == {"body": [1]}
    assert json.loads((await jsl_fetch("api", "test-json", method="POST")).body) == {"body": None}
    assert json.loads((await jsl_fetch("api", "test-json", method="PUT")).body) == {"object": {}}


@pytest.mark.parametrize("path", ["api/nope", "api/status/extra", "api/kernels/x/y/z", "extension/api/nope"])
async def test_unknown_api_route_is_a_json_404(jsl_fetch, jsl_expect_log, path):
    for method in ("GET", "POST", "DELETE"):
        with jsl_expect_log(rf"^404 {method}"):
            r = await jsl_fetch(path, method=method, raise_error=False)
        assert r.code == 404 and "No API route" in json_error(r)["message"]
    with jsl_expect_log(r"^403 GET"):  # anonymous callers learn nothing about the routes
        r = await jsl_fetch(path, authenticated=False, raise_error=False)
    assert r.code == 403


async def test_unknown_page_is_an_html_404(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"^404 GET"):
        r = await jsl_fetch("no", "such", "page", authenticated=False, raise_error=False)
    assert r.code == 404 and r.headers["Content-Type"].startswith("text/html")
    assert b"404: Not Found" in r.body and b"Jupyter Server Lite" in r.body
    with jsl_expect_log(r"^404 POST"):  # an unknown page is not worth an XSRF refusal
        r = await jsl_fetch("no-such-page", method="POST", raise_error=False)
    assert r.code == 404


MALFORMED_ID_PATHS = [
    "api/kernels/not-a-kernel-id",
    "api/kernels/%FF%FE",
    "api/kernels/..%2F..%2Fetc",
    "api/kernels/00000000-0000-0000-0000-000000000000",
    "api/kernels/not-a-kernel-id/interrupt",
    "api/kernels/%00/restart",
    "api/sessions/not-a-session-id",
    "api/sessions/%FF",
    "api/sessions/%2E%2E",
    "api/kernelspecs/..%2F..",
    "api/kernelspecs/%FF",
    "api/kernelspecs/no-such-kernel",
]


@pytest.mark.parametrize("path", MALFORMED_ID_PATHS)
async def test_malformed_ids_are_json_404s(jsl_serverapp, path, jsl_expect_log):
    """Never an HTML page, never a 500: whichever handler the path reaches."""
    from tornado.httpclient import AsyncHTTPClient

    url = f"http://127.0.0.1:{jsl_serverapp.actual_port}{jsl_serverapp.base_url}{path}"
    headers = {"Authorization": f"token {jsl_serverapp.identity_provider.token}"}
    if path.endswith(("interrupt", "restart")):
        methods = ["POST"]
    else:
        methods = (
            ["GET"]
            if "kernelspecs" in path
            else ["GET", "DELETE", "PATCH"]
            if "sessions" in path
            else ["GET", "DELETE"]
        )
    for method in methods:
        body = b"{}" if method in ("POST", "PATCH") else None
        with jsl_expect_log(r"^404 "):
            r = await AsyncHTTPClient().fetch(url, method=method, headers=headers, body=body, raise_error=False)
        assert r.code == 404, (method, path, r.body)
        json_error(r)


async def test_an_unexpected_bug_is_a_json_500_logged_with_traceback(jsl_fetch, jsl_expect_log):
    with (
        jsl_expect_log(r"Uncaught exception GET .*/api/test-crash", logging.ERROR) as logged,
        jsl_expect_log(r"^500 GET", logging.ERROR),
    ):
        r = await jsl_fetch("api", "test-crash", raise_error=False)
    assert r.code == 500
    body = json_error(r)
    assert "boom" not in body["message"] and "traceback" not in body  # details stay in the log
    assert logged[0].exc_info and "boom" in str(logged[0].exc_info[1])
    assert logged[0].name.startswith("tornado")  # tornado's own logger, routed through the app log
    with jsl_expect_log(r"Uncaught exception", logging.ERROR), jsl_expect_log(r"^500 GET", logging.ERROR):
        page = await jsl_fetch("test-crash-page", raise_error=False)
    assert page.code == 500 and page.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("authenticated", [True, False])
async def test_no_traceback_in_any_body_even_in_debug_mode(
    jsl_fetch, jsl_server_factory, jsl_expect_log, authenticated
):
    """--debug (and tornado's own serve_traceback setting) still keep tracebacks in the log."""
    config = {"ServerApp": {"log_level": "DEBUG", "tornado_settings": {"serve_traceback": True}}}
    app = server_with_routes(
        jsl_server_factory,
        [
            *TEST_ROUTES,
            (r"/api/test-public-crash", PublicCrashingAPIHandler),
            (r"/test-public-crash", PublicCrashingPageHandler),
        ],
        config,
    )
    await app.start_server()
    paths = ["api/test-crash", "test-crash-page"] if authenticated else ["api/test-public-crash", "test-public-crash"]
    for path in paths:
        with jsl_expect_log(r"Uncaught exception", logging.ERROR), jsl_expect_log(r"^500 GET", logging.ERROR):
            r = await jsl_fetch(path, app=app, authenticated=authenticated, raise_error=False)
        assert r.code == 500
        assert b"Traceback" not in r.body and b"boom" not in r.body and b"test_web.py" not in r.body
        if path.startswith("api/"):
            assert set(json_error(r)) == {"message", "reason"}


# -- headers, static files, base_url ---------------------------------------------------


async def test_security_headers(jsl_fetch):
    for path in ("api/status", "", "static/jupyter_server_lite/style.css"):
        r = await jsl_fetch(path)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"]
    assert (await jsl_fetch("api", "status")).headers["Cache-Control"] == "no-store"


async def test_core_static_files_have_the_host_check(jsl_serverapp, jsl_expect_log):
    """The core's static folder (and tornado's /favicon.ico, /robots.txt at the root)
    answer a rebinding page's Host like every other route."""
    from tornado.httpclient import AsyncHTTPClient

    root = f"http://127.0.0.1:{jsl_serverapp.actual_port}"
    for path in (f"{jsl_serverapp.base_url}static/jupyter_server_lite/style.css", "/favicon.ico", "/robots.txt"):
        with jsl_expect_log(r"^403 GET .*Host 'evil\.example' is not allowed"):
            r = await AsyncHTTPClient().fetch(root + path, headers={"Host": "evil.example"}, raise_error=False)
        assert r.code == 403 and b"font-family" not in r.body
        assert r.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["static/jupyter_server_lite/x%00", "static/jupyter_server_lite/style.css%00", "static/dashboard/x%00"]
)
async def test_nul_byte_in_a_static_path_is_a_404(jsl_server_factory, jsl_fetch, jsl_expect_log, path):
    """os.stat refuses a NUL byte with ValueError: a 500 with a traceback, where nothing is found."""
    dashboard = {"ServerApp": {"jpserver_extensions": {"jupyter_server_lite.bundled.dashboard": True}}}
    app = jsl_server_factory(config=dashboard, start=False)
    await app.start_server()
    with jsl_expect_log(r"^404 GET .*the path holds a NUL byte"):
        r = await jsl_fetch(path, app=app, authenticated=False, raise_error=False)
    assert r.code == 404
    assert (await jsl_fetch("static", "dashboard", "dashboard.css", app=app, authenticated=False)).code == 200


async def test_static_files_are_public_and_confined(jsl_fetch, jsl_expect_log):
    r = await jsl_fetch("static", "jupyter_server_lite", "style.css", authenticated=False)
    assert r.code == 200 and b"font-family" in r.body
    for escape in ("..%2F..%2Fserverapp.py", "..%2Ftemplates%2Fpage.html", "%2Fetc%2Fpasswd"):
        with jsl_expect_log(r"^40[34] GET"):
            bad = await jsl_fetch(f"static/jupyter_server_lite/{escape}", authenticated=False, raise_error=False)
        assert bad.code in (403, 404) and b"import" not in bad.body and b"{%" not in bad.body


async def test_landing_page_links_under_base_url(jsl_fetch, jsl_serverapp):
    body = (await jsl_fetch("")).body.decode()
    assert f'href="{jsl_serverapp.base_url}api/status"' in body
    assert f'href="{jsl_serverapp.base_url}static/jupyter_server_lite/style.css?v=' in body


@pytest.mark.parametrize("jsl_base_url", ["/a+b.c/"])
async def test_base_url_is_literal_not_a_pattern(jsl_fetch, jsl_serverapp, jsl_expect_log):
    assert jsl_serverapp.base_url == "/a+b.c/"
    assert (await jsl_fetch("api", "status")).code == 200
    url = f"http://127.0.0.1:{jsl_serverapp.actual_port}/aab.c/api/status"
    from tornado.httpclient import AsyncHTTPClient

    with jsl_expect_log(r"^404 GET /aab\.c/"):
        r = await AsyncHTTPClient().fetch(url, raise_error=False)
    assert r.code == 404


@pytest.mark.parametrize("jsl_base_url", ["/my lab/"])
async def test_base_url_with_a_space_is_served_percent_encoded(jsl_serverapp, jsl_expect_log):
    """Browsers send /my%20lab/: the routes, cookies and links must use that spelling."""
    from tornado.httpclient import AsyncHTTPClient

    assert jsl_serverapp.base_url == "/my%20lab/"
    assert jsl_serverapp.url.endswith(f":{jsl_serverapp.actual_port}/my%20lab/")
    root = f"http://127.0.0.1:{jsl_serverapp.actual_port}/my%20lab/"
    token = jsl_serverapp.identity_provider.token
    r = await AsyncHTTPClient().fetch(f"{root}api/status?token={token}")
    assert r.code == 200 and "Path=/my%20lab/" in r.headers["Set-Cookie"]
    page = await AsyncHTTPClient().fetch(root, follow_redirects=False, raise_error=False)
    assert page.code == 302 and page.headers["Location"] == "/my%20lab/login?next=%2Fmy%2520lab%2F"
    form = await AsyncHTTPClient().fetch(root + "login")
    assert 'href="/my%20lab/static/jupyter_server_lite/style.css' in form.body.decode()


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("/my lab/", "/my%20lab/"),
        ("café", "/caf%C3%A9/"),
        ("/a%40b/", "/a%40b/"),
        ("/100%/", "/100%25/"),
        ("/a|b^[c]/", "/a|b^[c]/"),
    ],
)
def test_base_url_is_stored_as_browsers_send_it(jsl_server_factory, value, stored):
    assert jsl_server_factory(config={"ServerApp": {"base_url": value}}, start=False).base_url == stored


def test_base_url_with_a_backslash_is_refused(jsl_server_factory, jsl_expect_log):
    with jsl_expect_log(r"Bad config encountered", logging.CRITICAL), pytest.raises(SystemExit):
        jsl_server_factory(argv=["--ServerApp.base_url=/a\\b/"], start=False)


@pytest.mark.parametrize(
    ("pieces", "joined"),
    [
        (("/", "api", "status"), "/api/status"),
        (("/a%40b/", "/api/"), "/a%40b/api/"),
        (("a", "b"), "a/b"),
        (("/",), "/"),
        (("", ""), "/"),
        (("/base/", ""), "/base"),
    ],
)
def test_url_path_join(pieces, joined):
    assert url_path_join(*pieces) == joined


# -- logging -------------------------------------------------------------------------


async def test_one_access_log_line_per_request(jsl_fetch, captured, jsl_expect_log):
    await jsl_fetch("api", "status")
    await jsl_fetch("api", "test-json", method="POST", body={})
    with jsl_expect_log(r"^404 GET"):
        await jsl_fetch("api", "nope", raise_error=False)
    with jsl_expect_log(r"^403 GET"):
        await jsl_fetch("api", "status", authenticated=False, raise_error=False)
    with jsl_expect_log(r"Uncaught exception", logging.ERROR), jsl_expect_log(r"^500 GET", logging.ERROR):
        await jsl_fetch("api", "test-crash", raise_error=False)
    lines = captured.access()
    assert len(lines) == 5, lines
    assert re.fullmatch(r"200 GET /a%40b/api/status \(127\.0\.0\.1\) \d+\.\d\dms", lines[0])
    assert lines[1].startswith("200 POST /a%40b/api/test-json ")
    assert lines[2].startswith("404 GET /a%40b/api/nope ") and lines[2].endswith("No API route at /a%40b/api/nope")
    levels = [r.levelno for r in captured.records if r.name == "jupyter_server_lite.access"]
    assert levels == [logging.DEBUG, logging.DEBUG, logging.WARNING, logging.WARNING, logging.ERROR]


async def test_no_secret_in_any_log_line(jsl_fetch, jsl_serverapp, captured, jsl_expect_log):
    token = jsl_serverapp.identity_provider.token
    await jsl_fetch("api", "status", params={"token": token, "other": "kept"}, authenticated=False)
    await jsl_fetch("", params={"token": token}, authenticated=False)
    await jsl_fetch("api", "status")  # header token
    with jsl_expect_log(r"^404 GET"):
        await jsl_fetch("api", "nope", params={"token": token}, raise_error=False)
    with jsl_expect_log(r"^403 GET"):
        await jsl_fetch("api", "status", params={"token": "wrong-" + token}, authenticated=False, raise_error=False)
    with jsl_expect_log(r"^400 POST"):
        await jsl_fetch(
            "api", "test-json", method="POST", params={"token": token}, body=b"{" + token.encode(), raise_error=False
        )
    with jsl_expect_log(r"Failed login"), jsl_expect_log(r"^401 POST"):
        form = await jsl_fetch("login", authenticated=False)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.body.decode()).group(1)
        cookie = form.headers["Set-Cookie"].split(";")[0]
        await jsl_fetch(
            "login",
            method="POST",
            authenticated=False,
            raise_error=False,
            headers={"Cookie": cookie},
            body=f"_xsrf={xsrf}&password=not-{token}",
        )
    lines = captured.lines()
    assert len(captured.access()) == 8
    assert any("token=%5Bsecret%5D" in line or "token=[secret]" in line for line in lines)
    assert any("other=kept" in line for line in lines)
    leaks = [line for line in lines if token in line]
    assert not leaks, leaks


async def test_startup_line_is_the_only_one_with_the_token(jsl_server_factory):
    app = jsl_server_factory(start=False)
    capture = LogCapture()
    app.log.addHandler(capture)
    try:
        await app.start_server()
    finally:
        app.log.removeHandler(capture)
    with_token = [line for line in capture.lines() if app.identity_provider.token in line]
    assert len(with_token) == 1 and "is running at" in with_token[0]
    assert f"http://127.0.0.1:{app.actual_port}/a%40b/?token={app.identity_provider.token}" in with_token[0]


async def test_tornado_log_lines_go_through_the_app_log(jsl_serverapp, captured):
    """A malformed request is logged by tornado itself: that line must reach the
    server's log handlers (and so the console format and the test guard)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", jsl_serverapp.actual_port)
    writer.write(b"GET / HTTP/1.1\r\nThis is not a header\r\n\r\n")
    await writer.drain()
    response = await asyncio.wait_for(reader.read(1024), timeout=10)
    writer.close()
    await writer.wait_closed()
    assert response.startswith(b"HTTP/1.1 400")
    tornado_lines = [r for r in captured.records if r.name.startswith("tornado")]
    assert any("Malformed HTTP" in r.getMessage() for r in tornado_lines), captured.lines()


def test_handlers_default_to_authenticated():
    """Opting out of authentication is an explicit class attribute."""
    assert JupyterHandler.allow_unauthenticated is False
    assert issubclass(APIHandler, web.RequestHandler)


async def test_url_helpers_of_the_fixture(jsl_serverapp):
    assert url_path_join(jsl_serverapp.base_url, "api") == "/a%40b/api"


# -- every route is authenticated unless it opts out, and docs/security.md lists those -------------


def public_routes(app: Any) -> dict[str, type]:
    """Display path (``/api/health``, ``/static/jupyter_server_lite/…``) -> handler, for
    every route of ``app`` that answers without credentials."""

    def walk(router: Any) -> Iterator[tuple[str, type]]:
        for rule in router.rules:
            if hasattr(rule.target, "rules"):
                yield from walk(rule.target)
            else:
                yield rule.matcher.regex.pattern, rule.target

    base = re.escape(app.base_url)
    public = {}
    for pattern, handler in walk(app.web_app.wildcard_router):
        if issubclass(handler, JupyterHandler) and not handler.allow_unauthenticated:
            continue
        path = pattern.removesuffix("$")
        path = "/" + path[len(base) :] if path.startswith(base) else path
        path = path.replace("/?", "").replace("(.*)", "…").replace("\\.", ".").replace("(", "").replace(")", "")
        public[path or "/"] = handler
    return public


def test_public_routes_are_exactly_the_documented_ones(jsl_serverapp):
    text = (Path(__file__).resolve().parents[1] / "docs" / "security.md").read_text(encoding="utf-8")
    section = text.split("## What is public", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))
    public = public_routes(jsl_serverapp)
    assert set(public) == documented, {"undocumented": set(public) - documented, "stale": documented - set(public)}
    from jupyter_server_lite.web.handlers import StaticHandler

    # Every public route opts out explicitly, tornado's static folder included (our StaticHandler).
    assert all(issubclass(h, JupyterHandler) and h.allow_unauthenticated for h in public.values())
    assert public["/static/jupyter_server_lite/…"] is StaticHandler


def concrete_path(pattern: str) -> str:
    """A path that ``pattern`` (a route regex) matches, each group filled with a sample."""
    candidates = ["x", "interrupt", "x/y"]
    path = pattern.removesuffix("$").replace("/?", "")
    for group in re.findall(r"\((?:[^()]|\([^()]*\))*\)", path):
        inner = re.compile(group)
        path = path.replace(group, next(c for c in candidates if inner.fullmatch(c)), 1)
    path = path.replace("\\", "")
    assert re.fullmatch(pattern, path), (pattern, path)
    return path


async def test_every_other_route_requires_credentials(jsl_serverapp, jsl_expect_log):
    """Requesting every route of the real application anonymously: anything not
    documented as public refuses (JSON 403 for APIs, a login redirect for pages)."""
    from tornado.httpclient import AsyncHTTPClient

    public = set(public_routes(jsl_serverapp).values())
    checked = 0
    for rule in jsl_serverapp.web_app.wildcard_router.rules:
        handler = rule.target
        if handler in public or not isinstance(handler, type) or not issubclass(handler, JupyterHandler):
            continue
        url = f"http://127.0.0.1:{jsl_serverapp.actual_port}{concrete_path(rule.matcher.regex.pattern)}"
        for method in ("GET", "POST"):
            body = b"{}" if method == "POST" else None
            if method not in handler.SUPPORTED_METHODS:  # refused by tornado before anything runs
                with jsl_expect_log(rf"^405 {method}"):
                    r = await AsyncHTTPClient().fetch(url, method=method, body=body, raise_error=False)
                assert r.code == 405
            elif method == "GET" and not issubclass(handler, APIHandler):  # a page: off to /login
                r = await AsyncHTTPClient().fetch(url, follow_redirects=False, raise_error=False)
                assert r.code == 302 and "/login?next=" in r.headers["Location"], (url, r.code)
            else:
                with jsl_expect_log(rf"^403 {method}"):
                    r = await AsyncHTTPClient().fetch(url, method=method, body=body, raise_error=False)
                assert r.code == 403, (url, method, r.code)
            checked += 1
    assert checked >= 20  # status, me, kernels, sessions, kernelspecs, extensions, the landing page...


def test_a_handler_whose_prepare_skips_the_admission_is_refused():
    """A plain ``def prepare`` calling the base's coroutine would never run the admission."""
    with pytest.raises(TypeError, match=r"prepare must be a coroutine .* await super\(\)\.prepare\(\)"):

        class Forgetful(APIHandler):
            def prepare(self) -> None:
                super().prepare()

    class Careful(APIHandler):
        async def prepare(self) -> None:
            await super().prepare()

    assert Careful.allow_unauthenticated is False


async def test_tornado_settings_headers_are_on_every_answer(jsl_server_factory, jsl_fetch, jsl_expect_log):
    headers = {"X-Served-By": "test", "Content-Security-Policy": "frame-ancestors 'none'"}
    app = jsl_server_factory(config={"ServerApp": {"tornado_settings": {"headers": headers}}}, start=False)
    await app.start_server()
    r = await jsl_fetch("api", "status", app=app)
    assert r.headers["X-Served-By"] == "test" and r.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert r.headers["X-Content-Type-Options"] == "nosniff"  # the defaults stay
    with jsl_expect_log(r"^404 GET"):
        r = await jsl_fetch("api", "nothing-here", app=app, raise_error=False)
    assert r.code == 404 and r.headers["X-Served-By"] == "test"
