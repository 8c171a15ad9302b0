"""The extension plan (extension/plan.py): what a start considers, and where each extension came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_server_lite.bundled import BUNDLED_EXTENSIONS
from jupyter_server_lite.cli import extension as cli
from jupyter_server_lite.configfiles import load_config_files
from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.extension.plan import Registration, build_plan, read_plan, registered_module

EXTENSIONS = Path(__file__).parent / "extensions"
CONF_D = "jupyter_server_lite_config.d"


@pytest.fixture(autouse=True)
def _test_extensions_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(EXTENSIONS))


def enabler(name: str, enabled: bool = True) -> dict:
    return {"ServerApp": {"jpserver_extensions": {name: enabled}}}


def loaded(jsl_dirs):
    return load_config_files([str(jsl_dirs.user), str(jsl_dirs.sys_prefix), str(jsl_dirs.system)])


def test_every_entry_says_where_it_came_from(jsl_dirs):
    import ext_launch

    jsl_dirs.write_config("sys_prefix", f"{CONF_D}/ext_hello.json", enabler("ext_hello"))
    jsl_dirs.write_config("user", f"{CONF_D}/ext_func.json", enabler("ext_func", False))
    jsl_dirs.write_config("user", f"{CONF_D}/ext_broken.json", "{nope")
    plan = build_plan(
        loaded(jsl_dirs),
        registered=[Registration("ext_exits"), Registration(ext_launch.LaunchApp, as_starter=True)],
        program={"ext_func": True},
        command_line={"ext_import_error": True},
    )
    # registered ones first (the starter first of all), then every named module in order
    assert [(e.module, e.source) for e in plan.extensions] == [
        ("ext_launch", "starter"),
        ("ext_exits", "registered"),
        ("ext_broken", "config"),
        ("ext_func", "config"),
        ("ext_hello", "config"),
        ("ext_import_error", "config"),
        *((module, "config") for module in sorted(BUNDLED_EXTENSIONS)),
    ]
    hello = plan.get("ext_hello")
    assert hello.enabled and hello.enabled_by.level == "sys-prefix"
    assert hello.enabled_by.directory == str(jsl_dirs.sys_prefix)
    # the program's config is a level above every file, the command line above that
    func = plan.get("ext_func")
    assert func.enabled and [(s.level, s.enabled) for s in func.enablers] == [("program", True), ("user", False)]
    cli_enabled = plan.get("ext_import_error").enabled_by
    assert (cli_enabled.level, cli_enabled.path, cli_enabled.directory) == ("command line", "command line", None)
    broken = plan.get("ext_broken")
    assert not broken.enabled and broken.to_load and "invalid JSON" in broken.broken
    assert plan.starter.module == "ext_launch" and plan.starter.enabled_by is None
    assert plan.switches() == {
        "ext_func": True,
        "ext_hello": True,
        "ext_import_error": True,
        **dict.fromkeys(BUNDLED_EXTENSIONS, True),
    }


def test_a_registered_app_is_the_module_that_declares_it(jsl_dirs):
    """The starter of ``jupyter <ext>`` keeps its module, and the enabler that names it (issue 12)."""
    import ext_hello
    import ext_launch

    jsl_dirs.write_config("user", f"{CONF_D}/ext_launch.json", enabler("ext_launch"))
    plan = build_plan(loaded(jsl_dirs), registered=[Registration(ext_launch.LaunchApp, as_starter=True)])
    starter = plan.starter
    assert starter.module == "ext_launch" and starter.source == "starter"
    assert starter.enabled_by.path == str(jsl_dirs.user / CONF_D / "ext_launch.json")
    assert [e.module for e in plan.extensions].count("ext_launch") == 1  # one entry, not two
    assert registered_module(ext_hello.HelloApp()) == "ext_hello"  # an instance too
    assert registered_module(ext_hello) == "ext_hello" and registered_module("x.y") == "x.y"

    class Loose(ExtensionApp):
        name = "loose"

    assert registered_module(Loose) == f"{__name__}:{Loose.__qualname__}"  # no module declares it


def test_safe_mode_is_part_of_the_plan(jsl_dirs):
    plan = build_plan(loaded(jsl_dirs), safe_mode=True)
    assert plan.safe_mode and plan.get(BUNDLED_EXTENSIONS[0]).enabled


def test_the_server_and_extension_list_make_the_same_plan(jsl_server_factory, jsl_dirs, capsys, jsl_expect_log):
    """One function builds both, from the same files: they cannot disagree."""
    import logging

    jsl_dirs.write_config("system", f"{CONF_D}/ext_hello.json", enabler("ext_hello", False))
    jsl_dirs.write_config("sys_prefix", f"{CONF_D}/ext_hello.json", enabler("ext_hello"))
    jsl_dirs.write_config("user", f"{CONF_D}/ext_func.json", enabler("ext_func", False))
    jsl_dirs.write_config("user", f"{CONF_D}/zz_policy.json", enabler("ext_func", True))
    jsl_dirs.write_config("sys_prefix", "jupyter_server_lite_config.json", enabler("ext_exits", False))
    with jsl_expect_log(r"Config file .*typo\.json enables no extension", logging.WARNING):
        jsl_dirs.write_config("user", f"{CONF_D}/typo.json", {"ServerAPP": {"jpserver_extensions": {"ext_x": True}}})
        app = jsl_server_factory(start=False)
    served = app.extension_plan
    listed = read_plan()
    assert served.extensions == listed.extensions and served.typos == listed.typos
    assert cli.main(["list", "--json"]) == 0
    rows = {row["module"]: row for row in json.loads(capsys.readouterr().out)["extensions"]}
    for entry in served.extensions:
        row = rows[entry.module]
        assert row["enabled"] == entry.enabled, entry.module
        assert row["level"] == (entry.in_force.level if entry.in_force else None), entry.module
    # and what loaded is what the plan enabled
    loaded_modules = {r.module for r in app.extension_manager.records if r.state == "loaded"}
    assert loaded_modules == {e.module for e in served.to_load()}


def test_read_plan_follows_jupyter_config_path(jsl_dirs):
    jsl_dirs.write_config("user", f"{CONF_D}/ext_hello.json", enabler("ext_hello"))
    entry = read_plan().get("ext_hello")
    assert entry.enabled and entry.in_force.directory == str(jsl_dirs.user)
