"""The extension lifecycle (extension/manager.py, ordering.py): records, isolation, order, strict and safe modes."""

from __future__ import annotations

import json
import logging
import types
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.extension.handler import ExtensionHandler
from jupyter_server_lite.extension.manager import ExtensionError
from jupyter_server_lite.extension.ordering import load_order
from jupyter_server_lite.extension.record import ExtensionRecord, check_extension

EXTENSIONS = Path(__file__).parent / "extensions"
CONF_D = "jupyter_server_lite_config.d"


@pytest.fixture(autouse=True)
def _test_extensions_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(EXTENSIONS))


def enabler(name: str, enabled: bool = True) -> dict:
    return {"ServerApp": {"jpserver_extensions": {name: enabled}}}


def own(records):
    """The records of the extensions a test enabled: the bundled ones load in every server too."""
    return [r for r in records if not (r["bundled"] if isinstance(r, dict) else r.bundled)]


def named_app(name: str, requires: tuple[str, ...] = (), **attrs) -> type[ExtensionApp]:
    return type(
        f"App_{name}", (ExtensionApp,), {"name": name, "requires": list(requires), "__module__": __name__, **attrs}
    )


# -- check_extension: import and validate without a server ---------------------


def test_check_extension_of_a_good_app():
    record = check_extension("ext_hello")
    assert record.ok and record.state == "imported", record.error
    assert (record.name, record.module, record.version) == ("hello", "ext_hello", "1.2.3")
    assert record.description == "Says hello."
    assert record.timings["import"] >= 0 and record.error == "" and record.phase == ""


def test_check_extension_of_a_function_extension():
    record = check_extension("ext_func")
    assert record.ok and record.name == "ext_func"
    assert record.points[0].load is not None and record.points[0].app_class is None


@pytest.mark.parametrize(
    ("module", "error"),
    [
        ("ext_import_error", "RuntimeError: ext_import_error is broken on purpose"),
        ("no_such_module_here", "ModuleNotFoundError: No module named 'no_such_module_here'"),
        ("ext_exits", "SystemExit: 3"),
        (
            "json",
            "is not an extension: it has neither _jupyter_server_extension_points() nor _load_jupyter_server_extension",
        ),
    ],
)
def test_check_extension_says_why_not(module, error):
    record = check_extension(module)
    assert not record.ok and record.state == "failed" and record.phase == "import"
    assert error in record.error
    assert record.traceback.startswith("Traceback")
    model = record.to_model()
    assert model["state"] == "failed" and error in model["error"]


def test_check_extension_validates_points(monkeypatch):
    bad = types.ModuleType("ext_bad_points")
    bad._jupyter_server_extension_points = lambda: [{"module": "ext_bad_points", "app": dict}]
    monkeypatch.setitem(__import__("sys").modules, "ext_bad_points", bad)
    record = check_extension("ext_bad_points")
    assert "'app' must be an ExtensionApp subclass" in record.error


# -- ordering -------------------------------------------------------------------------


def records_for(*apps):
    out = []
    for app in apps:
        record = ExtensionRecord(module=app.name, name=app.name, state="imported", requires=list(app.requires))
        out.append(record)
    return out


def test_order_is_dependencies_then_name():
    order = load_order(records_for(named_app("c"), named_app("a", ["b"]), named_app("b"), named_app("aa", ["c", "b"])))
    assert [r.name for r in order] == ["b", "a", "c", "aa"]
    assert all(r.ok for r in order)


def test_cycles_and_unknown_requirements_fail_with_clear_errors():
    order = load_order(
        records_for(
            named_app("x", ["y"]),
            named_app("y", ["x"]),
            named_app("z", ["x"]),
            named_app("u", ["nope"]),
            named_app("ok"),
        )
    )
    states = {r.name: (r.state, r.phase, r.error) for r in order}
    assert [r.name for r in order][0] == "ok" and states["ok"][0] == "imported"
    assert states["x"] == ("failed", "order", "dependency cycle: x -> y -> x")
    assert states["y"] == ("failed", "order", "dependency cycle: y -> x -> y")
    assert states["z"] == ("failed", "order", "requires an extension in a dependency cycle: x -> y -> x")
    assert states["u"] == ("failed", "order", "requires nope, which is not enabled")


# -- the lifecycle in a server: isolation ----------------------------------------------


async def test_each_failure_stays_with_its_extension(jsl_server_factory, jsl_dirs, jsl_fetch, jsl_expect_log):
    for name in ("ext_hello", "ext_import_error", "ext_handlers_error", "ext_func"):
        jsl_dirs.write_config("sys_prefix", f"{CONF_D}/{name}.json", enabler(name))
    jsl_dirs.write_config("user", f"{CONF_D}/ext_malformed.json", '{"ServerApp": {"jpserver_extensions": ')
    with (
        jsl_expect_log(r"^Cannot load config file .*ext_malformed\.json: invalid JSON", logging.ERROR),
        jsl_expect_log(r"Extension ext_malformed failed \(enable\)", logging.ERROR),
        jsl_expect_log(r"Extension ext_import_error failed \(import\): RuntimeError", logging.ERROR),
        jsl_expect_log(r"Extension broken_handlers failed \(load\): initialize_handlers: ValueError", logging.ERROR),
    ):
        app = jsl_server_factory(start=False)
    await app.start_server()
    model = json.loads((await jsl_fetch("api", "extensions", app=app)).body)
    by_name = {e["name"]: e for e in model["extensions"]}
    assert by_name["hello"]["state"] == "loaded" and by_name["ext_func"]["state"] == "loaded"
    assert by_name["ext_import_error"]["phase"] == "import"
    assert "broken on purpose" in by_name["ext_import_error"]["error"]
    assert by_name["broken_handlers"]["phase"] == "load"
    assert (
        by_name["broken_handlers"]["error"] == "initialize_handlers: ValueError: initialize_handlers fails on purpose"
    )
    assert "ext_handlers_error.py" in by_name["broken_handlers"]["traceback"]
    assert by_name["ext_malformed"]["phase"] == "enable" and "invalid JSON" in by_name["ext_malformed"]["error"]
    assert by_name["hello"]["enabled_by"] == {
        "path": str(jsl_dirs.sys_prefix / CONF_D / "ext_hello.json"),
        "level": "sys-prefix",
        "directory": str(jsl_dirs.sys_prefix),
    }
    # the loaded ones come first, in load order; the failed ones after, by name
    assert [e["state"] for e in own(model["extensions"])] == ["loaded", "loaded", "failed", "failed", "failed"]
    assert [e["state"] for e in model["extensions"]][-3:] == ["failed", "failed", "failed"]
    assert (await jsl_fetch("hello", "", app=app)).code == 200
    assert (await jsl_fetch("api", "status", app=app)).code == 200


def test_strict_mode_stops_the_start(jsl_server_factory, jsl_expect_log):
    config = {
        "ServerApp": {"strict_extensions": True, "jpserver_extensions": {"ext_import_error": True, "ext_hello": True}}
    }
    with jsl_expect_log(r"Extension ext_import_error failed", logging.ERROR), pytest.raises(ExtensionError) as err:
        jsl_server_factory(config=config, start=False)
    assert "strict_extensions" in str(err.value)
    assert "ext_import_error (import): RuntimeError: ext_import_error is broken on purpose" in str(err.value)


def test_strict_mode_command_line_exits_with_the_reason(jsl_dirs, tmp_path):
    import subprocess
    import sys

    env = dict(__import__("os").environ, PYTHONPATH=str(EXTENSIONS))
    cmd = [sys.executable, "-m", "jupyter_server_lite", "--strict-extensions", "--no-browser", "--port=0",
           "--ServerApp.jpserver_extensions=ext_import_error=True"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "ext_import_error (import): RuntimeError" in done.stderr


async def test_safe_mode_loads_nothing(jsl_server_factory, jsl_fetch, jsl_expect_log):
    app = jsl_server_factory(
        config={"ServerApp": {"jpserver_extensions": {"ext_hello": True}}},
        argv=["--safe-mode"],
        extensions=["ext_func"],
        start=False,
    )
    await app.start_server()
    model = json.loads((await jsl_fetch("api", "extensions", app=app)).body)
    assert model == {"safe_mode": True, "strict": False, "extensions": []}
    with jsl_expect_log("404 GET"), pytest.raises(HTTPClientError) as err:
        await jsl_fetch("hello", "", app=app)
    assert err.value.code == 404


def test_a_failed_requirement_fails_its_dependents(jsl_server_factory, jsl_expect_log):
    needs_import = named_app("needs_import", ["ext_import_error"])
    needs_load = named_app("needs_load", ["broken_handlers"])
    needs_nothing_there = named_app("needs_ghost", ["ghost"])
    with (
        jsl_expect_log(
            r"Extension needs_import failed \(order\): requires ext_import_error, which failed", logging.ERROR
        ),
        jsl_expect_log(r"Extension needs_load failed \(load\): requires broken_handlers, which failed", logging.ERROR),
        jsl_expect_log(r"needs_ghost failed \(order\): requires ghost, which is not enabled", logging.ERROR),
        jsl_expect_log(r"Extension (ext_import_error|broken_handlers) failed", logging.ERROR),
    ):
        app = jsl_server_factory(
            extensions=[needs_import, needs_load, needs_nothing_there, "ext_import_error", "ext_handlers_error"],
            start=False,
        )
    assert {r.name: r.state for r in own(app.extension_manager.records)} == dict.fromkeys(
        ["broken_handlers", "ext_import_error", "needs_ghost", "needs_import", "needs_load"], "failed"
    )


def test_bad_config_fails_in_configure(jsl_server_factory, jsl_dirs, jsl_expect_log):
    jsl_dirs.write_config("user", "jupyter_hello_config.json", "{ nope")
    with jsl_expect_log(
        r"Extension hello failed \(configure\): ConfigFileError: Cannot load config file .*jupyter_hello_config\.json",
        logging.ERROR,
    ):
        app = jsl_server_factory(extensions=["ext_hello"], start=False)
    record = app.extension_manager.get("hello")
    assert record.state == "failed" and record.phase == "configure"
    assert "load" not in record.timings and record.timings["configure"] >= 0


def test_wrong_trait_type_fails_in_configure(jsl_server_factory, jsl_expect_log):
    with jsl_expect_log(r"Extension hello failed \(configure\): TraitError", logging.ERROR):
        app = jsl_server_factory(config={"HelloApp": {"greeting": 5}}, extensions=["ext_hello"], start=False)
    assert app.extension_manager.get("ext_hello").phase == "configure"


def test_function_extension_is_called_with_the_server(jsl_server_factory, jsl_expect_log, monkeypatch):
    import ext_func

    monkeypatch.setattr(ext_func, "LOADED", [])
    raising = types.ModuleType("ext_raising_load")

    def boom(serverapp):
        raise OSError("cannot load")

    raising._load_jupyter_server_extension = boom
    with jsl_expect_log(
        r"Extension ext_raising_load failed \(load\): _load_jupyter_server_extension: OSError: cannot load",
        logging.ERROR,
    ):
        app = jsl_server_factory(extensions=[ext_func, raising], start=False)
    assert [app] == ext_func.LOADED
    assert app.extension_manager.get("ext_func").state == "loaded"


def test_records_time_each_phase(jsl_server_factory):
    app = jsl_server_factory(extensions=["ext_hello"], start=False)
    record = app.extension_manager.get("hello")
    assert set(record.timings) == {"import", "configure", "load"}
    assert all(t >= 0 for t in record.timings.values())
    model = record.to_model()
    assert model["load_time_ms"] == pytest.approx(sum(model["timings_ms"].values()), abs=0.01)


def test_registered_and_enabled_twice_is_one_extension(jsl_server_factory):
    import ext_hello

    app = jsl_server_factory(
        config={"ServerApp": {"jpserver_extensions": {"ext_hello": True}}}, extensions=[ext_hello.HelloApp], start=False
    )
    records = own(app.extension_manager.records)
    assert [(r.name, r.source, r.state) for r in records] == [("hello", "registered", "loaded")]


def test_registered_instance_is_used_as_given(jsl_server_factory):
    import ext_hello

    instance = ext_hello.HelloApp(greeting="Ahoy")
    app = jsl_server_factory(config={"HelloApp": {"greeting": "ignored"}}, extensions=[instance], start=False)
    record = app.extension_manager.get("hello")
    assert record.apps == [instance] and instance.greeting == "Ahoy" and instance.serverapp is app


def test_register_after_initialize_is_refused(jsl_server_factory):
    app = jsl_server_factory(start=False)
    with pytest.raises(RuntimeError, match=r"before ServerApp\.initialize"):
        app.register_extension("ext_hello")


def test_disabled_extension_is_not_loaded(jsl_server_factory, jsl_dirs):
    jsl_dirs.write_config("sys_prefix", f"{CONF_D}/ext_hello.json", enabler("ext_hello"))
    jsl_dirs.write_config("user", f"{CONF_D}/ext_hello.json", enabler("ext_hello", False))
    app = jsl_server_factory(start=False)
    assert own(app.extension_manager.records) == []


# -- GET /api/extensions ------------------------------------------------------------------


@pytest.fixture
def jsl_server_extensions():
    return ["ext_hello", "ext_func"]


async def test_api_lists_records(jsl_fetch, jsl_serverapp):
    model = json.loads((await jsl_fetch("api", "extensions")).body)
    assert model["safe_mode"] is False and model["strict"] is False
    hello = next(e for e in model["extensions"] if e["name"] == "hello")
    assert hello["module"] == "ext_hello" and hello["version"] == "1.2.3" and hello["state"] == "loaded"
    assert hello["error"] == "" and hello["url"] == "/hello/" and hello["source"] == "config"
    assert "/extension/api/hello/greet/([^/]+)" in hello["routes"]
    assert set(hello["timings_ms"]) == {"import", "configure", "load"} and hello["load_time_ms"] >= 0
    one = json.loads((await jsl_fetch("api", "extensions", "hello")).body)
    assert one == hello
    by_module = json.loads((await jsl_fetch("api", "extensions", "ext_func")).body)
    assert by_module["name"] == "ext_func" and by_module["routes"] == []


async def test_api_needs_authentication_and_knows_unknowns(jsl_fetch, jsl_expect_log):
    with jsl_expect_log("403 GET"), pytest.raises(HTTPClientError) as err:
        await jsl_fetch("api", "extensions", authenticated=False)
    assert err.value.code == 403
    with jsl_expect_log("404 GET"), pytest.raises(HTTPClientError) as err:
        await jsl_fetch("api", "extensions", "nope")
    assert json.loads(err.value.response.body)["message"] == "No extension named 'nope'"


async def test_landing_page_links_loaded_extensions(jsl_fetch, jsl_serverapp):
    html = (await jsl_fetch("")).body.decode()
    assert f'<a href="{jsl_serverapp.base_url}hello/">hello</a>' in html


def test_a_point_may_name_a_function_module(jsl_server_factory, monkeypatch):
    import ext_func

    monkeypatch.setattr(ext_func, "LOADED", [])
    package = types.ModuleType("ext_points_to_func")
    package._jupyter_server_extension_points = lambda: [{"module": "ext_func"}]
    app = jsl_server_factory(extensions=[package], start=False)
    record = own(app.extension_manager.records)[0]
    assert (record.module, record.name, record.state) == ("ext_points_to_func", "ext_func", "loaded")
    assert [app] == ext_func.LOADED


def test_the_start_never_scans_entry_points(jsl_server_factory, jsl_dirs, monkeypatch):
    import importlib.metadata

    def forbidden(*args, **kwargs):
        raise AssertionError("the server start scanned installed distributions")

    monkeypatch.setattr(importlib.metadata, "entry_points", forbidden)
    monkeypatch.setattr(importlib.metadata, "distributions", forbidden)
    jsl_dirs.write_config("sys_prefix", f"{CONF_D}/ext_hello.json", enabler("ext_hello"))
    app = jsl_server_factory()
    assert app.extension_manager.get("hello").state == "loaded"


# -- the manager on its own: a plan in, a result out ---------------------------------------


class Untouchable:
    """A server object the manager may hand to extensions but never read: any attribute access fails."""

    def __getattribute__(self, name: str):
        raise AssertionError(f"the manager read serverapp.{name}")


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self, level: int) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == level]


@pytest.fixture
def manager_log():
    log = logging.getLogger(f"test_manager.{id(object())}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    collect = Collect()
    log.addHandler(collect)
    log.collected = collect
    return log


def make_manager(plan, log, serverapp=None, base_url="/b%20u/", strict=False):
    from jupyter_server_lite.extension.manager import ExtensionManager
    from jupyter_server_lite.extension.plugins import Hooks

    return ExtensionManager(
        plan, serverapp=serverapp or Untouchable(), hooks=Hooks(log), base_url=base_url, log=log, strict=strict
    )


def test_the_manager_reads_no_server_attribute(manager_log, monkeypatch):
    """It gets the plan, hooks, base_url, strict and a log; the server object only goes to the extensions."""
    import ext_func
    import ext_hello

    from jupyter_server_lite.extension.plan import ExtensionPlan, PlannedExtension

    monkeypatch.setattr(ext_func, "LOADED", [])
    server = Untouchable()
    page = ext_hello.HelloApp()  # a registered instance is used as given: nothing reads the server to configure it
    plan = ExtensionPlan(
        (
            PlannedExtension("ext_hello", source="starter", obj=page),
            PlannedExtension("ext_func", source="registered", obj=ext_func),
        )
    )
    manager = make_manager(plan, manager_log, serverapp=server)
    result = manager.load_all()
    assert [(r.name, r.source, r.state) for r in result.records] == [
        ("ext_func", "registered", "loaded"),
        ("hello", "starter", "loaded"),
    ]
    assert len(ext_func.LOADED) == 1 and ext_func.LOADED[0] is server and page.serverapp is server
    assert result.records == manager.records and manager.get("ext_hello").apps == [page]
    assert {rule.matcher.prefix for rule in result.rules} == {
        "/b%20u/hello",
        "/b%20u/extension/api/hello",
        "/b%20u/static/hello",
    }
    assert result.tornado_settings == {"extension_settings": {"hello": {"greeting": "Hello", "loaded_by": "ext_hello"}}}
    assert result.landing_page == "/hello/"  # the starter's: the server decides whether it becomes default_url


def test_the_manager_suggests_the_best_frontend_and_sums_up(manager_log):
    from jupyter_server_lite.extension.plan import ExtensionPlan, PlannedExtension

    class Page(ExtensionHandler):
        def get(self):
            self.finish("page")

    low = named_app("low", handlers=[("/?", Page)], frontend_priority=1)()  # instances: configured already
    high = named_app("high", handlers=[("/?", Page)], frontend_priority=5)()
    plan = ExtensionPlan(
        tuple(
            PlannedExtension(module, source="registered", obj=obj)
            for module, obj in (("low", low), ("high", high), ("ext_import_error", None))
        )
    )
    result = make_manager(plan, manager_log).load_all()
    assert result.landing_page == "/high/"
    collected = manager_log.collected
    assert collected.lines(logging.ERROR) == [
        "Extension ext_import_error failed (import): RuntimeError: ext_import_error is broken on purpose"
    ]
    assert collected.lines(logging.INFO)[-1] == "Extensions: 2 loaded (high, low), 1 failed (ext_import_error)"


def test_the_summary_names_replaced_extensions(jsl_server_factory, monkeypatch, jsl_dirs):
    from jupyter_server_lite import bundled

    monkeypatch.setattr(bundled, "BUNDLED_EXTENSIONS", ("ext_bundled_contents",))
    app = jsl_server_factory(extensions=["ext_contents_ro"], start=False)
    assert app.extension_manager.summary() == (
        "Extensions: 1 loaded (rocontents), 1 replaced (bundledcontents, for rocontents)"
    )


def test_strict_mode_is_the_managers_own_switch(manager_log):
    from jupyter_server_lite.extension.plan import ExtensionPlan, PlannedExtension

    plan = ExtensionPlan((PlannedExtension("ext_import_error", source="registered"),))
    with pytest.raises(ExtensionError, match="ext_import_error"):
        make_manager(plan, manager_log, strict=True).load_all()
    assert manager_log.collected.lines(logging.INFO)[-1] == "Extensions: 0 loaded, 1 failed (ext_import_error)"
