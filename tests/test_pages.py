"""The core's own pages and their assets (web/pages.py): the landing page, the favicon, and ``/``
as the way in -- the choice of ServerApp.default_url (extension/manager.py)."""

from __future__ import annotations

import logging

import pytest
from tornado.httpclient import AsyncHTTPClient
from traitlets import default

from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.extension.handler import ExtensionAPIHandler, ExtensionHandler
from jupyter_server_lite.extension.mount import Mount


async def test_favicon_is_public_cacheable_and_the_pages_icon(jsl_serverapp, jsl_fetch):
    """Browsers ask for /favicon.ico on every visit: it must answer (no 404 in the log), to anyone."""
    url = f"http://127.0.0.1:{jsl_serverapp.actual_port}/favicon.ico"
    r = await AsyncHTTPClient().fetch(url)
    assert r.code == 200 and r.body[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert r.headers["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    etag = r.headers["Etag"]
    again = await AsyncHTTPClient().fetch(url, headers={"If-None-Match": etag}, raise_error=False)
    assert again.code == 304  # cached by the browser, revalidated for free
    page = (await jsl_fetch("")).body.decode()
    assert '<link rel="icon" href="/a%40b/static/jupyter_server_lite/favicon.ico?v=' in page


# -- / and default_url ----------------------------------------------------------------------


class FrontPage(ExtensionHandler):
    def get(self, *args) -> None:
        self.finish(f"<h1>front page of {self.extension_app.name}</h1>")


class Api(ExtensionAPIHandler):
    def get(self) -> None:
        self.finish_json({})


def frontend(name: str, priority: int, landing: str = "", prefixes: tuple[str, ...] = ()) -> type[ExtensionApp]:
    """An ExtensionApp with a page at /<name>/ and at each page prefix, landing at ``landing``."""
    attrs = {
        "name": name,
        "frontend_priority": priority,
        "page_prefixes": prefixes,
        "handlers": [("/?", FrontPage), *(Mount(p, [(r"(/.*)?", FrontPage)]) for p in prefixes)],
        "__module__": __name__,
    }
    if landing:
        attrs["_default_extension_url"] = default("extension_url")(lambda self: landing)
    return type(f"Front_{name}", (ExtensionApp,), attrs)


async def root(fetch, app, **kwargs):
    return await fetch("", app=app, raise_error=False, **kwargs)


async def test_without_a_frontend_root_is_the_core_page(jsl_server_factory, jsl_fetch):
    app = jsl_server_factory(extensions=[frontend("plain", 0)], start=False)
    await app.start_server()
    assert app.default_url == "/"
    r = await root(jsl_fetch, app)
    assert r.code == 200 and b"Jupyter Server Lite is running" in r.body
    assert f'<a href="{app.base_url}plain/">plain</a>'.encode() in r.body


@pytest.mark.parametrize("order", [1, -1])
async def test_root_goes_to_the_frontend_with_the_highest_priority(jsl_server_factory, jsl_fetch, order):
    fronts = [frontend("lowfront", 10), frontend("highfront", 20, "/tree", ("tree",)), frontend("plain", 0)]
    app = jsl_server_factory(extensions=fronts[::order], start=False)
    await app.start_server()
    assert app.default_url == "/tree"
    r = await root(jsl_fetch, app, params={"a": "1"})
    assert r.code == 302 and r.headers["Location"] == f"{app.base_url}tree?a=1"  # the query goes along
    assert b"front page of highfront" in (await jsl_fetch("tree", app=app)).body
    # the printed (and opened) start-up URL follows
    assert app.display_url.startswith(f"{app.url}tree?token=")


async def test_a_tie_goes_to_the_first_in_load_order(jsl_server_factory):
    app = jsl_server_factory(extensions=[frontend("zfront", 5), frontend("afront", 5)], start=False)
    assert app.default_url == "/afront/"


async def test_a_frontend_without_a_page_is_no_landing_page(jsl_server_factory):
    api_only = type("ApiOnly", (ExtensionApp,), {"name": "apionly", "frontend_priority": 99, "handlers": [("/x", Api)]})
    app = jsl_server_factory(extensions=[api_only, frontend("front", 1)], start=False)
    assert app.extension_manager.get("apionly").landing_url == ""
    assert app.default_url == "/front/"


@pytest.mark.parametrize(("configured", "code"), [("/front/", 302), ("/", 200)])
async def test_default_url_set_by_the_user_always_wins(jsl_server_factory, jsl_fetch, configured, code):
    app = jsl_server_factory(
        config={"ServerApp": {"default_url": configured}},
        extensions=[frontend("front", 1), frontend("better", 50)],
        start=False,
    )
    await app.start_server()
    assert app.default_url == configured
    r = await root(jsl_fetch, app)
    assert r.code == code
    if code == 302:
        assert r.headers["Location"] == f"{app.base_url}front/"
    assert app.display_url.startswith(f"{app.url}{configured.lstrip('/')}?token=")


async def test_root_still_needs_credentials(jsl_server_factory, jsl_fetch):
    app = jsl_server_factory(extensions=[frontend("front", 1)], start=False)
    await app.start_server()
    r = await root(jsl_fetch, app, authenticated=False)
    assert r.code == 302 and r.headers["Location"].startswith(f"{app.base_url}login?next=")


def test_the_starter_wins_over_any_frontend(jsl_dirs):
    from jupyter_server_lite.serverapp import ServerApp

    starter = frontend("starterfront", 0, "/starterfront/here")
    serverapp = starter.make_serverapp()
    try:
        serverapp.register_extension(frontend("better", 50))
        serverapp.initialize(["--port=0", "--no-browser"])
        assert serverapp.default_url == "/starterfront/here"
    finally:
        ServerApp.clear_instance()


def test_a_landing_page_outside_the_own_pages_fails_that_extension(jsl_server_factory, jsl_expect_log):
    elsewhere = frontend("elsewhere", 1, "/api/status")
    with jsl_expect_log(
        r"Extension elsewhere failed \(load\): mounting routes: MountError: extension_url '/api/status' "
        r"is not below a page prefix elsewhere owns \(/elsewhere\)",
        logging.ERROR,
    ):
        app = jsl_server_factory(extensions=[elsewhere], start=False)
    assert app.default_url == "/"
