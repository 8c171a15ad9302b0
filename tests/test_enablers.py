"""Enabler files: config levels and the merged view (configfiles.py), writing them (cli/enablers.py)."""

import json
import os

import pytest

from jupyter_server_lite import configfiles
from jupyter_server_lite.cli import enablers

ENABLER = "jupyter_server_lite_config.d/{}.json"


def enabler(name, enabled):
    return {"ServerApp": {"jpserver_extensions": {name: enabled}}}


@pytest.mark.parametrize("level", configfiles.LEVELS)
def test_level_dirs_follow_jupyter_core_at_call_time(jsl_dirs, level):
    assert configfiles.level_dir(level) == str(jsl_dirs.level(level))
    assert configfiles.level_name(str(jsl_dirs.level(level))) == level


def test_unknown_level_is_refused(jsl_dirs):
    with pytest.raises(ValueError, match="Unknown config level 'site'"):
        configfiles.level_dir("site")
    assert configfiles.level_name(str(jsl_dirs.root)) == "other"
    assert configfiles.level_name(os.getcwd()) == "other"  # an unset JUPYTER_CONFIG_PATH names no folder


@pytest.mark.parametrize("level", configfiles.LEVELS)
def test_write_enabler_creates_the_file(jsl_dirs, level):
    written = enablers.write_enabler("pkg_a", True, level)
    path = jsl_dirs.level(level) / ENABLER.format("pkg_a")
    assert written.path == str(path) and written.previous is None and written.replaced is None
    assert json.loads(path.read_text()) == enabler("pkg_a", True)
    assert configfiles.enabler_view()["pkg_a"].in_force.path == str(path)


def test_write_enabler_updates_and_keeps_other_keys(jsl_dirs):
    jsl_dirs.write_config(
        "user", ENABLER.format("pkg_a"), {"ServerApp": {"jpserver_extensions": {"pkg_a": True}}, "PkgApp": {"x": 1}}
    )
    written = enablers.write_enabler("pkg_a", False, "user")
    assert written.previous is True
    data = json.loads((jsl_dirs.user / ENABLER.format("pkg_a")).read_text())
    assert data == {"ServerApp": {"jpserver_extensions": {"pkg_a": False}}, "PkgApp": {"x": 1}}
    leftovers = [f for f in os.listdir(jsl_dirs.user / "jupyter_server_lite_config.d") if f != "pkg_a.json"]
    assert leftovers == []  # the atomic write left no temporary file


@pytest.mark.parametrize("name", ["../escape", "a/b", "", "pkg.", "1pkg"])
def test_write_enabler_takes_module_names_only(jsl_dirs, name):
    with pytest.raises(ValueError, match="is not a module name"):
        enablers.write_enabler(name, True, "user")
    assert not (jsl_dirs.user / "jupyter_server_lite_config.d").exists()


def test_write_enabler_replaces_a_malformed_file(jsl_dirs):
    jsl_dirs.write_config("sys_prefix", ENABLER.format("pkg_a"), "{not json")
    written = enablers.write_enabler("pkg_a", True)
    assert written.level == "sys-prefix"
    assert "invalid JSON" in written.replaced
    assert json.loads((jsl_dirs.sys_prefix / ENABLER.format("pkg_a")).read_text()) == enabler("pkg_a", True)


def test_higher_level_wins_either_way(jsl_dirs):
    jsl_dirs.write_config("system", ENABLER.format("pkg_a"), enabler("pkg_a", False))
    jsl_dirs.write_config("sys_prefix", ENABLER.format("pkg_a"), enabler("pkg_a", True))
    jsl_dirs.write_config("system", ENABLER.format("pkg_b"), enabler("pkg_b", True))
    jsl_dirs.write_config("user", ENABLER.format("pkg_b"), enabler("pkg_b", False))
    view = configfiles.enabler_view()
    assert view["pkg_a"].enabled is True
    assert [(s.level, s.directory) for s in view["pkg_a"].enablers] == [
        ("sys-prefix", str(jsl_dirs.sys_prefix)),
        ("system", str(jsl_dirs.system)),
    ]
    assert view["pkg_b"].enabled is False
    assert view["pkg_b"].in_force.level == "user"


def test_disabling_wins_at_one_level(jsl_dirs):
    jsl_dirs.write_config("user", ENABLER.format("pkg_a"), enabler("pkg_a", True))
    jsl_dirs.write_config("user", ENABLER.format("zz_off"), enabler("pkg_a", False))
    setting = configfiles.enabler_view()["pkg_a"]
    assert setting.enabled is False
    assert setting.in_force.path.endswith("zz_off.json")


def test_main_config_file_counts_too(jsl_dirs):
    jsl_dirs.write_config("user", "jupyter_server_lite_config.json", enabler("pkg_c", True))
    setting = configfiles.enabler_view()["pkg_c"]
    assert setting.enabled and setting.in_force.path.endswith("jupyter_server_lite_config.json")


def test_malformed_enabler_is_reported_against_its_extension(jsl_dirs):
    jsl_dirs.write_config(
        "user", ENABLER.format("pkg_bad"), '{"ServerApp": {"jpserver_extensions": {"pkg_bad": "yes"}}}'
    )
    setting = configfiles.enabler_view()["pkg_bad"]
    assert setting.enabled is False and setting.enablers == ()
    assert "must map extension names to true or false" in setting.broken


def test_overridden_by_names_the_deciding_file(jsl_dirs):
    user_file = jsl_dirs.write_config("user", ENABLER.format("pkg_a"), enabler("pkg_a", False))
    written = enablers.write_enabler("pkg_a", True, "sys-prefix")
    source = enablers.overridden_by(written)
    assert source is not None and source.path == str(user_file) and source.enabled is False
    assert enablers.overridden_by(enablers.write_enabler("pkg_a", True, "user")) is None


# -- which of user and sys-prefix comes first: jupyter_core's order, in and out of a virtualenv --------


@pytest.mark.parametrize(("prefer_env", "winner"), [("0", "user"), ("1", "sys-prefix")])
def test_the_order_is_jupyter_cores(jsl_dirs, monkeypatch, prefer_env, winner):
    """The fixtures pin JUPYTER_PREFER_ENV_PATH=0 (user first, as outside a virtualenv); =1 is what a
    virtualenv gets by default: sys-prefix first."""
    from jupyter_core.paths import jupyter_config_path

    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", prefer_env)
    jsl_dirs.write_config("user", ENABLER.format("pkg_a"), enabler("pkg_a", False))
    jsl_dirs.write_config("sys_prefix", ENABLER.format("pkg_a"), enabler("pkg_a", True))
    assert configfiles.env_level_first() is (prefer_env == "1")
    folders = [configfiles.level_name(p) for p in jupyter_config_path()]
    assert folders.index(winner) < folders.index({"user": "sys-prefix", "sys-prefix": "user"}[winner])
    setting = configfiles.enabler_view()["pkg_a"]
    assert setting.in_force.level == winner and setting.enabled is (winner == "sys-prefix")
    assert f"JUPYTER_PREFER_ENV_PATH={prefer_env}" in configfiles.precedence_note()
    first, second = ("sys-prefix", "user") if prefer_env == "1" else ("user", "sys-prefix")
    assert configfiles.precedence_note().startswith(f"{first} comes before {second}")
