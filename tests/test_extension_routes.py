"""Namespaced mounting (extension/mount.py): routes land in their namespace and nowhere else."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError
from tornado.web import HTTPError
from tornado.websocket import WebSocketHandler

from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.extension.handler import ExtensionAPIHandler, ExtensionHandler
from jupyter_server_lite.extension.mount import (
    RESERVED_NAMES,
    Mount,
    MountError,
    check_name,
    check_pattern,
    core_names,
)
from jupyter_server_lite.web.handlers import APIHandler

EXTENSIONS = Path(__file__).parent / "extensions"


@pytest.fixture(autouse=True)
def _test_extensions_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(EXTENSIONS))


@pytest.fixture
def jsl_server_extensions():
    return ["ext_hello"]


class Pong(ExtensionAPIHandler):
    def get(self, *args) -> None:
        self.finish_json({"pong": self.extension_name, "args": list(args)})


def app_with(name: str, handlers: list) -> type[ExtensionApp]:
    return type(f"App_{name}", (ExtensionApp,), {"name": name, "handlers": handlers, "__module__": __name__})


def record_of(serverapp, name):
    record = serverapp.extension_manager.get(name)
    assert record is not None, [r.name for r in serverapp.extension_manager.records]
    return record


# -- routes land in their namespaces -------------------------------------------


async def test_page_api_and_static_land_in_their_namespaces(jsl_fetch, jsl_serverapp):
    record = record_of(jsl_serverapp, "hello")
    assert record.state == "loaded", record.error
    assert record.routes == [
        "/hello/?",
        "/hello/core",
        "/hello/public",
        "/extension/api/hello/greet/([^/]+)",
        "/static/hello/(.*)",
    ]
    page = await jsl_fetch("hello", "")
    assert '<h1 id="greeting">Hello from hello</h1>' in page.body.decode()
    api = json.loads((await jsl_fetch("extension", "api", "hello", "greet", "ann")).body)
    assert api["greeting"] == "Hello, ann!"
    js = await jsl_fetch("static", "hello", "hello.js")
    assert b"hello from ext_hello" in js.body


async def test_routes_do_not_answer_outside_their_namespace(jsl_fetch, jsl_expect_log):
    # The page handler is not an API, the API is not a page, and nothing is at the top level.
    for parts in (("extension", "api", "hello", "core"), ("hello", "greet", "ann"), ("greet", "ann"), ("hellox",)):
        with jsl_expect_log(r"404 GET"), pytest.raises(HTTPClientError) as err:
            await jsl_fetch(*parts)
        assert err.value.code == 404, parts


async def test_api_routes_are_authenticated_and_answer_json(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"403 GET .*/extension/api/hello/greet/ann"), pytest.raises(HTTPClientError) as err:
        await jsl_fetch("extension", "api", "hello", "greet", "ann", authenticated=False)
    assert err.value.code == 403
    assert set(json.loads(err.value.response.body)) == {"message", "reason"}


async def test_pages_redirect_anonymous_visitors_to_login(jsl_fetch, jsl_serverapp):
    r = await jsl_fetch("hello", "", authenticated=False, raise_error=False)
    assert r.code == 302
    assert r.headers["Location"].startswith(jsl_serverapp.base_url + "login?next=")


async def test_a_handler_can_opt_out_of_authentication(jsl_fetch):
    r = await jsl_fetch("hello", "public", authenticated=False)
    assert r.body == b"public"


async def test_api_handler_gets_route_kwargs_settings_and_json_errors(jsl_fetch, jsl_expect_log):
    model = json.loads((await jsl_fetch("extension", "api", "hello", "greet", "bob")).body)
    assert model["settings"] == {"greeting": "Hello", "loaded_by": "ext_hello"}
    created = await jsl_fetch("extension", "api", "hello", "greet", "bob", method="POST", body={"a": 1})
    assert created.code == 201 and json.loads(created.body) == {"echo": {"a": 1}, "who": "bob"}
    with jsl_expect_log(r"400 POST"), pytest.raises(HTTPClientError) as err:
        await jsl_fetch("extension", "api", "hello", "greet", "bob", method="POST", body="{not json")
    assert err.value.code == 400
    assert "not valid JSON" in json.loads(err.value.response.body)["message"]


async def test_settings_live_under_the_extension_name(jsl_serverapp):
    settings = jsl_serverapp.web_app.settings["extension_settings"]
    assert settings["hello"] == {"greeting": "Hello", "loaded_by": "ext_hello"}
    assert set(settings) == {r.name for r in jsl_serverapp.extension_manager.records if r.state == "loaded"}
    assert not any(key.startswith("hello") for key in jsl_serverapp.web_app.settings)


# -- static files and templates ----------------------------------------------------


async def test_static_url_busts_caches(jsl_fetch, jsl_serverapp):
    model = json.loads((await jsl_fetch("extension", "api", "hello", "greet", "x")).body)
    url = model["static"]
    assert re.fullmatch(re.escape(jsl_serverapp.base_url) + r"static/hello/hello\.js\?v=[0-9a-f]{12}", url), url
    versioned = await jsl_fetch(url[len(jsl_serverapp.base_url) :].split("?")[0], params={"v": url.split("=")[1]})
    assert "max-age=" in versioned.headers["Cache-Control"] and versioned.headers["Cache-Control"] != "max-age=0"
    plain = await jsl_fetch("static", "hello", "hello.js")
    assert "Cache-Control" not in plain.headers or "max-age=0" in plain.headers["Cache-Control"]


async def test_page_uses_static_url_and_core_template(jsl_fetch, jsl_serverapp):
    html = (await jsl_fetch("hello", "")).body.decode()
    base = re.escape(jsl_serverapp.base_url)
    assert re.search(base + r"static/hello/hello\.js\?v=[0-9a-f]{12}", html)
    assert re.search(base + r"static/hello/css/hello\.css\?v=[0-9a-f]{12}", html)
    # page.html (a core template) found its own stylesheet through the fallback
    assert re.search(base + r"static/jupyter_server_lite/style\.css\?v=", html)


async def test_template_falls_back_to_the_core(jsl_fetch):
    html = (await jsl_fetch("hello", "core")).body.decode()
    assert "from ext_hello" in html and "418" in html


async def test_static_escapes_are_refused(jsl_serverapp, jsl_expect_log):
    from tornado.httpclient import AsyncHTTPClient

    assert (EXTENSIONS / "ext_hello" / "secret.txt").is_file()
    base = f"http://127.0.0.1:{jsl_serverapp.actual_port}{jsl_serverapp.base_url}static/hello/"
    for tail in ("..%2Fsecret.txt", "%2E%2E/secret.txt", "css/..%2F..%2Fsecret.txt"):
        with jsl_expect_log(r"(403|404) GET"):
            r = await AsyncHTTPClient().fetch(base + tail, raise_error=False)
        assert r.code in (403, 404), (tail, r.code)
        assert b"outside static_paths" not in r.body


async def test_missing_static_file_is_404(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"404 GET"), pytest.raises(HTTPClientError) as err:
        await jsl_fetch("static", "hello", "nope.js")
    assert err.value.code == 404


# -- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    ["/../api/kernels", "//evil.example/x", "http://evil.example/x", r"/\.\./api", "(unclosed"],
)
def test_patterns_that_leave_the_namespace_are_refused(pattern):
    with pytest.raises(MountError, match=r"namespace|regular expression"):
        check_pattern(pattern)


async def test_regex_tricks_cannot_reach_core_routes(jsl_server_factory, jsl_fetch, jsl_expect_log):
    tricky = app_with("tricky", [(r"(?:x)|/api/status.*", Pong), (r"x|.*", Pong)])
    app = jsl_server_factory(extensions=[tricky], start=False)
    await app.start_server()
    assert record_of(app, "tricky").state == "loaded"
    status = json.loads((await jsl_fetch("api", "status", app=app)).body)
    assert "pong" not in status and "started" in status
    inside = json.loads((await jsl_fetch("extension", "api", "tricky", "api", "status", app=app)).body)
    assert inside["pong"] == "tricky"
    for parts in (("api", "kernels"), ("api",)):
        body = json.loads((await jsl_fetch(*parts, app=app)).body)
        assert "pong" not in body


def test_wrong_handler_base_class_fails_that_extension(jsl_server_factory, jsl_expect_log):
    class CoreLike(APIHandler):
        pass

    wrong = app_with("wrong", [("/x", CoreLike)])
    with jsl_expect_log(r"Extension wrong failed \(import\).*must subclass ExtensionHandler", logging.ERROR):
        app = jsl_server_factory(extensions=[wrong], start=False)
    assert record_of(app, "wrong").state == "failed"


@pytest.mark.parametrize("name", sorted(RESERVED_NAMES) + ["API", "Static"])
def test_reserved_names_are_refused(name):
    with pytest.raises(MountError, match="reserved"):
        check_name(name)


@pytest.mark.parametrize("name", ["", "a/b", "..", ".hidden", "sp ace", "q?x", None, 3])
def test_names_must_be_plain_segments(name):
    with pytest.raises(MountError):
        check_name(name)


@pytest.mark.parametrize(("name", "service"), [("files", "files"), ("nbconvert", "nbconvert"), ("Files", "files")])
def test_single_segment_service_paths_are_refused_as_names(name, service):
    with pytest.raises(MountError, match=rf"is the path of the {service} service: provide the service instead"):
        check_name(name)
    with pytest.raises(MountError, match=rf"page prefix {name!r} is the path of the {service} service"):
        check_name(name, "page prefix")


@pytest.mark.parametrize("name", ["terminals", "custom", "tree", "notebooks", "edit", "consoles", "lab", "doc"])
def test_notebook_and_lab_pages_are_claimable(name):
    assert check_name(name, "page prefix") == name


def test_every_core_route_is_reserved():
    """A new core route must reserve its first segment (RESERVED_NAMES)."""
    assert core_names() <= {n.lower() for n in RESERVED_NAMES}


async def test_reserved_name_fails_only_that_extension(jsl_server_factory, jsl_fetch, jsl_expect_log):
    kernels = app_with("kernels", [("/", type("K", (ExtensionHandler,), {}))])
    with jsl_expect_log(
        r"Extension kernels failed \(import\): MountError: extension name 'kernels' is reserved", logging.ERROR
    ):
        app = jsl_server_factory(extensions=[kernels, "ext_hello"], start=False)
    await app.start_server()
    assert record_of(app, "hello").state == "loaded"
    assert (await jsl_fetch("hello", "", app=app)).code == 200


async def test_duplicate_name_is_refused_naming_both(jsl_server_factory, jsl_fetch, jsl_expect_log):
    first = app_with(
        "twin", [("/who", type("A", (ExtensionAPIHandler,), {"get": lambda self: self.finish_json("first")}))]
    )
    second = app_with(
        "Twin", [("/who", type("B", (ExtensionAPIHandler,), {"get": lambda self: self.finish_json("second")}))]
    )
    with jsl_expect_log(r"already taken by module", logging.ERROR):
        app = jsl_server_factory(extensions=[first, second], start=False)
    await app.start_server()
    loser = next(r for r in app.extension_manager.records if r.state == "failed")
    assert loser.phase == "order"
    assert "'Twin'" in loser.error and f"{second.__module__}:{second.__qualname__}" in loser.error
    assert f"already taken by module {first.__module__}:{first.__qualname__}" in loser.error
    assert json.loads((await jsl_fetch("extension", "api", "twin", "who", app=app)).body) == "first"


def test_route_mistakes_fail_in_load_with_the_step(jsl_server_factory, jsl_expect_log):
    class Late(ExtensionApp):
        name = "late"

        def initialize_handlers(self) -> None:
            self.handlers = [("/../escape", Pong)]

    with jsl_expect_log(r"Extension late failed \(load\): mounting routes: MountError", logging.ERROR):
        app = jsl_server_factory(extensions=[Late], start=False)
    record = record_of(app, "late")
    assert record.state == "failed" and record.routes == []
    assert "namespace" in record.error


class Echo(WebSocketHandler, ExtensionAPIHandler):
    """A websocket in an extension: tornado's WebSocketHandler first, then the extension base."""

    def on_message(self, message) -> None:
        self.write_message(f"{self.extension_name}: {message}")


async def test_websocket_routes_mount_in_the_api_namespace(jsl_server_factory, jsl_ws_connect, jsl_expect_log):
    app = jsl_server_factory(extensions=[app_with("wsext", [("/echo", Echo)])], start=False)
    await app.start_server()
    conn = await jsl_ws_connect("extension", "api", "wsext", "echo", app=app)
    await conn.write_message("hi")
    assert await asyncio.wait_for(conn.read_message(), 10) == "wsext: hi"
    with jsl_expect_log("403 GET"), pytest.raises(HTTPClientError) as err:
        await jsl_ws_connect("extension", "api", "wsext", "echo", app=app, authenticated=False)
    assert err.value.code == 403


# -- Mount: routes in other prefixes the extension owns ------------------------------------------


class Page(ExtensionHandler):
    def get(self, *args, **kwargs) -> None:
        self.finish(f"<p>{self.extension_app.name} page {list(args)} {kwargs}</p>")


class SettingsAPI(ExtensionAPIHandler):
    def get(self, section: str | None) -> None:
        if section == "/missing":
            raise HTTPError(404, "No settings for missing")
        self.finish_json({"who": self.extension_app.name, "section": section, "root": self.serverapp.root_dir})


class LabLike(ExtensionApp):
    """What JupyterLab will look like: pages under /lab and /doc, JSON APIs under /lab/api."""

    name = "lablike"
    page_prefixes = ("doc",)
    handlers = [
        (r"(/.*)?", Page),  # first, and broad: still no match below the deeper Mounts (the longest prefix wins)
        Mount("lablike/api/settings", [(r"(?P<section>/.*)?", SettingsAPI)]),
        Mount("lablike/tree", [(r"/(.*)", Page)]),
        Mount("doc", [(r"/tree/(.*)", Page)]),
    ]


async def test_a_mount_below_the_own_name_serves_apis_and_pages(jsl_server_factory, jsl_fetch, jsl_expect_log):
    app = jsl_server_factory(extensions=[LabLike], start=False)
    await app.start_server()
    record = record_of(app, "lablike")
    assert record.state == "loaded", record.error
    assert record.prefixes == ["/lablike", "/extension/api/lablike", "/static/lablike", "/doc"]
    assert record.routes == [
        "/lablike(/.*)?",
        "/lablike/api/settings(?P<section>/.*)?",
        "/lablike/tree/(.*)",
        "/doc/tree/(.*)",
    ]
    settings = json.loads((await jsl_fetch("lablike", "api", "settings", "@jupyterlab/x", app=app)).body)
    assert settings == {"who": "lablike", "section": "/@jupyterlab/x", "root": app.root_dir}
    # the handler's base class still decides behaviour: JSON errors and 403 for the API ...
    with jsl_expect_log("404 GET"):
        r = await jsl_fetch("lablike", "api", "settings", "missing", app=app, raise_error=False)
    assert r.code == 404 and json.loads(r.body)["message"] == "No settings for missing"
    with jsl_expect_log("403 GET"):
        r = await jsl_fetch("lablike", "api", "settings", app=app, authenticated=False, raise_error=False)
    assert r.code == 403 and "message" in json.loads(r.body)
    assert b"lablike page ['/other/x']" in (await jsl_fetch("lablike", "other", "x", app=app)).body
    # ... and pages with a login redirect, wherever they are mounted
    assert b"lablike page ['a/b.ipynb']" in (await jsl_fetch("lablike", "tree", "a", "b.ipynb", app=app)).body
    assert b"lablike page ['x.ipynb']" in (await jsl_fetch("doc", "tree", "x.ipynb", app=app)).body
    for parts in (("doc", "tree", "x"), ("lablike", "tree", "x")):
        r = await jsl_fetch(*parts, app=app, authenticated=False, raise_error=False)
        assert r.code == 302 and "/login?next=" in r.headers["Location"]


def notebook_like(name: str) -> type[ExtensionApp]:
    """What Notebook 7 will look like: six page prefixes, /terminals/ among them."""
    return type(
        f"Notebook_{name}",
        (ExtensionApp,),
        {
            "name": name,
            "page_prefixes": ("tree", "notebooks", "edit", "consoles", "terminals", "custom"),
            "handlers": [Mount("terminals", [(r"/(.*)", Page)]), Mount("tree", [(r"(?P<path>/.*)?", Page)])],
            "__module__": __name__,
        },
    )


class TerminalSocket(WebSocketHandler, ExtensionAPIHandler):
    def open(self, name: str) -> None:
        self.write_message(f"{self.extension_app.name}: terminal {name}")


def terminals_like(name: str) -> type[ExtensionApp]:
    """A terminals service: cannot be called "terminals" (a page prefix of Notebook), nor needs to."""
    return type(
        f"Terminals_{name}",
        (ExtensionApp,),
        {
            "name": name,
            "provides": ("terminals",),
            "handlers": [
                Mount("api/terminals", [("", Pong)]),
                Mount("terminals/websocket", [(r"/(\w+)", TerminalSocket)]),
            ],
            "__module__": __name__,
        },
    )


@pytest.mark.parametrize(("notebook", "terminals"), [("anotebook", "zterminals"), ("znotebook", "aterminals")])
async def test_the_longest_prefix_wins_in_either_load_order(
    jsl_server_factory, jsl_fetch, jsl_ws_connect, jsl_expect_log, notebook, terminals
):
    app = jsl_server_factory(extensions=[notebook_like(notebook), terminals_like(terminals)], start=False)
    await app.start_server()
    order = [r.name for r in app.extension_manager.records if not r.bundled]
    assert order == sorted([notebook, terminals])  # load order is by name: the two cases differ
    conn = await jsl_ws_connect("terminals", "websocket", "1", app=app)
    assert await asyncio.wait_for(conn.read_message(), 10) == f"{terminals}: terminal 1"
    assert f"{notebook} page ['1']".encode() in (await jsl_fetch("terminals", "1", app=app)).body
    assert f"{notebook} page ['websocketx']".encode() in (await jsl_fetch("terminals", "websocketx", app=app)).body
    # below the longer prefix the page never answers, even where the service has no route
    for parts in (("terminals", "websocket"), ("terminals", "websocket", "a", "b")):
        with jsl_expect_log("404 GET"):
            r = await jsl_fetch(*parts, app=app, raise_error=False)
        assert r.code == 404 and b"page" not in r.body, parts
    assert json.loads((await jsl_fetch("api", "terminals", app=app)).body)["pong"] == terminals


async def test_a_service_path_is_no_page_even_when_nobody_provides_it(jsl_server_factory, jsl_fetch, jsl_expect_log):
    app = jsl_server_factory(extensions=[notebook_like("nb")], start=False)
    await app.start_server()
    assert b"nb page ['x']" in (await jsl_fetch("terminals", "x", app=app)).body
    with jsl_expect_log("404 GET"):
        r = await jsl_fetch("terminals", "websocket", "1", app=app, raise_error=False)
    assert r.code == 404 and b"page" not in r.body
    with jsl_expect_log(
        r"Extension sneaky failed \(import\): MountError: .*belongs to the terminals service", logging.ERROR
    ):
        sneaky = type(
            "Sneaky",
            (ExtensionApp,),
            {
                "name": "sneaky",
                "page_prefixes": ("terminals",),
                "handlers": [Mount("terminals/websocket", [("", Page)])],
            },
        )
        jsl_server_factory(extensions=[sneaky], start=False)


# -- page prefixes are claimed like names ----------------------------------------------------------


def test_page_prefixes_show_in_the_record_and_extension_list(
    jsl_server_factory, jsl_dirs, capsys, monkeypatch, tmp_path
):
    app = jsl_server_factory(extensions=[notebook_like("nb")], start=False)
    record = record_of(app, "nb")
    assert record.state == "loaded", record.error
    assert record.prefixes == [
        "/nb", "/extension/api/nb", "/static/nb", "/tree", "/notebooks", "/edit", "/consoles", "/terminals", "/custom",
    ]  # fmt: skip
    (tmp_path / "jsltest_nb.py").write_text(
        "from jupyter_server_lite.extension.application import ExtensionApp\n"
        "class Nb(ExtensionApp):\n"
        "    name = 'nb'\n"
        "    page_prefixes = ('tree', 'terminals')\n"
        "def _jupyter_server_extension_points():\n"
        "    return [{'module': __name__, 'app': Nb}]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from jupyter_server_lite.cli import extension as cli

    assert cli.main(["enable", "jsltest_nb", "--user"]) == 0
    assert cli.main(["list", "--json"]) == 0
    out = capsys.readouterr().out
    row = {r["module"]: r for r in json.loads(out.split("\n", 1)[1])["extensions"]}["jsltest_nb"]
    assert row["prefixes"] == ["/nb", "/extension/api/nb", "/static/nb", "/tree", "/terminals"]
    assert cli.main(["list"]) == 0
    assert "      prefixes: /nb /extension/api/nb /static/nb /tree /terminals" in capsys.readouterr().out


def test_a_page_prefix_already_taken_is_refused_naming_both(jsl_server_factory, jsl_expect_log):
    first, second = notebook_like("nb1"), notebook_like("nb2")
    tree = app_with("tree", [("/", Page)])
    with (
        jsl_expect_log(
            rf"Extension nb2 failed \(order\): page prefix 'tree' \(module {__name__}:{second.__qualname__}\) "
            rf"is already taken by module {__name__}:{first.__qualname__} \(its page prefix\)",
            logging.ERROR,
        ),
        jsl_expect_log(
            rf"Extension tree failed \(order\): extension name 'tree' \(module {__name__}:App_tree\) "
            rf"is already taken by module {__name__}:{first.__qualname__} \(its page prefix\)",
            logging.ERROR,
        ),
    ):
        app = jsl_server_factory(extensions=[first, second, tree], start=False)
    assert record_of(app, "nb1").state == "loaded"
    assert record_of(app, "nb2").phase == "order" and record_of(app, "tree").phase == "order"


@pytest.mark.parametrize(
    ("prefixes", "error"),
    [
        (("api",), "page prefix 'api' is reserved for the core server"),
        (("Static",), "page prefix 'Static' is reserved for the core server"),
        (("files",), "page prefix 'files' is the path of the files service"),
        (("a/b",), "page prefix 'a/b' is not a plain URL segment"),
        (("tree", "Tree"), "'Tree' is named twice"),
        (("pp",), "'pp' is named twice (or is the extension's name)"),
        ("tree", "page_prefixes must be a tuple of URL segments"),
    ],
)
def test_bad_page_prefixes_fail_that_extension(jsl_server_factory, jsl_expect_log, prefixes, error):
    bad = type("BadPrefixes", (ExtensionApp,), {"name": "pp", "page_prefixes": prefixes})
    with jsl_expect_log(r"Extension pp failed \(import\): .*" + re.escape(error), logging.ERROR):
        app = jsl_server_factory(extensions=[bad], start=False)
    assert record_of(app, "pp").state == "failed"


# -- URLs built by name (extension/urls.py) --------------------------------------------------


class Links(ExtensionAPIHandler):
    """Answers with the URLs url_for builds, for the arguments in the query."""

    def get(self, *args) -> None:
        item = self.get_query_argument("item", "a b/c?d#é")
        path = self.get_query_argument("path", "/dir/x y.txt")
        self.finish_json(
            {
                "args": list(args),
                "index": self.url_for("index"),
                "item": self.url_for("item", item),
                "files": self.url_for("files", path),
                "files_root": self.url_for("files"),
                "page": self.url_for("page", 7),
            }
        )


class ItemAPI(ExtensionAPIHandler):
    def get(self, item: str) -> None:
        self.finish_json({"item": item})


class FilesAPI(ExtensionAPIHandler):
    def get(self, path: str | None = None) -> None:
        self.finish_json({"path": path})


class NumberPage(ExtensionHandler):
    def get(self, number: str) -> None:
        self.finish(self.render_template("number.html"))


class Named(ExtensionApp):
    name = "named"
    provides = ("contents",)
    handlers = [
        ("/?", Links, {}, "index"),
        (r"/items/([^/]+)", ItemAPI, {}, "item"),
        (r"/page/(\d+)", NumberPage, {}, "page"),
        Mount("api/contents", [(r"(?P<path>/.*)?", FilesAPI, {}, "files")]),
    ]

    def initialize_templates(self) -> None:
        import jinja2

        super().initialize_templates()
        self.jinja2_env.loader = jinja2.DictLoader({"number.html": "{{ url_for('item', 'from a template') }}"})


async def test_url_for_builds_each_named_route_below_base_url(jsl_server_factory, jsl_fetch):
    app = jsl_server_factory(extensions=[Named], start=False)
    await app.start_server()
    assert record_of(app, "named").state == "loaded", record_of(app, "named").error
    urls = json.loads((await jsl_fetch("extension", "api", "named", "", app=app)).body)
    base = app.base_url  # /a%40b/: the URLs carry it as sent, never decoded
    assert urls["index"] == f"{base}extension/api/named/"
    assert urls["item"] == f"{base}extension/api/named/items/a%20b%2Fc%3Fd%23%C3%A9"
    assert urls["files"] == f"{base}api/contents/dir/x%20y.txt"  # a group that takes "/" keeps it
    assert urls["files_root"] == f"{base}api/contents"  # a trailing optional group left out
    assert urls["page"] == f"{base}named/page/7"
    # each URL reaches its route, which gets the argument back unchanged
    relative = {key: url[len(base) :] for key, url in urls.items()}

    async def get(url: str) -> bytes:
        from tornado.httpclient import AsyncHTTPClient

        r = await AsyncHTTPClient().fetch(
            f"http://127.0.0.1:{app.actual_port}{base}{url}",
            headers={"Authorization": f"token {app.identity_provider.token}"},
        )
        return r.body

    assert json.loads(await get(relative["item"])) == {"item": "a b/c?d#é"}
    assert json.loads(await get(relative["files"])) == {"path": "/dir/x y.txt"}
    assert json.loads(await get(relative["files_root"])) == {"path": None}
    assert (await get(relative["page"])).decode() == f"{base}extension/api/named/items/from%20a%20template"


def test_url_for_refuses_unknown_names_and_bad_arguments(jsl_server_factory):
    from jupyter_server_lite.extension.urls import RouteNameError

    app = jsl_server_factory(extensions=[Named], start=False)
    named = record_of(app, "named").apps[0]
    with pytest.raises(
        RouteNameError, match=r"extension 'named' has no route named 'itme'; its named routes: files, index, item, page"
    ):
        named.url_for("itme", "x")
    assert isinstance(RouteNameError("x"), LookupError)
    with pytest.raises(
        TypeError, match=r"url_for\('item'\): the group \(\[\^/\]\+\) of '/items/\(\[\^/\]\+\)' needs a value"
    ):
        named.url_for("item")
    with pytest.raises(TypeError, match=r"takes at most 1 argument"):
        named.url_for("item", "a", "b")
    with pytest.raises(ValueError, match=r"'seven' does not fit the group \(\\d\+\)"):
        named.url_for("page", "seven")
    unmounted = Named()
    with pytest.raises(RouteNameError, match="has no route named 'index'; its named routes: none"):
        unmounted.url_for("index")


def test_two_routes_with_one_name_are_refused_when_mounting(jsl_server_factory, jsl_expect_log):
    class Late(ExtensionApp):
        name = "latenames"

        def initialize_handlers(self) -> None:
            self.handlers = [("/a", Pong, {}, "same"), Mount("latenames/x", [("/b", Pong, {}, "same")])]

    declared = app_with("classnames", [("/a", Pong, {}, "same"), ("/b", Pong, {}, "same")])
    with (
        jsl_expect_log(
            r"Extension latenames failed \(load\): mounting routes: MountError: latenames: two routes are named "
            r"'same' \('/a' and '/b'\); names must be unique",
            logging.ERROR,
        ),
        jsl_expect_log(
            r"Extension classnames failed \(import\): MountError: classnames: two routes are named", logging.ERROR
        ),
    ):
        app = jsl_server_factory(extensions=[Late, declared], start=False)
    assert record_of(app, "latenames").routes == []  # nothing of it was mounted
    assert record_of(app, "classnames").phase == "import"  # in the class body: found at import, as extension list does


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"/a|/b", r"'\|' outside a group"),
        (r"/\w+", r"'\\\\w' outside a group"),
        (r"/(?:x)", "only capturing groups"),
        (r"/((a)b)", "a group inside a group"),
        (r"/(a)+", "optional .* but not repeated"),
    ],
)
def test_a_named_route_needs_a_pattern_one_url_stands_for(jsl_server_factory, jsl_expect_log, pattern, why):
    bad = app_with("unreversible", [(pattern, Pong, {}, "x")])
    with jsl_expect_log(
        rf"Extension unreversible failed \(import\): MountError: unreversible: route 'x' .*{why}", logging.ERROR
    ):
        jsl_server_factory(extensions=[bad], start=False)
    # the same pattern without a name is fine: only a name asks for a URL
    assert jsl_server_factory(extensions=[app_with("unnamed", [(pattern, Pong)])], start=False)


@pytest.mark.parametrize("route", [("/a", Pong, {}, ""), ("/a", Pong, {}, 5), ("/a", Pong, {}, "n", "extra")])
def test_route_names_are_strings_in_the_fourth_place(route):
    from jupyter_server_lite.extension.mount import split_route

    with pytest.raises(MountError, match=r"name must be a non-empty string|must be \(pattern"):
        split_route(route)
