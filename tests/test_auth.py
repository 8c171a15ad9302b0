"""Authentication: token (header, query, cookie), password login, logout, XSRF.

Real HTTP against a server on 127.0.0.1 under the awkward base_url
``/a%40b/``.  A tiny JSON POST endpoint is mounted through
``make_application(extra_routes=...)`` so unsafe methods can be exercised.
"""

from __future__ import annotations

import asyncio
import json
import re
from http.cookies import SimpleCookie
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from support import capture_logs, server_with_routes
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.web import HTTPError

from jupyter_server_lite.auth import IdentityProvider, User, passwd, passwd_check
from jupyter_server_lite.listen import StartupError
from jupyter_server_lite.web.handlers import APIHandler

PASSWORD = "correct horse battery staple"


class EchoHandler(APIHandler):
    """POST: echo the JSON body and how the caller was identified."""

    def post(self) -> None:
        self.finish_json({"body": self.get_json_body(), "auth": self.auth_method})


def with_echo(factory: Any, config: dict[str, Any] | None = None) -> Any:
    """A server (not started yet) with ``POST /api/test-echo`` mounted."""
    return server_with_routes(factory, [(r"/api/test-echo", EchoHandler)], config)


@pytest.fixture
def jsl_serverapp(jsl_server_factory: Any, io_loop: Any) -> Any:
    """The default server of this module, with the echo endpoint mounted."""
    app = with_echo(jsl_server_factory)
    io_loop.run_sync(app.start_server)
    return app


def cookies_of(response: HTTPResponse) -> dict[str, Any]:
    """name -> Morsel for every Set-Cookie header of a response."""
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("Set-Cookie"):
        jar.load(header)
    return dict(jar)


def cookie_header(*responses: HTTPResponse) -> str:
    """A Cookie request header carrying every cookie the responses set."""
    pairs = {}
    for response in responses:
        pairs.update({name: morsel.value for name, morsel in cookies_of(response).items()})
    return "; ".join(f"{name}={value}" for name, value in pairs.items())


def auth_cookie_name(app: Any) -> str:
    return f"jsl-auth-{app.actual_port}"


# -- token --------------------------------------------------------------------


async def test_token_in_authorization_header(jsl_fetch, jsl_serverapp):
    r = await jsl_fetch("api", "status")
    assert r.code == 200
    assert "Set-Cookie" not in r.headers  # an API client with a header needs no cookie
    for scheme in ("token", "Token", "Bearer"):
        headers = {"Authorization": f"{scheme} {jsl_serverapp.identity_provider.token}"}
        assert (await jsl_fetch("api", "status", headers=headers)).code == 200


async def test_wrong_token_is_refused_with_json_403(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"^403 GET .*/api/status"):
        r = await jsl_fetch("api", "status", headers={"Authorization": "token nope"}, raise_error=False)
    assert r.code == 403
    assert r.headers["Content-Type"] == "application/json"
    body = json.loads(r.body)
    assert body["reason"] == "Forbidden" and "Authorization: token" in body["message"]


async def test_missing_token_is_refused_with_json_403(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"^403 GET .*/api/me"):
        r = await jsl_fetch("api", "me", authenticated=False, raise_error=False)
    assert r.code == 403
    assert set(json.loads(r.body)) == {"message", "reason"}


async def test_query_token_sets_a_cookie_that_works_alone(jsl_fetch, jsl_serverapp, jsl_expect_log):
    token = jsl_serverapp.identity_provider.token
    r = await jsl_fetch("api", "status", params={"token": token}, authenticated=False)
    cookie = cookies_of(r)[auth_cookie_name(jsl_serverapp)]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == jsl_serverapp.base_url
    assert token not in cookie.value
    r = await jsl_fetch("api", "me", authenticated=False, headers={"Cookie": cookie_header(r)})
    assert json.loads(r.body)["identity"]["username"] == jsl_serverapp.identity_provider.username
    # A cookie that was not signed by this server is worthless.
    forged = f"{auth_cookie_name(jsl_serverapp)}={jsl_serverapp.identity_provider.username}"
    with jsl_expect_log(r"^403 GET"):
        r = await jsl_fetch("api", "me", authenticated=False, headers={"Cookie": forged}, raise_error=False)
    assert r.code == 403


async def test_wrong_query_token_sets_no_cookie(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"^403 GET"):
        r = await jsl_fetch("api", "status", params={"token": "nope"}, authenticated=False, raise_error=False)
    assert r.code == 403 and "Set-Cookie" not in r.headers


async def test_cookie_from_another_server_is_refused(jsl_fetch, jsl_serverapp, jsl_server_factory, jsl_expect_log):
    """Each server signs with its own secret and names the cookie after its port."""
    other = jsl_server_factory(start=False)
    await other.start_server()
    r = await jsl_fetch(
        "api", "status", params={"token": other.identity_provider.token}, authenticated=False, app=other
    )
    assert auth_cookie_name(other) in cookies_of(r)
    assert auth_cookie_name(other) != auth_cookie_name(jsl_serverapp)
    # Even sent under this server's cookie name, the other server's signature fails.
    value = cookies_of(r)[auth_cookie_name(other)].value
    with jsl_expect_log(r"^403 GET"):
        refused = await jsl_fetch(
            "api",
            "status",
            authenticated=False,
            raise_error=False,
            headers={"Cookie": f"{auth_cookie_name(jsl_serverapp)}={value}"},
        )
    assert refused.code == 403


async def test_configured_token_is_used(jsl_server_factory, jsl_fetch):
    app = jsl_server_factory(argv=["--token=s3cret-token"], start=False)
    await app.start_server()
    assert app.identity_provider.token == "s3cret-token" and not app.identity_provider.token_generated
    r = await jsl_fetch("api", "status", headers={"Authorization": "token s3cret-token"}, app=app)
    assert r.code == 200


def test_generated_tokens_differ_per_start(jsl_server_factory):
    first = jsl_server_factory(start=False).identity_provider
    second = jsl_server_factory(start=False).identity_provider
    assert first.token_generated and second.token_generated
    assert len(first.token) >= 32 and first.token != second.token


# -- pages and login ------------------------------------------------------------


async def test_anonymous_page_redirects_to_login(jsl_fetch, jsl_serverapp):
    r = await jsl_fetch("/", authenticated=False, params={"x": "1"}, raise_error=False)
    assert r.code == 302
    location = urlparse(r.headers["Location"])
    assert location.path == jsl_serverapp.base_url + "login"
    assert parse_qs(location.query)["next"] == [jsl_serverapp.base_url + "?x=1"]


async def test_anonymous_page_post_is_refused_not_redirected(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"^403 POST"):
        r = await jsl_fetch("", method="POST", authenticated=False, raise_error=False)
    assert r.code == 403 and r.headers["Content-Type"].startswith("text/html")


async def test_landing_page_with_token_header(jsl_fetch):
    r = await jsl_fetch("")
    assert r.code == 200 and b"Jupyter Server Lite is running" in r.body


async def login(fetch: Any, password: str, next_url: str | None = None, **kwargs: Any) -> HTTPResponse:
    """GET the form (for its _xsrf cookie and field), then POST it like a browser."""
    form = await fetch("login", authenticated=False)
    assert form.code == 200 and b'name="password"' in form.body
    xsrf = cookies_of(form)["_xsrf"].value
    params = {"next": next_url} if next_url is not None else None
    body = urlencode({"password": password, "_xsrf": xsrf})
    return await fetch(
        "login",
        method="POST",
        body=body,
        params=params,
        authenticated=False,
        raise_error=False,
        headers={"Cookie": cookie_header(form)},
        **kwargs,
    )


@pytest.fixture
def password_app(jsl_server_factory: Any, io_loop: Any) -> Any:
    app = with_echo(jsl_server_factory, {"IdentityProvider": {"hashed_password": passwd(PASSWORD)}})
    io_loop.run_sync(app.start_server)
    return app


async def test_password_login_sets_the_cookie(jsl_fetch, password_app):
    assert password_app.identity_provider.token == ""  # a password replaces the random token
    r = await login(lambda *a, **k: jsl_fetch(*a, app=password_app, **k), PASSWORD, password_app.base_url + "api/me")
    assert r.code == 302 and r.headers["Location"] == password_app.base_url + "api/me"
    me = await jsl_fetch("api", "me", app=password_app, authenticated=False, headers={"Cookie": cookie_header(r)})
    assert json.loads(me.body)["identity"]["username"] == password_app.identity_provider.username


async def test_token_works_on_the_login_form(jsl_fetch, jsl_serverapp):
    r = await login(jsl_fetch, jsl_serverapp.identity_provider.token)
    assert r.code == 302 and r.headers["Location"] == jsl_serverapp.base_url
    assert auth_cookie_name(jsl_serverapp) in cookies_of(r)


async def test_failed_login_is_401_and_logs_no_password(jsl_fetch, password_app, jsl_expect_log):
    with jsl_expect_log("Failed login attempt") as failed, jsl_expect_log(r"^401 POST"):
        r = await login(lambda *a, **k: jsl_fetch(*a, app=password_app, **k), "wrong-guess")
    assert r.code == 401 and b"Invalid password or token" in r.body
    assert auth_cookie_name(password_app) not in cookies_of(r)
    assert all("wrong-guess" not in record.getMessage() for record in failed)


async def test_login_post_without_xsrf_is_refused(jsl_fetch, jsl_serverapp, jsl_expect_log):
    body = urlencode({"password": jsl_serverapp.identity_provider.token})
    with jsl_expect_log(r"^403 POST .*/login.*XSRF"):
        r = await jsl_fetch("login", method="POST", body=body, authenticated=False, raise_error=False)
    assert r.code == 403 and "Set-Cookie" not in r.headers


@pytest.mark.parametrize(
    "next_url",
    [
        "http://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "https:/evil.example",
        "/outside-base-url/",
        "",
    ],
)
async def test_next_never_leaves_the_site(jsl_fetch, jsl_serverapp, next_url):
    r = await login(jsl_fetch, jsl_serverapp.identity_provider.token, next_url)
    assert r.code == 302 and r.headers["Location"] == jsl_serverapp.base_url


async def test_login_page_when_logged_in_follows_next(jsl_fetch, jsl_serverapp):
    target = jsl_serverapp.base_url + "api/status"
    r = await jsl_fetch("login", params={"next": target}, raise_error=False)
    assert r.code == 302 and r.headers["Location"] == target


async def test_logout_clears_the_cookie(jsl_fetch, jsl_serverapp, jsl_expect_log):
    r = await login(jsl_fetch, jsl_serverapp.identity_provider.token)
    out = await jsl_fetch("logout", authenticated=False, headers={"Cookie": cookie_header(r)})
    assert b"Logged out" in out.body
    cleared = cookies_of(out)[auth_cookie_name(jsl_serverapp)]
    assert cleared.value == "" and cleared["path"] == jsl_serverapp.base_url
    assert cleared["expires"]  # in the past: the browser drops it


# -- XSRF -------------------------------------------------------------------------


async def cookie_session(fetch: Any, app: Any) -> tuple[str, str]:
    """Log in like a browser following the start-up link: (Cookie header, _xsrf value).

    The landing page with ``?token=`` sets the login cookie; the login form
    (rendered for an anonymous visitor) sets the ``_xsrf`` cookie.
    """
    # a 302 when / goes on to a frontend (JupyterLab, when its assets are found): the cookie is set all the same
    logged_in = await fetch("", params={"token": app.identity_provider.token}, authenticated=False, raise_error=False)
    form = await fetch("login", authenticated=False)
    return cookie_header(logged_in, form), cookies_of(form)["_xsrf"].value


async def test_cookie_post_without_xsrf_is_refused(jsl_fetch, jsl_serverapp, jsl_expect_log):
    cookies, _xsrf = await cookie_session(jsl_fetch, jsl_serverapp)
    with jsl_expect_log(r"^403 POST .*XSRF"):
        r = await jsl_fetch(
            "api",
            "test-echo",
            method="POST",
            body={"a": 1},
            authenticated=False,
            headers={"Cookie": cookies},
            raise_error=False,
        )
    assert r.code == 403
    assert "XSRF" in json.loads(r.body)["message"]


async def test_cookie_post_with_xsrf_header_is_accepted(jsl_fetch, jsl_serverapp):
    cookies, xsrf = await cookie_session(jsl_fetch, jsl_serverapp)
    r = await jsl_fetch(
        "api",
        "test-echo",
        method="POST",
        body={"a": 1},
        authenticated=False,
        headers={"Cookie": cookies, "X-XSRFToken": xsrf},
    )
    assert json.loads(r.body) == {"body": {"a": 1}, "auth": "cookie"}


async def test_token_authenticated_post_needs_no_xsrf(jsl_fetch, jsl_serverapp):
    r = await jsl_fetch("api", "test-echo", method="POST", body={"a": 1})
    assert json.loads(r.body)["auth"] == "header"
    r = await jsl_fetch(
        "api",
        "test-echo",
        method="POST",
        body={"a": 2},
        params={"token": jsl_serverapp.identity_provider.token},
        authenticated=False,
    )
    assert json.loads(r.body) == {"body": {"a": 2}, "auth": "query"}


async def test_anonymous_post_is_refused_for_auth_not_xsrf(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"^403 POST .*Authentication required"):
        r = await jsl_fetch("api", "test-echo", method="POST", body={}, authenticated=False, raise_error=False)
    assert "Authentication required" in json.loads(r.body)["message"]


async def test_xsrf_check_can_be_disabled(jsl_fetch, jsl_server_factory):
    app = with_echo(jsl_server_factory, {"ServerApp": {"disable_check_xsrf": True}})
    await app.start_server()
    cookies, _xsrf = await cookie_session(lambda *a, **k: jsl_fetch(*a, app=app, **k), app)
    r = await jsl_fetch(
        "api", "test-echo", method="POST", body={}, app=app, authenticated=False, headers={"Cookie": cookies}
    )
    assert json.loads(r.body)["auth"] == "cookie"


async def test_without_auth_everyone_is_the_user_but_xsrf_still_applies(jsl_fetch, jsl_server_factory, jsl_expect_log):
    """token='' and no password: anyone reaching the port is the user, so
    another site's forged POST must still be refused."""
    app = with_echo(jsl_server_factory, {"IdentityProvider": {"token": ""}})
    with jsl_expect_log("AUTHENTICATION IS OFF"):
        await app.start_server()
    assert not app.identity_provider.auth_enabled
    r = await jsl_fetch("api", "status", app=app)
    assert r.code == 200
    with jsl_expect_log(r"^403 POST .*XSRF"):
        refused = await jsl_fetch("api", "test-echo", method="POST", body={}, app=app, raise_error=False)
    assert refused.code == 403
    # Double submit: the same _xsrf value as a cookie and a header (as a page's script does).
    token = "0123456789abcdef"
    ok = await jsl_fetch(
        "api", "test-echo", method="POST", body={}, app=app, headers={"Cookie": f"_xsrf={token}", "X-XSRFToken": token}
    )
    assert json.loads(ok.body)["auth"] == "none"


# -- password hashing ----------------------------------------------------------


def test_passwd_round_trip():
    hashed = passwd(PASSWORD)
    assert hashed.startswith("pbkdf2_sha256$") and PASSWORD not in hashed
    assert passwd_check(hashed, PASSWORD)
    assert not passwd_check(hashed, PASSWORD + "!")
    assert passwd(PASSWORD) != hashed  # salted


@pytest.mark.parametrize("bad", ["", "plain", "sha1$1$salt$abc", "pbkdf2_sha256$x$salt$abc", "pbkdf2_sha256$0$s$abc"])
def test_malformed_hash_never_matches(bad):
    assert not passwd_check(bad, "")
    assert not passwd_check(bad, "plain")


def test_empty_password_is_refused():
    with pytest.raises(ValueError, match="empty"):
        passwd("")


# -- the login cookie is bound to the credentials that issued it -------------------------

FIXED = {"ServerApp": {"cookie_secret": "a-fixed-secret-" * 4}, "IdentityProvider": {"cookie_name": "jsl-test-auth"}}


async def start_with(factory: Any, **identity: str) -> Any:
    """A started server with the fixed cookie secret and name, and these IdentityProvider traits."""
    app = factory(config={**FIXED, "IdentityProvider": {**FIXED["IdentityProvider"], **identity}}, start=False)
    await app.start_server()
    return app


async def test_login_cookie_dies_with_the_token_that_issued_it(jsl_server_factory, jsl_fetch, jsl_expect_log):
    """With a fixed cookie_secret a cookie survives a restart -- but not a new token."""
    first = await start_with(jsl_server_factory, token="the-first-token")
    r = await jsl_fetch("api", "status", app=first, params={"token": "the-first-token"}, authenticated=False)
    cookie = {"Cookie": cookie_header(r)}
    restarted = await start_with(jsl_server_factory, token="the-first-token")
    assert (await jsl_fetch("api", "me", app=restarted, authenticated=False, headers=cookie)).code == 200
    changed = await start_with(jsl_server_factory, token="a-new-token")
    with jsl_expect_log(r"^403 GET"):
        r = await jsl_fetch("api", "me", app=changed, authenticated=False, headers=cookie, raise_error=False)
    assert r.code == 403


async def test_login_cookie_dies_with_the_password_that_issued_it(jsl_server_factory, jsl_fetch, jsl_expect_log):
    old_hash = passwd("the old password")
    first = await start_with(jsl_server_factory, hashed_password=old_hash)
    r = await login(lambda *a, **k: jsl_fetch(*a, app=first, **k), "the old password")
    assert r.code == 302
    cookie = {"Cookie": cookie_header(r)}
    assert (await jsl_fetch("api", "me", app=first, authenticated=False, headers=cookie)).code == 200
    changed = await start_with(jsl_server_factory, hashed_password=passwd("a new password"))
    with jsl_expect_log(r"^403 GET"):
        r = await jsl_fetch("api", "me", app=changed, authenticated=False, headers=cookie, raise_error=False)
    assert r.code == 403
    value = cookies_of(r)  # the refused cookie is not renewed
    assert "jsl-test-auth" not in value


# -- password checks: off the event loop, with a per-client backoff ------------------------------

#: A valid hash that takes ~10x a normal check to refuse (3,000,000 PBKDF2 rounds).
SLOW_HASH = "pbkdf2_sha256$3000000$00$" + "00" * 32


async def test_password_check_runs_off_the_event_loop(jsl_server_factory, jsl_fetch, jsl_expect_log):
    """While a (slow) password check runs, the server answers other requests."""
    app = await start_with(jsl_server_factory, hashed_password=SLOW_HASH)
    done: list[str] = []

    async def attempt() -> None:
        with jsl_expect_log("Failed login attempt"), jsl_expect_log(r"^401 POST"):
            r = await login(lambda *a, **k: jsl_fetch(*a, app=app, **k), "a guess")
        done.append(f"login {r.code}")

    guess = asyncio.ensure_future(attempt())
    await asyncio.sleep(0.3)  # the form is fetched and posted; the check is running
    r = await jsl_fetch("api", "health", app=app, authenticated=False)
    done.append(f"health {r.code}")
    await guess
    assert done == ["health 200", "login 401"]


async def test_failed_logins_back_off_per_client(jsl_fetch, password_app, jsl_expect_log):
    def attempt(password: str) -> Any:
        return login(lambda *a, **k: jsl_fetch(*a, app=password_app, **k), password)

    failed = r"Failed login attempt from 127\.0\.0\.1 \(1 in a row; the next is checked after 1s\)"
    with jsl_expect_log(failed), jsl_expect_log(r"^401 POST"):
        assert (await attempt("wrong")).code == 401
    refused = r"Login attempt from 127\.0\.0\.1 refused unchecked: it must wait 1s"
    with jsl_expect_log(refused), jsl_expect_log(r"^429 POST"):
        r = await attempt(PASSWORD)  # even the right password waits: it is not checked
    assert r.code == 429 and r.headers["Retry-After"] == "1" and b"try again in 1 seconds" in r.body
    await asyncio.sleep(1.05)
    assert (await attempt(PASSWORD)).code == 302  # and a success forgets the failures
    assert len(password_app.identity_provider.login_throttle) == 0


def test_login_throttle_delays_grow_and_its_table_is_bounded():
    from jupyter_server_lite.auth.throttle import LoginThrottle

    now = [0.0]
    throttle = LoginThrottle(max_clients=3, max_delay=8.0, forget_after=100.0, clock=lambda: now[0])
    assert throttle.retry_after("a") == 0
    assert [throttle.failed("a") for _ in range(5)] == [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0)]
    assert throttle.retry_after("a") == 8.0
    now[0] = 5.0
    assert throttle.retry_after("a") == 3.0
    for client in ("b", "c", "d"):  # a fourth address pushes out the one that failed longest ago
        throttle.failed(client)
    assert len(throttle) == 3 and throttle.retry_after("a") == 0 and throttle.retry_after("b") > 0
    throttle.succeeded("b")
    assert throttle.retry_after("b") == 0 and len(throttle) == 2
    now[0] = 200.0  # forgotten after forget_after without a failure
    assert throttle.retry_after("c") == 0 and throttle.failed("d") == (1, 1.0)


# -- where the token comes from ---------------------------------------------------------------


def test_token_from_the_environment_in_jupyter_servers_order(jsl_server_factory, monkeypatch, tmp_path):
    """config/CLI > JUPYTER_TOKEN > JUPYTER_TOKEN_FILE > random, so a fixed token
    need not be on the command line (where ps shows it)."""
    token_file = tmp_path / "token"
    token_file.write_text("  from-the-file  \nsecond line ignored\n")
    monkeypatch.setenv("JUPYTER_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("JUPYTER_TOKEN", "from-the-environment")
    assert jsl_server_factory(start=False).identity_provider.token == "from-the-environment"
    assert jsl_server_factory(argv=["--token=from-the-cli"], start=False).identity_provider.token == "from-the-cli"
    monkeypatch.setenv("JUPYTER_TOKEN", "")  # empty: not set (never "authentication off")
    provider = jsl_server_factory(start=False).identity_provider
    assert provider.token == "from-the-file" and not provider.token_generated
    monkeypatch.delenv("JUPYTER_TOKEN_FILE")
    assert jsl_server_factory(start=False).identity_provider.token_generated


async def test_a_chosen_token_is_never_logged(jsl_server_factory, monkeypatch):
    monkeypatch.setenv("JUPYTER_TOKEN", "from-the-environment")
    app = jsl_server_factory(start=False)
    with capture_logs(app.log) as captured:
        await app.start_server()
    assert app.display_url.endswith("/a%40b/?token=...")
    assert not [line for line in captured.lines() if "from-the-environment" in line]
    assert app.server_info()["token"] == "from-the-environment"  # the owner-only runtime file has it


@pytest.mark.parametrize(("content", "problem"), [(None, "No such file or directory"), ("\n  \n", "holds no token")])
def test_unusable_token_file_stops_the_start_naming_it(jsl_server_factory, monkeypatch, tmp_path, content, problem):
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    monkeypatch.setenv("JUPYTER_TOKEN_FILE", str(token_file))
    with pytest.raises(StartupError, match=f"token file {re.escape(str(token_file))} .*{problem}"):
        jsl_server_factory(start=False)


# -- cookies and redirects, as a browser sees them ----------------------------------------------


async def test_xsrf_cookie_flags(jsl_fetch, jsl_serverapp):
    form = await jsl_fetch("login", authenticated=False)
    xsrf = cookies_of(form)["_xsrf"]
    assert xsrf["samesite"] == "Lax" and xsrf["path"] == jsl_serverapp.base_url
    assert not xsrf["httponly"]  # JupyterLab's client reads it
    assert not xsrf["secure"]  # plain http here; https sets it (test_cli.py)


async def test_next_is_percent_encoded_in_the_redirect(jsl_fetch, jsl_serverapp):
    r = await login(jsl_fetch, jsl_serverapp.identity_provider.token, jsl_serverapp.base_url + "notebooks/café€.ipynb")
    assert r.code == 302
    assert r.headers["Location"] == jsl_serverapp.base_url + "notebooks/caf%C3%A9%E2%82%AC.ipynb"


# -- a provider that asks elsewhere (as JupyterHub mode does) -----------------------------


class AskElsewhere(IdentityProvider):
    """Answers later (an awaitable), as a provider asking a remote service would;
    records what the server asked of it."""

    asked: ClassVar[list[str]] = []

    def get_user(self, handler: Any) -> Any:
        header = handler.request.headers.get("Authorization", "")
        if not header:
            return None, None  # nothing to ask about: answered at once

        async def ask() -> tuple[User | None, str | None]:
            await asyncio.sleep(0.01)
            self.asked.append(header)
            if header == "token remote-bob":
                raise HTTPError(403, "bob may not use this server")
            return (User(username="remote-alice"), "header") if header == "token remote-alice" else (None, None)

        return ask()

    async def start(self, serverapp: Any) -> None:
        self.asked.append("start")

    async def stop(self) -> None:
        await super().stop()
        self.asked.append("stop")


async def test_a_provider_may_answer_later_and_is_asked_after_host_and_origin(jsl_server_factory, jsl_expect_log):
    AskElsewhere.asked.clear()
    app = jsl_server_factory(config={"ServerApp": {"identity_provider_class": AskElsewhere}}, start=False)
    await app.start_server()
    assert AskElsewhere.asked == ["start"]
    url = f"http://127.0.0.1:{app.actual_port}{app.base_url}api/me"
    client = AsyncHTTPClient()
    r = await client.fetch(url, headers={"Authorization": "token remote-alice"})
    assert json.loads(r.body)["identity"]["username"] == "remote-alice"
    with jsl_expect_log(r"^403 GET .*bob may not use this server"):
        r = await client.fetch(url, headers={"Authorization": "token remote-bob"}, raise_error=False)
    assert r.code == 403 and json.loads(r.body)["message"] == "bob may not use this server"
    with jsl_expect_log(r"^403 GET .*Authentication required"):
        r = await client.fetch(url, headers={"Authorization": "token nobody"}, raise_error=False)
    assert r.code == 403
    asked = len(AskElsewhere.asked)
    with jsl_expect_log(r"^403 GET .*Host 'evil.example' is not allowed"):
        r = await client.fetch(
            url, headers={"Authorization": "token remote-alice", "Host": "evil.example"}, raise_error=False
        )
    with jsl_expect_log(r"^403 GET .*Cross-origin"):
        r = await client.fetch(
            url, headers={"Authorization": "token remote-alice", "Origin": "https://evil.example"}, raise_error=False
        )
    assert len(AskElsewhere.asked) == asked, "refused by Host or Origin before the provider was asked"
    await app.stop_server()
    assert AskElsewhere.asked[-1] == "stop"
