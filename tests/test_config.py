"""Layered configuration (configfiles.py) as ServerApp sees it, and its docs.

The ``jsl_dirs`` fixture gives three isolated config levels: ``user``
(highest), ``sys_prefix`` and ``system`` (lowest).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from jupyter_server_lite.bundled import BUNDLED_EXTENSIONS
from jupyter_server_lite.configfiles import ConfigFileError, load_config_files

MAIN = "jupyter_server_lite_config.json"
MAIN_PY = "jupyter_server_lite_config.py"
CONF_D = "jupyter_server_lite_config.d"
DOCS = Path(__file__).resolve().parents[1] / "docs"
#: The bundled extensions are on at the lowest level of every server's config.
BUNDLED = dict.fromkeys(BUNDLED_EXTENSIONS, True)


def enabler(name: str, enabled: bool) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {name: enabled}}}


def build(factory: Any, **kwargs: Any) -> Any:
    """A server built (not started) in safe mode, so named extensions are not imported."""
    argv = ["--safe-mode", *kwargs.pop("argv", [])]
    return factory(start=False, argv=argv, **kwargs)


# -- precedence ------------------------------------------------------------------


def test_user_level_beats_sys_prefix_beats_system(jsl_dirs, jsl_server_factory):
    jsl_dirs.write_config(
        "system", MAIN, {"ServerApp": {"port_retries": 1, "default_url": "/system", "max_body_size": 1}}
    )
    jsl_dirs.write_config("sys_prefix", MAIN, {"ServerApp": {"port_retries": 2, "default_url": "/sys-prefix"}})
    jsl_dirs.write_config("user", MAIN, {"ServerApp": {"port_retries": 3}})
    app = build(jsl_server_factory)
    assert app.port_retries == 3  # user
    assert app.default_url == "/sys-prefix"  # sys-prefix, user silent
    assert app.max_body_size == 1  # system, the others silent
    files = app.loaded_config.files
    assert (
        files.index(str(jsl_dirs.system / MAIN))
        < files.index(str(jsl_dirs.sys_prefix / MAIN))
        < files.index(str(jsl_dirs.user / MAIN))
    )


def test_python_file_beats_json_beats_conf_d_at_one_level(jsl_dirs, jsl_server_factory):
    jsl_dirs.write_config("user", f"{CONF_D}/tuning.json", {"ServerApp": {"port_retries": 1, "default_url": "/conf-d"}})
    jsl_dirs.write_config("user", MAIN, {"ServerApp": {"port_retries": 2}})
    jsl_dirs.write_config("user", MAIN_PY, "c.ServerApp.port_retries = 3\n")
    app = build(jsl_server_factory)
    assert app.port_retries == 3
    assert app.default_url == "/conf-d"


def test_identity_provider_config_from_files(jsl_dirs, jsl_server_factory):
    jsl_dirs.write_config("sys_prefix", MAIN, {"IdentityProvider": {"token": "from-sys-prefix", "username": "ada"}})
    jsl_dirs.write_config("user", MAIN, {"IdentityProvider": {"token": "from-user"}})
    app = build(jsl_server_factory)
    assert app.identity_provider.token == "from-user"
    assert app.identity_provider.username == "ada"


def test_config_option_file_beats_every_level_and_cli_beats_it(jsl_dirs, jsl_server_factory, tmp_path):
    jsl_dirs.write_config("user", MAIN, {"ServerApp": {"port_retries": 3, "default_url": "/user"}})
    extra = tmp_path / "extra_config.py"
    extra.write_text("c.ServerApp.port_retries = 7\nc.ServerApp.default_url = '/extra'\n", encoding="utf-8")
    app = build(jsl_server_factory, argv=[f"--config={extra}", "--port-retries=9"])
    assert app.port_retries == 9  # command line
    assert app.default_url == "/extra"  # --config file
    assert app.loaded_config.files[-1] == str(extra)


def test_config_option_accepts_json(jsl_server_factory, tmp_path):
    extra = tmp_path / "extra.json"
    extra.write_text('{"ServerApp": {"port_retries": 4}}', encoding="utf-8")
    assert build(jsl_server_factory, argv=[f"--config={extra}"]).port_retries == 4


def test_cli_beats_files(jsl_dirs, jsl_server_factory):
    jsl_dirs.write_config("user", MAIN, {"ServerApp": {"port_retries": 3}, "IdentityProvider": {"token": "file"}})
    app = build(jsl_server_factory, argv=["--ServerApp.port_retries=5", "--token=cli"])
    assert app.port_retries == 5
    assert app.identity_provider.token == "cli"


# -- extensions: enabler files -------------------------------------------------------------


def test_conf_d_disable_beats_enable_at_one_level(jsl_dirs, jsl_server_factory):
    on = jsl_dirs.write_config("sys_prefix", f"{CONF_D}/a_on.json", enabler("ext_x", True))
    off = jsl_dirs.write_config("sys_prefix", f"{CONF_D}/z_off.json", enabler("ext_x", False))
    jsl_dirs.write_config("sys_prefix", f"{CONF_D}/ext_y.json", enabler("ext_y", True))
    app = build(jsl_server_factory)
    assert app.jpserver_extensions == {**BUNDLED, "ext_x": False, "ext_y": True}
    sources = app.loaded_config.provenance["ext_x"]
    assert [(s.enabled, s.path) for s in sources] == [(False, str(off)), (True, str(on))]


def test_disable_wins_whatever_the_file_order(jsl_dirs):
    jsl_dirs.write_config("user", f"{CONF_D}/a_off.json", enabler("ext_x", False))
    jsl_dirs.write_config("user", f"{CONF_D}/z_on.json", enabler("ext_x", True))
    loaded = load_config_files([str(jsl_dirs.user)])
    assert loaded.extensions == {**BUNDLED, "ext_x": False}


def test_higher_level_overrides_lower_either_way(jsl_dirs, jsl_server_factory):
    jsl_dirs.write_config("system", f"{CONF_D}/ext_a.json", enabler("ext_a", False))
    jsl_dirs.write_config("user", f"{CONF_D}/ext_a.json", enabler("ext_a", True))
    jsl_dirs.write_config("system", f"{CONF_D}/ext_b.json", enabler("ext_b", True))
    jsl_dirs.write_config("sys_prefix", MAIN, enabler("ext_b", False))
    app = build(jsl_server_factory)
    assert app.jpserver_extensions == {**BUNDLED, "ext_a": True, "ext_b": False}
    source = app.loaded_config.provenance["ext_a"][0]
    assert (source.level, source.directory) == ("user", str(jsl_dirs.user))


def test_cli_extensions_merge_by_key(jsl_dirs, jsl_server_factory):
    jsl_dirs.write_config("sys_prefix", f"{CONF_D}/ext_a.json", enabler("ext_a", True))
    jsl_dirs.write_config("sys_prefix", f"{CONF_D}/ext_b.json", enabler("ext_b", True))
    argv = ["--ServerApp.jpserver_extensions=ext_b=False", "--ServerApp.jpserver_extensions=ext_c=True"]
    app = build(jsl_server_factory, argv=argv)
    assert app.jpserver_extensions == {**BUNDLED, "ext_a": True, "ext_b": False, "ext_c": True}


def test_config_option_file_decides_extensions_above_levels(jsl_dirs, jsl_server_factory, tmp_path):
    jsl_dirs.write_config("user", f"{CONF_D}/ext_a.json", enabler("ext_a", True))
    extra = tmp_path / "extra.json"
    extra.write_text('{"ServerApp": {"jpserver_extensions": {"ext_a": false}}}', encoding="utf-8")
    app = build(jsl_server_factory, argv=[f"--config={extra}"])
    assert app.jpserver_extensions == {**BUNDLED, "ext_a": False}
    source = app.loaded_config.provenance["ext_a"][0]
    assert (source.level, source.path, source.directory) == ("--config", str(extra), None)


# -- broken files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "text", "problem"),
    [
        (MAIN, '{"ServerApp": {"port": 1,}}', "invalid JSON"),
        (MAIN, '["not", "an", "object"]', "must be a JSON object, not list"),
        (MAIN, '{"ServerApp": {"jpserver_extensions": {"x": "yes"}}}', "must map extension names to true or false"),
        (MAIN_PY, "c.ServerApp.port = (\n", "SyntaxError"),
        (MAIN_PY, "raise RuntimeError('custom failure')\n", "RuntimeError: custom failure"),
        (MAIN, b"\xff\xfe{}", "codec can't decode"),
    ],
)
def test_broken_main_config_file_stops_the_start_naming_it(jsl_dirs, jsl_server_factory, filename, text, problem):
    path = jsl_dirs.level("sys_prefix") / filename
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        jsl_dirs.write_config("sys_prefix", filename, text)
    with pytest.raises(ConfigFileError) as err:
        build(jsl_server_factory)
    assert err.value.path == str(path)
    assert str(path) in str(err.value) and problem in str(err.value)


def test_missing_config_option_file_is_an_error(jsl_server_factory, tmp_path):
    with pytest.raises(ConfigFileError, match="no such file"):
        build(jsl_server_factory, argv=[f"--config={tmp_path / 'nope.py'}"])


def test_malformed_conf_d_file_is_recorded_against_its_extension(jsl_dirs, jsl_server_factory, jsl_expect_log):
    bad = jsl_dirs.write_config("sys_prefix", f"{CONF_D}/ext_bad.json", '{"ServerApp": ')
    jsl_dirs.write_config("sys_prefix", f"{CONF_D}/ext_ok.json", enabler("ext_ok", True))
    with jsl_expect_log(re.escape(str(bad)), logging.ERROR):
        app = build(jsl_server_factory)
    assert app.jpserver_extensions == {**BUNDLED, "ext_ok": True}  # the rest of the config still applies
    problem = app.loaded_config.broken_enablers["ext_bad"]
    assert str(bad) in problem and "invalid JSON" in problem


def test_unknown_trait_value_type_names_the_trait(jsl_dirs, jsl_server_factory):
    jsl_dirs.write_config("user", MAIN, {"ServerApp": {"port": "eighty"}})
    with pytest.raises(Exception, match="port"):
        build(jsl_server_factory)


def test_bad_command_line_value_exits_naming_the_trait(jsl_server_factory, tmp_path, jsl_expect_log):
    """traitlets turns a bad value on the command line into a CRITICAL line and exit 1."""
    with (
        jsl_expect_log(r"root_dir: .*missing' is not a directory", logging.CRITICAL),
        pytest.raises(SystemExit) as exit_,
    ):
        build(jsl_server_factory, argv=[f"--root-dir={tmp_path / 'missing'}"])
    assert exit_.value.code == 1


# -- the docs pages ------------------------------------------------------------------

# The configuration reference is generated from the traits: tests/test_reference_docs.py.


def test_docs_index_links_every_page_and_links_resolve():
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name != "index.md")
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    assert [p for p in pages if f"]({p})" not in index] == [], "docs/index.md must link every page"
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (DOCS / target).is_file(), f"{page.name} links to missing {target}"


# -- enabler typos: a conf.d file that enables nothing ------------------------------------------


@pytest.mark.parametrize(
    ("data", "found", "meant", "modules"),
    [
        ({"ServerAPP": {"jpserver_extensions": {"ext_x": True}}}, "ServerAPP.jpserver_extensions", None, ("ext_x",)),
        ({"server_app": {"jpserver_extensions": {"ext_x": True}}}, "server_app.jpserver_extensions", None, ("ext_x",)),
        (
            {"NotebookApp": {"jpserver_extensions": {"ext_x": True}}},
            "NotebookApp.jpserver_extensions",
            None,
            ("ext_x",),
        ),
        ({"jpserver_extensions": {"ext_x": True}}, "jpserver_extensions", None, ("ext_x",)),
        ({"Serverapp": {"port_retries": 1}}, "Serverapp", "ServerApp", ()),
    ],
)
def test_a_conf_d_file_that_enables_nothing_is_a_warning(
    jsl_dirs, jsl_server_factory, jsl_expect_log, data, found, meant, modules
):
    meant = meant or "ServerApp.jpserver_extensions"
    path = jsl_dirs.write_config("user", f"{CONF_D}/ext_x.json", data)
    message = f"'{found}' is not read by the server; did you mean '{meant}'?"
    with jsl_expect_log(rf"^Config file {re.escape(str(path))} enables no extension: {re.escape(message)}$"):
        app = build(jsl_server_factory)
    assert "ext_x" not in app.jpserver_extensions
    [typo] = app.extension_plan.typos
    assert (typo.path, typo.level, typo.found, typo.meant, typo.modules) == (str(path), "user", found, meant, modules)
    if modules:
        assert app.extension_plan.get("ext_x").typos == (typo,)


def test_a_near_miss_key_warns_with_the_file_too(jsl_dirs, jsl_server_factory, jsl_expect_log):
    """traitlets' own warning does not say which file; ours does."""
    path = jsl_dirs.write_config(
        "sys_prefix", f"{CONF_D}/ext_x.json", {"ServerApp": {"jpserver_extension": {"ext_x": True}}}
    )
    with (
        jsl_expect_log(
            rf"Config file {re.escape(str(path))} enables no extension: 'ServerApp.jpserver_extension' is not read "
            r"by the server; did you mean 'ServerApp.jpserver_extensions'\?"
        ),
        jsl_expect_log(r"Config option `jpserver_extension` not recognized by `ServerApp`"),
    ):
        app = build(jsl_server_factory)
    assert app.extension_plan.typos[0].level == "sys-prefix"


def test_other_config_in_a_conf_d_file_is_no_typo(jsl_dirs, jsl_server_factory):
    jsl_dirs.write_config("user", f"{CONF_D}/tuning.json", {"IdentityProvider": {"username": "ada"}})
    jsl_dirs.write_config("user", f"{CONF_D}/ext_y.json", {"ServerApp": {"jpserver_extensions": {"ext_y": True}}})
    app = build(jsl_server_factory)  # the log guard fails the test on any warning
    assert app.extension_plan.typos == () and app.jpserver_extensions["ext_y"] is True


@pytest.mark.parametrize(("prefer_env", "port_retries", "enabled"), [("0", 3, False), ("1", 2, True)])
def test_a_server_reads_the_levels_in_jupyter_cores_order(
    jsl_dirs, jsl_server_factory, monkeypatch, prefer_env, port_retries, enabled
):
    """JUPYTER_PREFER_ENV_PATH=1 (a virtualenv's default) puts sys-prefix above user, for traits and enablers alike."""
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", prefer_env)
    jsl_dirs.write_config("user", MAIN, {"ServerApp": {"port_retries": 3}})
    jsl_dirs.write_config("sys_prefix", MAIN, {"ServerApp": {"port_retries": 2}})
    jsl_dirs.write_config("user", f"{CONF_D}/ext_a.json", enabler("ext_a", False))
    jsl_dirs.write_config("sys_prefix", f"{CONF_D}/ext_a.json", enabler("ext_a", True))
    app = build(jsl_server_factory)
    assert app.port_retries == port_retries
    assert app.jpserver_extensions["ext_a"] is enabled
