"""ExtensionApp (extension/application.py) and its handlers (extension/handler.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from traitlets import Unicode, default

from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.extension.handler import ExtensionAPIHandler, ExtensionHandler

EXTENSIONS = Path(__file__).parent / "extensions"


@pytest.fixture(autouse=True)
def _test_extensions_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(EXTENSIONS))


def hello_app(serverapp):
    return serverapp.extension_manager.get("hello").apps[0]


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize("level", ["user", "sys_prefix", "system"])
def test_traits_from_own_config_file_at_any_level(jsl_server_factory, jsl_dirs, level):
    jsl_dirs.write_config(level, "jupyter_hello_config.json", {"HelloApp": {"greeting": f"Hi from {level}"}})
    app = jsl_server_factory(extensions=["ext_hello"], start=False)
    assert hello_app(app).greeting == f"Hi from {level}"


def test_own_python_config_file_and_level_precedence(jsl_server_factory, jsl_dirs):
    jsl_dirs.write_config("system", "jupyter_hello_config.json", {"HelloApp": {"greeting": "system"}})
    jsl_dirs.write_config("user", "jupyter_hello_config.py", "c.HelloApp.greeting = 'user (py)'\n")
    app = jsl_server_factory(extensions=["ext_hello"], start=False)
    assert hello_app(app).greeting == "user (py)"


def test_server_config_under_the_class_name_wins(jsl_server_factory, jsl_dirs):
    jsl_dirs.write_config("user", "jupyter_hello_config.json", {"HelloApp": {"greeting": "own file"}})
    jsl_dirs.write_config("sys_prefix", "jupyter_server_lite_config.json", {"HelloApp": {"greeting": "server file"}})
    app = jsl_server_factory(extensions=["ext_hello"], start=False)
    assert hello_app(app).greeting == "server file"


def test_command_line_configures_the_extension(jsl_server_factory):
    app = jsl_server_factory(extensions=["ext_hello"], argv=["--HelloApp.greeting=from the CLI"], start=False)
    app_ext = hello_app(app)
    assert app_ext.greeting == "from the CLI"
    assert app.web_app.settings["extension_settings"]["hello"]["greeting"] == "from the CLI"


def test_base_class_traits_are_configurable_per_extension(jsl_server_factory):
    app = jsl_server_factory(
        config={"HelloApp": {"extension_url": "/hello/core"}}, extensions=["ext_hello"], start=False
    )
    assert hello_app(app).landing_url == "/hello/core"
    assert app.default_url == "/"  # only a starter changes the server's start-up URL
    assert ("hello", f"{app.base_url}hello/core") in app.extension_links()


def test_extension_logs_through_the_server_log(jsl_server_factory):
    app = jsl_server_factory(extensions=["ext_hello"], start=False)
    assert hello_app(app).log.parent is app.log


# -- paths, templates, settings ----------------------------------------------------------


def test_relative_paths_resolve_from_the_extension_module(jsl_server_factory):
    app = jsl_server_factory(extensions=["ext_hello"], start=False)
    ext = hello_app(app)
    assert ext.resolved_paths(ext.static_paths) == [str(EXTENSIONS / "ext_hello" / "static")]
    assert ext.resolved_paths(ext.template_paths) == [str(EXTENSIONS / "ext_hello" / "templates")]
    assert ext.static_version("hello.js") and ext.static_version("missing.js") == ""


def test_static_path_must_exist(jsl_server_factory, jsl_expect_log):
    class NoStatic(ExtensionApp):
        name = "nostatic"

        @default("static_paths")
        def _static(self):
            return ["does-not-exist"]

    import logging

    with jsl_expect_log(
        r"Extension nostatic failed \(load\): mounting routes: MountError: static path .*does-not-exist is not a directory",
        logging.ERROR,
    ):
        jsl_server_factory(extensions=[NoStatic], start=False)


class Items(ExtensionAPIHandler):
    def initialize(self, store: dict) -> None:
        self.store = store

    def get(self, key: str) -> None:
        self.finish_json({"key": key, "value": self.store.get(key), "config": self.config["ItemsApp"]["flavour"]})


class ItemsPage(ExtensionHandler):
    def get(self) -> None:
        self.finish(self.render_template("items.html", items=sorted(self.extension_settings["items"])))


class ItemsApp(ExtensionApp):
    name = "items"
    flavour = Unicode("plain", help="A configurable value handlers can read.").tag(config=True)

    def initialize_settings(self) -> None:
        self.settings["items"] = {"a": 1, "b": 2}

    def initialize_templates(self) -> None:
        import jinja2

        super().initialize_templates()
        # Templates from memory first, then the core's (the fallback stays).
        self.jinja2_env.loader = jinja2.ChoiceLoader(
            [
                jinja2.DictLoader(
                    {"items.html": "<ul>{% for i in items %}<li>{{ i }}</li>{% endfor %}</ul>{{ extension_url }}"}
                ),
                self.jinja2_env.loader,
            ]
        )

    def initialize_handlers(self) -> None:
        self.handlers = [(r"/items/(\w+)", Items, {"store": self.settings["items"]}), ("/", ItemsPage)]


async def test_override_points_feed_handlers(jsl_server_factory, jsl_fetch):
    app = jsl_server_factory(config={"ItemsApp": {"flavour": "spicy"}}, extensions=[ItemsApp], start=False)
    await app.start_server()
    model = json.loads((await jsl_fetch("extension", "api", "items", "items", "a", app=app)).body)
    assert model == {"key": "a", "value": 1, "config": "spicy"}
    html = (await jsl_fetch("items", "", app=app)).body.decode()
    assert html == f"<ul><li>a</li><li>b</li></ul>{app.base_url}items/"


def test_exception_in_initialize_settings_names_the_step(jsl_server_factory, jsl_expect_log):
    class Boom(ExtensionApp):
        name = "boom"

        def initialize_settings(self) -> None:
            raise KeyError("missing")

    import logging

    with jsl_expect_log(r"Extension boom failed \(load\): initialize_settings: KeyError: 'missing'", logging.ERROR):
        app = jsl_server_factory(extensions=[Boom], start=False)
    assert "boom" not in app.web_app.settings["extension_settings"]


# -- cheap imports -------------------------------------------------------------------------


def test_importing_the_extension_api_is_cheap():
    code = (
        "import sys\n"
        "import jupyter_server_lite.extension.application\n"
        "heavy = [m for m in ('jupyter_client', 'zmq', 'ipykernel', 'tornado.web', 'jinja2', "
        "'jupyter_server_lite.serverapp') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- the starter (``jupyter <name>``) in process; see test_extension_launch.py for the real command ----


class Starter(ExtensionApp):
    name = "starter"
    requires = ["ext_func"]
    serverapp_config = {"default_url": "/configured/"}


def test_starter_alone_loads_its_requirements(jsl_dirs):
    from jupyter_server_lite.serverapp import ServerApp

    enabled = {"ext_func": True, "ext_hello": True}
    jsl_dirs.write_config("user", "jupyter_server_lite_config.json", {"ServerApp": {"jpserver_extensions": enabled}})
    serverapp = Starter.make_serverapp()
    try:
        serverapp.initialize(["--port=0", "--no-browser", "--Starter.load_other_extensions=False"])
        records = serverapp.extension_manager.records
        assert [(r.name, r.source, r.state) for r in records if not r.bundled] == [  # service providers load anyway
            ("ext_func", "config", "loaded"),
            ("starter", "starter", "loaded"),
        ]
        assert serverapp.default_url == "/configured/"  # from Starter.serverapp_config
    finally:
        ServerApp.clear_instance()


class Defaults(ExtensionApp):
    name = "defaults"
    serverapp_config = {"port_retries": 7, "max_body_size": 1234}


def test_serverapp_config_is_below_the_config_files(jsl_dirs):
    """The starter's serverapp_config gives defaults: config files and the command line win over it."""
    from jupyter_server_lite.serverapp import ServerApp

    jsl_dirs.write_config("user", "jupyter_server_lite_config.json", {"ServerApp": {"port_retries": 3}})
    serverapp = Defaults.make_serverapp()
    try:
        serverapp.initialize(["--port=0", "--no-browser", "--ServerApp.max_body_size=99"])
        assert serverapp.port_retries == 3  # the file beats serverapp_config
        assert serverapp.max_body_size == 99  # the command line too
    finally:
        ServerApp.clear_instance()
    serverapp = Defaults.make_serverapp()
    try:
        serverapp.initialize(["--port=0", "--no-browser"])
        assert (serverapp.port_retries, serverapp.max_body_size) == (3, 1234)  # where nothing else says
    finally:
        ServerApp.clear_instance()


def test_the_starter_is_found_by_its_module_and_keeps_its_enabler(jsl_dirs):
    from ext_hello import HelloApp

    from jupyter_server_lite.serverapp import ServerApp

    path = jsl_dirs.write_config(
        "system",
        "jupyter_server_lite_config.d/ext_hello.json",
        {"ServerApp": {"jpserver_extensions": {"ext_hello": True}}},
    )
    serverapp = HelloApp.make_serverapp()
    try:
        serverapp.initialize(["--port=0", "--no-browser"])
        record = serverapp.extension_manager.get("ext_hello")
        assert record is serverapp.extension_manager.get("hello") and record.source == "starter"
        assert record.enabled_by == {"path": str(path), "level": "system", "directory": str(jsl_dirs.system)}
        assert [r.module for r in serverapp.extension_manager.records].count("ext_hello") == 1
        assert serverapp.default_url == "/hello/"  # the landing page the manager suggested
    finally:
        ServerApp.clear_instance()
