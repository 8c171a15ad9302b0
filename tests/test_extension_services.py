"""Standard services (extension/services.py, claims.py): providers at the standard paths, swapping, refusals."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError
from tornado.web import HTTPError
from tornado.websocket import WebSocketHandler

from jupyter_server_lite import bundled
from jupyter_server_lite.cli import extension as cli
from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.extension.handler import ExtensionAPIHandler, ExtensionHandler
from jupyter_server_lite.extension.mount import Mount, MountError
from jupyter_server_lite.extension.services import SERVICES, check_provides, service_at

EXTENSIONS = Path(__file__).parent / "extensions"
CONF_D = "jupyter_server_lite_config.d"


@pytest.fixture(autouse=True)
def _test_extensions_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(EXTENSIONS))


@pytest.fixture
def bundled_contents(monkeypatch):
    """Registers tests/extensions/ext_bundled_contents.py as the bundled contents provider (on in every
    server), in place of the real one, jupyter_server_lite.bundled.contents."""
    others = tuple(m for m in bundled.BUNDLED_EXTENSIONS if m != "jupyter_server_lite.bundled.contents")
    monkeypatch.setattr(bundled, "BUNDLED_EXTENSIONS", (*others, "ext_bundled_contents"))
    return "ext_bundled_contents"


def enable(jsl_dirs, module, level="user"):
    jsl_dirs.write_config(level, f"{CONF_D}/{module}.json", {"ServerApp": {"jpserver_extensions": {module: True}}})


def record_of(app, name):
    record = app.extension_manager.get(name)
    assert record is not None, [r.name for r in app.extension_manager.records]
    return record


class Who(ExtensionAPIHandler):
    """Says which extension answered, with what arguments; reaches the app and the server."""

    def get(self, *args, **kwargs) -> None:
        app = self.extension_app
        self.finish_json({"who": app.name, "args": list(args), "kwargs": kwargs, "base_url": self.serverapp.base_url})


def provider(name: str, services: tuple[str, ...], handlers: list) -> type[ExtensionApp]:
    return type(
        f"App_{name}",
        (ExtensionApp,),
        {"name": name, "provides": services, "handlers": handlers, "__module__": __name__},
    )


def module_of(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


# -- the table -------------------------------------------------------------------------


def test_the_service_table_is_where_jupyterlab_looks():
    assert dict(SERVICES) == {
        "contents": ("api/contents",),
        "files": ("files",),
        "terminals": ("api/terminals", "terminals/websocket"),
        "config": ("api/config",),
        "events": ("api/events",),
        "nbconvert": ("api/nbconvert", "nbconvert"),
    }
    assert service_at("api/events/subscribe") == "events"
    assert service_at("terminals/websocket/1") == "terminals"
    assert service_at("terminals") is None and service_at("api/contentsx") is None


def test_unknown_service_names_are_refused_listing_the_known_ones():
    with pytest.raises(
        MountError,
        match=r"'kontents', which is not a standard service; the known ones are: config, contents, events, files, nbconvert, terminals",
    ):
        check_provides(("kontents",), "X")
    with pytest.raises(MountError, match="must be a tuple of service names"):
        check_provides("contents", "X")
    with pytest.raises(MountError, match="names a service twice"):
        check_provides(("contents", "contents"), "X")


def test_an_unknown_service_fails_that_extension(jsl_server_factory, jsl_expect_log):
    with jsl_expect_log(
        r"Extension kontents failed \(import\): MountError: .*known ones are: config, contents", logging.ERROR
    ):
        app = jsl_server_factory(extensions=[provider("kontents", ("kontents",), [])], start=False)
    assert record_of(app, "kontents").phase == "import"


# -- a provider is mounted at its service's paths -------------------------------------------


async def test_a_provider_serves_the_standard_path(jsl_server_factory, jsl_fetch, jsl_dirs, jsl_expect_log):
    (jsl_dirs.root / "a.txt").write_text("hello", encoding="utf-8")
    (jsl_dirs.root / "sub").mkdir()
    enable(jsl_dirs, "ext_contents_ro")
    app = jsl_server_factory(start=False)
    await app.start_server()
    record = record_of(app, "rocontents")
    assert record.state == "loaded" and record.provides == ["contents"] and not record.bundled
    assert record.prefixes == ["/rocontents", "/extension/api/rocontents", "/static/rocontents", "/api/contents"]
    assert record.routes == ["/api/contents(?P<path>/.*)?"]
    for parts in (("api", "contents"), ("api", "contents/")):
        root = json.loads((await jsl_fetch(*parts, app=app)).body)
        assert (root["type"], root["provider"]) == ("directory", "rocontents")
        assert [c["name"] for c in root["content"]] == ["a.txt", "sub"]
    model = json.loads((await jsl_fetch("api", "contents", "a.txt", app=app)).body)
    assert (model["path"], model["content"], model["writable"]) == ("a.txt", "hello", False)
    # an ExtensionAPIHandler in a Mount: JSON errors, and a JSON 403 for anonymous clients
    for parts, code, method in (
        (("api", "contents", "nope.txt"), 404, "GET"),
        (("api", "contents", "..%2F..%2Fetc%2Fpasswd"), 404, "GET"),
        (("api", "contents", "a.txt"), 405, "PUT"),
    ):
        with jsl_expect_log(f"{code} {method}"):
            r = await jsl_fetch(
                *parts, method=method, body="{}" if method == "PUT" else None, app=app, raise_error=False
            )
        assert r.code == code and set(json.loads(r.body)) == {"message", "reason"}, (parts, r.code, r.body)
    with jsl_expect_log("403 GET"):
        r = await jsl_fetch("api", "contents", app=app, authenticated=False, raise_error=False)
    assert r.code == 403 and "message" in json.loads(r.body)
    api = json.loads((await jsl_fetch("api", "extensions", "rocontents", app=app)).body)
    assert api["provides"] == ["contents"] and "/api/contents" in api["prefixes"]


async def test_the_shape_the_service_authors_use(jsl_server_factory, jsl_fetch):
    """docs/services.md's interface: name, provides, a Mount appended in initialize_handlers; path semantics."""

    class ContentsApp(ExtensionApp):
        name = "contents"
        provides = ("contents",)

        def initialize_handlers(self) -> None:
            self.handlers.append(Mount("api/contents", [(r"(?P<path>/.*)?", Who)]))

    app = jsl_server_factory(extensions=[ContentsApp], start=False)
    await app.start_server()
    for parts, path in (
        (("api", "contents"), None),
        (("api", "contents/"), "/"),
        (("api", "contents", "a b", "c.ipynb"), "/a b/c.ipynb"),
    ):
        answer = json.loads((await jsl_fetch(*parts, app=app)).body)
        assert answer["who"] == "contents" and answer["kwargs"] == {"path": path}, parts


async def test_nobody_provides_contents_so_it_is_the_usual_json_404(jsl_server_factory, jsl_fetch, jsl_expect_log):
    off = {"jupyter_server_lite.bundled.contents": False}
    app = jsl_server_factory(config={"ServerApp": {"jpserver_extensions": off}}, start=False)
    await app.start_server()
    for parts in (("api", "contents"), ("api", "contents", "a.txt")):
        with jsl_expect_log("404 GET"), pytest.raises(HTTPClientError) as err:
            await jsl_fetch(*parts, app=app)
        assert err.value.code == 404
        assert json.loads(err.value.response.body)["message"].startswith("No API route at")


async def test_websockets_and_handlers_work_inside_a_mount(
    jsl_server_factory, jsl_ws_connect, jsl_fetch, jsl_expect_log
):
    class Subscribe(WebSocketHandler, ExtensionAPIHandler):
        def on_message(self, message) -> None:
            self.write_message(f"{self.extension_app.name} at {self.serverapp.base_url}: {message}")

    events = provider("myevents", ("events",), [Mount("api/events", [("/subscribe", Subscribe), ("", Who)])])
    app = jsl_server_factory(extensions=[events], start=False)
    await app.start_server()
    conn = await jsl_ws_connect("api", "events", "subscribe", app=app)
    await conn.write_message("hi")
    assert await asyncio.wait_for(conn.read_message(), 10) == "myevents at /a%40b/: hi"
    with jsl_expect_log("403 GET"), pytest.raises(HTTPClientError) as err:
        await jsl_ws_connect("api", "events", "subscribe", app=app, authenticated=False)
    assert err.value.code == 403
    who = json.loads((await jsl_fetch("api", "events", app=app)).body)
    assert who == {"who": "myevents", "args": [], "kwargs": {}, "base_url": "/a%40b/"}


async def test_regex_tricks_in_a_service_route_cannot_reach_core_routes(jsl_server_factory, jsl_fetch, jsl_expect_log):
    tricky = provider(
        "trickycontents",
        ("contents",),
        [Mount("api/contents", [(r"|/api/kernels.*", Who), (r"(?:x)|/api/status", Who), (r"x|.*", Who)])],
    )
    app = jsl_server_factory(extensions=[tricky], start=False)
    await app.start_server()
    assert record_of(app, "trickycontents").state == "loaded"
    assert json.loads((await jsl_fetch("api", "kernels", app=app)).body) == []
    assert "started" in json.loads((await jsl_fetch("api", "status", app=app)).body)
    assert json.loads((await jsl_fetch("api", "sessions", app=app)).body) == []
    with jsl_expect_log("404 GET"):
        r = await jsl_fetch("api", "contentsx", app=app, raise_error=False)
    assert r.code == 404 and "who" not in json.loads(r.body)
    inside = json.loads((await jsl_fetch("api", "contents", "api", "kernels", app=app)).body)
    assert inside["who"] == "trickycontents"
    leaving = provider("leaving", ("contents",), [Mount("api/contents", [("/../kernels", Who)])])
    with jsl_expect_log(r"Extension leaving failed \(import\): MountError: .*must stay inside", logging.ERROR):
        jsl_server_factory(extensions=[leaving], start=False)


# -- one provider per service ------------------------------------------------------------------


async def test_a_second_provider_is_refused_naming_both(jsl_server_factory, jsl_fetch, jsl_expect_log):
    other = provider("othercontents", ("contents",), [Mount("api/contents", [(r"(?P<path>/.*)?", Who)])])
    with jsl_expect_log(
        rf"Extension othercontents failed \(order\): service 'contents' \(module {module_of(other)}\) "
        r"is already provided by module ext_contents_ro",
        logging.ERROR,
    ):
        app = jsl_server_factory(extensions=["ext_contents_ro", other], start=False)
    await app.start_server()
    assert record_of(app, "othercontents").state == "failed"
    assert json.loads((await jsl_fetch("api", "contents", app=app)).body)["provider"] == "rocontents"


def test_extension_list_refuses_the_second_provider_too(jsl_dirs, capsys, monkeypatch, tmp_path):
    (tmp_path / "jsltest_other_contents.py").write_text(
        "from jupyter_server_lite.extension.application import ExtensionApp\n"
        "class OtherContents(ExtensionApp):\n"
        "    name = 'othercontents'\n"
        "    provides = ('contents',)\n"
        "def _jupyter_server_extension_points():\n"
        "    return [{'module': __name__, 'app': OtherContents}]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    enable(jsl_dirs, "ext_contents_ro")
    enable(jsl_dirs, "jsltest_other_contents")
    assert cli.main(["list", "--json"]) == 0
    rows = {r["module"]: r for r in json.loads(capsys.readouterr().out)["extensions"]}
    assert rows["ext_contents_ro"]["ok"] and rows["ext_contents_ro"]["provides"] == ["contents"]
    loser = rows["jsltest_other_contents"]
    assert (loser["ok"], loser["state"], loser["phase"]) == (False, "failed", "order")
    assert loser["error"] == (
        "service 'contents' (module jsltest_other_contents) is already provided by module ext_contents_ro"
    )


# -- a bundled provider steps aside ---------------------------------------------------------------


async def test_the_bundled_provider_serves_when_nobody_else_does(bundled_contents, jsl_server_factory, jsl_fetch):
    app = jsl_server_factory(start=False)
    await app.start_server()
    record = record_of(app, "bundledcontents")
    assert record.state == "loaded" and record.bundled and record.enabled_by["level"] == "bundled"
    answer = json.loads((await jsl_fetch("api", "contents", "x.txt", app=app)).body)
    assert answer == {"provider": "bundledcontents", "path": "/x.txt"}


async def test_enabling_another_provider_swaps_the_service(
    bundled_contents, jsl_server_factory, jsl_fetch, jsl_dirs, capsys
):
    (jsl_dirs.root / "a.txt").write_text("from the swapped provider", encoding="utf-8")
    enable(jsl_dirs, "ext_contents_ro")
    app = jsl_server_factory(start=False)  # any error or warning would fail the test: stepping aside is neither
    await app.start_server()
    assert json.loads((await jsl_fetch("api", "contents", "a.txt", app=app)).body)["content"] == (
        "from the swapped provider"
    )
    stepped = record_of(app, "bundledcontents")
    assert (stepped.state, stepped.phase, stepped.error) == ("replaced", "", "")
    assert stepped.replaced_by == {"contents": "rocontents"} and stepped.rules == [] and stepped.apps == []
    info = "Bundled extension bundledcontents (ext_bundled_contents) steps aside: rocontents (ext_contents_ro) provides contents"
    line = next(line for line in capsys.readouterr().err.splitlines() if info in line)
    assert line.startswith("[I ")  # INFO: not a failure
    model = json.loads((await jsl_fetch("api", "extensions", "bundledcontents", app=app)).body)
    assert (model["state"], model["replaced_by"], model["bundled"]) == ("replaced", {"contents": "rocontents"}, True)
    page = (await jsl_fetch("dashboard", "", app=app)).body.decode()
    assert "Stepped aside: contents is provided by rocontents." in page
    assert page.count('<td class="provides">contents</td>') == 2  # the one that stepped aside, the one serving
    assert '<tr class="state-replaced">' in page
    assert cli.main(["list", "--json"]) == 0
    rows = {r["module"]: r for r in json.loads(capsys.readouterr().out)["extensions"]}
    row = rows["ext_bundled_contents"]
    assert (row["state"], row["ok"], row["replaced_by"], row["level"]) == (
        "replaced",
        True,
        {"contents": "rocontents"},
        "bundled",
    )
    assert cli.main(["list"]) == 0
    assert "ext_bundled_contents [bundledcontents]: enabled, replaced: contents provided by rocontents" in (
        capsys.readouterr().out
    )


def test_a_requirement_that_stepped_aside_says_so(bundled_contents, jsl_server_factory, jsl_expect_log):
    needs = type("NeedsBundled", (ExtensionApp,), {"name": "needsbundled", "requires": ["ext_bundled_contents"]})
    with jsl_expect_log(
        r"Extension needsbundled failed \(load\): requires bundledcontents, which stepped aside for rocontents",
        logging.ERROR,
    ):
        jsl_server_factory(extensions=["ext_contents_ro", needs], start=False)


def test_a_disabled_bundled_provider_leaves_the_service_to_nobody(bundled_contents, jsl_server_factory, jsl_dirs):
    jsl_dirs.write_config(
        "sys_prefix", f"{CONF_D}/x.json", {"ServerApp": {"jpserver_extensions": {"ext_bundled_contents": False}}}
    )
    app = jsl_server_factory(start=False)
    assert app.extension_manager.get("bundledcontents") is None


# -- where a provider may mount -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("services", "prefix", "message"),
    [
        ((), "api/kernels", r"Mount\('api/kernels'\) is outside what wrongplace owns: /wrongplace \(its name\)"),
        (
            ("events",),
            "api/contents",
            r"/api/contents belongs to the contents service, which wrongplace does not provide",
        ),
        (("contents",), "api", r"outside what wrongplace owns: .*/api/contents \(the contents service\)"),
    ],
)
def test_a_mount_outside_the_owned_prefixes_is_refused(jsl_server_factory, jsl_expect_log, services, prefix, message):
    declared = provider("wrongplace", services, [Mount(prefix, [("", Who)])])
    with jsl_expect_log(rf"Extension wrongplace failed \(import\): MountError: .*{message}", logging.ERROR):
        app = jsl_server_factory(extensions=[declared], start=False)
    assert record_of(app, "wrongplace").state == "failed"

    class Late(ExtensionApp):
        name = "wrongplace"
        provides = services

        def initialize_handlers(self) -> None:
            self.handlers.append(Mount(prefix, [("", Who)]))

    with jsl_expect_log(
        rf"Extension wrongplace failed \(load\): mounting routes: MountError: .*{message}", logging.ERROR
    ):
        app = jsl_server_factory(extensions=[Late], start=False)
    assert record_of(app, "wrongplace").routes == []


def test_a_page_handler_may_serve_a_service_path(jsl_server_factory):
    """The base class sets behaviour, not place: /files is pages (HTML errors, login redirect)."""

    class FilePage(ExtensionHandler):
        def get(self, path: str) -> None:
            self.finish(path)

    files = provider("myfiles", ("files",), [Mount("files", [(r"/(.+)", FilePage)])])
    app = jsl_server_factory(extensions=[files], start=False)
    assert record_of(app, "myfiles").routes == ["/files/(.+)"]


@pytest.mark.parametrize("prefix", ["", "/", "a//b", "../x", "a/(.*)", 3])
def test_a_mount_prefix_is_a_literal_path(prefix):
    with pytest.raises(MountError, match="Mount prefix"):
        Mount(prefix, [])


def test_a_mount_needs_a_list_of_routes():
    with pytest.raises(MountError, match="routes must be a list"):
        Mount("lab", "nope")  # type: ignore[arg-type]  # the wrong type is the point
    assert Mount("/lab/api/", []).prefix == "lab/api"


async def test_a_mounted_route_keeps_its_kwargs_and_json_errors(jsl_server_factory, jsl_fetch, jsl_expect_log):
    class WithKwargs(ExtensionAPIHandler):
        def initialize(self, greeting: str) -> None:
            self.greeting = greeting

        def get(self) -> None:
            raise HTTPError(400, self.greeting)

    config = provider("kw", ("config",), [Mount("api/config", [("/x", WithKwargs, {"greeting": "hey"})])])
    app = jsl_server_factory(extensions=[config], start=False)
    await app.start_server()
    assert record_of(app, "kw").routes == ["/api/config/x"]
    with jsl_expect_log("400 GET"):
        r = await jsl_fetch("api", "config", "x", app=app, raise_error=False)
    assert r.code == 400 and json.loads(r.body) == {"message": "hey", "reason": "Bad Request"}
