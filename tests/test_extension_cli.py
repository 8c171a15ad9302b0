"""cli/extension.py: `jupyter server-lite extension list|enable|disable|install`.

The extensions under test are real modules written to a temporary folder on
sys.path; "installed" ones come with a real ``*.dist-info`` folder holding
their entry point, which importlib.metadata finds exactly as it finds a pip
install.
"""

import importlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

from jupyter_server_lite.cli import extension as cli

ENABLER = "jupyter_server_lite_config.d/{}.json"
LEVEL_FLAGS = {"user": "--user", "sys_prefix": "--sys-prefix", "system": "--system"}

MODULES = {
    "jsltest_func": """
        '''A function extension.'''
        __version__ = "1.2.3"

        def _load_jupyter_server_extension(serverapp):
            pass
        """,
    "jsltest_app": """
        from jupyter_server_lite.extension.application import ExtensionApp

        class TestApp(ExtensionApp):
            name = "jsltestapp"
            description = "An app for the CLI tests."

        def _jupyter_server_extension_points():
            return [{"module": "jsltest_app", "app": TestApp}]
        """,
    "jsltest_raises": """
        raise RuntimeError("boom at import")
        """,
    "jsltest_weather": """
        from jupyter_server_lite.extension.application import ExtensionApp

        class WeatherApp(ExtensionApp):
            name = "weather"  # what `list`, the URLs and the dashboard show

        def _jupyter_server_extension_points():
            return [{"module": "jsltest_weather", "app": WeatherApp}]
        """,
    "jsltest_twin_a": """
        from jupyter_server_lite.extension.application import ExtensionApp

        class Twin(ExtensionApp):
            name = "twin"

        def _jupyter_server_extension_points():
            return [{"module": "jsltest_twin_a", "app": Twin}]
        """,
    "jsltest_twin_b": """
        from jupyter_server_lite.extension.application import ExtensionApp

        class Twin(ExtensionApp):
            name = "twin"

        def _jupyter_server_extension_points():
            return [{"module": "jsltest_twin_b", "app": Twin}]
        """,
    "jsltest_plain": """
        '''Importable, but not an extension; chatty on import.'''
        print("jsltest_plain imported")
        """,
}

DIST_INFO = {
    "METADATA": "Metadata-Version: 2.1\nName: jsltest-dist\nVersion: 0.4.2\n",
    "entry_points.txt": "[jupyter_server_lite.extensions]\nfuncext = jsltest_func\nweatherpkg = jsltest_weather\n",
}


@pytest.fixture
def ext_path(tmp_path, monkeypatch):
    """A folder on sys.path with the test extensions and one installed distribution."""
    folder = tmp_path / "site"
    folder.mkdir()
    for name, source in MODULES.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
    dist = folder / "jsltest_dist-0.4.2.dist-info"
    dist.mkdir()
    for filename, text in DIST_INFO.items():
        (dist / filename).write_text(text)
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    yield folder
    for name in MODULES:
        sys.modules.pop(name, None)


@pytest.fixture
def run(jsl_dirs, ext_path, capsys):
    """``run("enable", "x", "--user")`` -> (exit status, stdout, stderr)."""

    def run(*argv):
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def read_enabler(jsl_dirs, level, name):
    return json.loads((jsl_dirs.level(level) / ENABLER.format(name)).read_text())


def enabler(name, enabled):
    return {"ServerApp": {"jpserver_extensions": {name: enabled}}}


def listed(run):
    code, out, err = run("list", "--json")
    assert code == 0, err
    return {row["module"]: row for row in json.loads(out)["extensions"]}


# -- enable / disable ------------------------------------------------------------


@pytest.mark.parametrize("level", LEVEL_FLAGS)
def test_enable_writes_the_enabler_at_each_level(run, jsl_dirs, level):
    code, out, err = run("enable", "jsltest_app", LEVEL_FLAGS[level])
    assert code == 0, err
    path = jsl_dirs.level(level) / ENABLER.format("jsltest_app")
    assert read_enabler(jsl_dirs, level, "jsltest_app") == enabler("jsltest_app", True)
    assert f"Enabled jsltest_app: wrote {path}" in out
    others = [lvl for lvl in LEVEL_FLAGS if lvl != level]
    assert not any((jsl_dirs.level(lvl) / ENABLER.format("jsltest_app")).exists() for lvl in others)
    row = listed(run)["jsltest_app"]
    assert row["enabled"] and row["level"] == level.replace("_", "-") and row["enabler"] == str(path)


@pytest.mark.parametrize("level", LEVEL_FLAGS)
def test_disable_writes_false_at_each_level(run, jsl_dirs, level):
    assert run("enable", "jsltest_func", LEVEL_FLAGS[level])[0] == 0
    code, out, err = run("disable", "jsltest_func", LEVEL_FLAGS[level])
    assert code == 0, err
    assert read_enabler(jsl_dirs, level, "jsltest_func") == enabler("jsltest_func", False)
    assert out.startswith("Disabled jsltest_func: wrote ")
    assert listed(run)["jsltest_func"]["enabled"] is False


def test_sys_prefix_is_the_default_level(run, jsl_dirs):
    assert run("enable", "jsltest_func")[0] == 0
    assert read_enabler(jsl_dirs, "sys_prefix", "jsltest_func") == enabler("jsltest_func", True)
    assert not (jsl_dirs.user / ENABLER.format("jsltest_func")).exists()


@pytest.mark.parametrize("command", ["enable", "disable"])
def test_bogus_name_is_refused(run, jsl_dirs, command):
    code, out, err = run(command, "no_such_extension_module", "--user")
    assert code == 1
    assert "'no_such_extension_module' is not an importable jupyter_server_lite extension" in err
    assert "No module named 'no_such_extension_module'" in err
    assert out == ""
    assert not (jsl_dirs.user / "jupyter_server_lite_config.d").exists()


def test_a_module_that_is_not_an_extension_is_refused(run, jsl_dirs):
    code, _, err = run("enable", "jsltest_plain")
    assert code == 1
    assert "has neither _jupyter_server_extension_points() nor _load_jupyter_server_extension" in err
    assert not (jsl_dirs.sys_prefix / ENABLER.format("jsltest_plain")).exists()


def test_a_module_that_raises_on_import_is_refused_with_the_reason(run):
    code, _, err = run("enable", "jsltest_raises", "--system")
    assert code == 1
    assert "RuntimeError: boom at import" in err


def test_enable_by_entry_point_name_writes_the_module(run, jsl_dirs):
    code, _out, _ = run("enable", "funcext", "--user")
    assert code == 0
    assert read_enabler(jsl_dirs, "user", "jsltest_func") == enabler("jsltest_func", True)


def test_disable_works_for_a_configured_name_that_no_longer_imports(run, jsl_dirs):
    jsl_dirs.write_config("user", ENABLER.format("gone_pkg"), enabler("gone_pkg", True))
    code, _, err = run("disable", "gone_pkg", "--user")
    assert code == 0, err
    assert read_enabler(jsl_dirs, "user", "gone_pkg") == enabler("gone_pkg", False)


def test_a_write_that_fails_is_reported(run, jsl_dirs):
    jsl_dirs.write_config("user", "jupyter_server_lite_config.json", enabler("not/a/module", True))
    code, out, err = run("disable", "not/a/module", "--user")
    assert code == 1 and out == ""
    assert "Cannot write the enabler of 'not/a/module': 'not/a/module' is not a module name" in err


def test_warns_when_a_higher_level_overrides_what_was_written(run, jsl_dirs):
    user_file = jsl_dirs.write_config("user", ENABLER.format("jsltest_app"), enabler("jsltest_app", False))
    code, out, err = run("enable", "jsltest_app")
    assert code == 0
    assert "wrote" in out
    assert f"jsltest_app stays disabled: {user_file} (user level) says so and takes precedence" in err
    row = listed(run)["jsltest_app"]
    assert row["enabled"] is False and row["level"] == "user"
    assert [(e["level"], e["enabled"], e["in_force"]) for e in row["enablers"]] == [
        ("user", False, True),
        ("sys-prefix", True, False),
    ]


def test_warns_when_disabling_at_the_same_level_still_wins(run, jsl_dirs):
    other = jsl_dirs.write_config("sys_prefix", ENABLER.format("zz_site_policy"), enabler("jsltest_func", False))
    code, _, err = run("enable", "jsltest_func")
    assert code == 0
    assert f"jsltest_func stays disabled: {other} (sys-prefix level)" in err


def test_no_warning_when_the_write_is_in_force(run, jsl_dirs):
    jsl_dirs.write_config("system", ENABLER.format("jsltest_func"), enabler("jsltest_func", False))
    code, _, err = run("enable", "jsltest_func", "--user")
    assert code == 0 and err == ""


def test_enable_replaces_a_malformed_enabler_and_says_so(run, jsl_dirs):
    jsl_dirs.write_config("user", ENABLER.format("jsltest_func"), "[1, 2")
    code, _, err = run("enable", "jsltest_func", "--user")
    assert code == 0
    assert "the unreadable file there was replaced" in err and "invalid JSON" in err
    assert read_enabler(jsl_dirs, "user", "jsltest_func") == enabler("jsltest_func", True)


@pytest.mark.parametrize("argv", [["enable"], ["enable", "a", "b"], ["install"]])
def test_exactly_one_name(run, argv):
    code, _, err = run(*argv)
    assert code == 1
    assert "Give exactly one extension name" in err


def test_no_subcommand_is_an_error(run):
    code, _, err = run()
    assert code == 1
    assert "Give a subcommand: list, enable, disable, install" in err


# -- install ----------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVEL_FLAGS)
@pytest.mark.parametrize("name", ["funcext", "jsltest_func"])
def test_install_writes_the_enabler_of_an_entry_point(run, jsl_dirs, level, name):
    code, out, err = run("install", name, LEVEL_FLAGS[level])
    assert code == 0, err
    assert read_enabler(jsl_dirs, level, "jsltest_func") == enabler("jsltest_func", True)
    assert str(jsl_dirs.level(level) / ENABLER.format("jsltest_func")) in out


def test_install_refuses_what_no_entry_point_advertises(run, jsl_dirs):
    code, _out, err = run("install", "jsltest_app")  # importable, but no entry point
    assert code == 1
    assert "No installed package advertises an extension 'jsltest_app'" in err
    assert "jsltest_func" in err  # lists what is installed
    assert not (jsl_dirs.sys_prefix / ENABLER.format("jsltest_app")).exists()


# -- list -------------------------------------------------------------------------


def test_list_shows_installed_but_not_enabled(run):
    row = listed(run)["jsltest_func"]
    assert row["enabled"] is False and row["enablers"] == [] and row["level"] is None
    assert row["entry_point"] == {"name": "funcext", "distribution": "jsltest-dist", "version": "0.4.2"}
    assert row["ok"] and row["state"] == "imported" and row["version"] == "1.2.3"


def test_list_precedence_across_levels_and_disable_wins_at_one_level(run, jsl_dirs):
    # higher level beats lower, either way
    jsl_dirs.write_config("system", ENABLER.format("jsltest_app"), enabler("jsltest_app", False))
    jsl_dirs.write_config("sys_prefix", ENABLER.format("jsltest_app"), enabler("jsltest_app", True))
    # at one level, false beats true whatever the file order
    jsl_dirs.write_config("user", ENABLER.format("jsltest_func"), enabler("jsltest_func", False))
    jsl_dirs.write_config("user", ENABLER.format("aa_first"), enabler("jsltest_func", True))
    rows = listed(run)
    app, func = rows["jsltest_app"], rows["jsltest_func"]
    assert app["enabled"] is True and app["level"] == "sys-prefix"
    assert app["name"] == "jsltestapp" and app["description"] == "An app for the CLI tests."
    assert [(e["level"], e["enabled"]) for e in app["enablers"]] == [("sys-prefix", True), ("system", False)]
    assert func["enabled"] is False and func["level"] == "user"
    assert func["enabler"].endswith("jsltest_func.json")
    assert [e["enabled"] for e in func["enablers"]] == [False, True]


def test_list_json_survives_an_extension_that_prints(run, jsl_dirs):
    jsl_dirs.write_config("user", ENABLER.format("jsltest_plain"), enabler("jsltest_plain", True))
    code, out, err = run("list", "--json")
    assert code == 0
    row = {r["module"]: r for r in json.loads(out)["extensions"]}["jsltest_plain"]
    assert row["ok"] is False and "is not an extension" in row["error"]
    assert "jsltest_plain imported" in err


def test_list_shows_failures_with_the_reason(run, jsl_dirs):
    jsl_dirs.write_config("user", ENABLER.format("jsltest_raises"), enabler("jsltest_raises", True))
    jsl_dirs.write_config("user", ENABLER.format("broken_enabler"), '{"ServerApp": ')
    jsl_dirs.write_config("user", ENABLER.format("jsltest_app"), enabler("jsltest_app", True))
    rows = listed(run)
    raises, broken, good = rows["jsltest_raises"], rows["broken_enabler"], rows["jsltest_app"]
    assert (raises["ok"], raises["state"], raises["phase"]) == (False, "failed", "import")
    assert raises["error"] == "RuntimeError: boom at import"
    assert (broken["ok"], broken["phase"]) == (False, "enable")
    assert "broken_enabler.json" in broken["error"] and "invalid JSON" in broken["error"]
    assert good["ok"] and good["enabled"]
    code, out, _ = run("list")
    assert code == 0
    assert "jsltest_raises: enabled, FAILED (import): RuntimeError: boom at import" in out
    assert "broken_enabler: disabled, FAILED (enable): Cannot load config file" in out
    assert "jsltest_app [jsltestapp]: enabled, ok" in out


def test_list_human_output_names_levels_and_files(run, jsl_dirs):
    run("enable", "jsltest_app", "--user")
    run("disable", "jsltest_app", "--system")
    code, out, _ = run("list")
    assert code == 0
    assert f"user        {jsl_dirs.user}" in out
    assert f"enabled  by user        {jsl_dirs.user / ENABLER.format('jsltest_app')}  <- in force" in out
    assert f"disabled by system      {jsl_dirs.system / ENABLER.format('jsltest_app')}  (overridden)" in out
    assert "installed: entry point 'funcext' of jsltest-dist 0.4.2" in out


def test_list_refuses_a_malformed_main_config_file(run, jsl_dirs):
    bad = jsl_dirs.write_config("user", "jupyter_server_lite_config.json", "{oops")
    code, _out, err = run("list")
    assert code == 1
    assert f"Cannot load config file {bad}" in err and "would not start" in err


# -- as a user runs it ----------------------------------------------------------------


def test_subprocess_enable_and_list_json(jsl_dirs, ext_path):
    """The real command line, through jupyter-core's dispatcher and ServerApp's subcommand.

    Only the user level can be redirected in another process, so the test
    writes there; whatever the environment has at sys-prefix may show too.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ext_path), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])  # this environment's jupyter
    assert env["JUPYTER_CONFIG_DIR"] == str(jsl_dirs.user) and env["JUPYTER_PREFER_ENV_PATH"] == "0"

    def jupyter(*args):
        return subprocess.run(
            ["jupyter", "server-lite", "extension", *args], env=env, capture_output=True, text=True, timeout=60
        )

    done = jupyter("enable", "jsltest_app", "--user")
    assert done.returncode == 0, done.stderr
    assert (jsl_dirs.user / ENABLER.format("jsltest_app")).is_file()
    bogus = jupyter("enable", "no_such_extension_module", "--user")
    assert bogus.returncode == 1 and "No module named 'no_such_extension_module'" in bogus.stderr
    done = jupyter("list", "--json")
    assert done.returncode == 0, done.stderr
    model = json.loads(done.stdout)
    assert model["levels"][0] == {"level": "user", "directory": str(jsl_dirs.user)}
    rows = {row["module"]: row for row in model["extensions"]}
    assert rows["jsltest_app"]["enabled"] and rows["jsltest_app"]["level"] == "user" and rows["jsltest_app"]["ok"]
    assert rows["jsltest_func"]["entry_point"]["distribution"] == "jsltest-dist"


def test_a_server_start_never_reads_the_entry_points(jsl_server_factory, jsl_dirs, ext_path, monkeypatch):
    """Scanning installed packages is for the CLI; a start reads only the enabled names."""
    import importlib.metadata

    from jupyter_server_lite.extension import discovery

    groups = []
    real = importlib.metadata.entry_points

    def recording(**params):
        groups.append(params.get("group"))
        return real(**params)

    monkeypatch.setattr(importlib.metadata, "entry_points", recording)
    monkeypatch.setattr(discovery, "entry_points", recording)
    jsl_dirs.write_config("user", ENABLER.format("jsltest_app"), enabler("jsltest_app", True))
    app = jsl_server_factory()
    assert app.extension_manager.get("jsltestapp").state == "loaded"
    assert discovery.ENTRY_POINT_GROUP not in groups


# -- enabler typos ---------------------------------------------------------------------------


def test_list_reports_a_conf_d_file_that_enables_nothing(run, jsl_dirs):
    """Issue 12: with ``jpserver_extension`` the server warned, but list said "no enabler file"."""
    typo = jsl_dirs.write_config(
        "user", ENABLER.format("jsltest_func"), {"ServerApp": {"jpserver_extension": {"jsltest_func": True}}}
    )
    other = jsl_dirs.write_config("user", ENABLER.format("other"), {"ServerAPP": {"jpserver_extensions": {"x": True}}})
    code, out, err = run("list", "--json")
    assert code == 0, err
    model = json.loads(out)
    assert [(t["path"], t["level"], t["found"], t["meant"], t["modules"]) for t in model["enabler_typos"]] == [
        (str(typo), "user", "ServerApp.jpserver_extension", "ServerApp.jpserver_extensions", ["jsltest_func"]),
        (str(other), "user", "ServerAPP.jpserver_extensions", "ServerApp.jpserver_extensions", ["x"]),
    ]
    rows = {row["module"]: row for row in model["extensions"]}
    assert rows["jsltest_func"]["typos"] == [str(typo)] and rows["jsltest_func"]["enabled"] is False
    assert rows["x"]["typos"] == [str(other)]  # named by nothing else, listed all the same
    code, out, _ = run("list")
    assert "Config files that enable nothing (2):" in out
    assert (
        f"  {typo}: 'ServerApp.jpserver_extension' is not read by the server; did you mean "
        "'ServerApp.jpserver_extensions'?" in out
    )
    block = out.split("  jsltest_func", 1)[1].split("\n  jsltest", 1)[0]
    assert f"ignored: {typo} enables nothing (see above)" in block
    assert "no enabler file" not in block


# -- the name `list` shows ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["enable", "install"])
def test_the_displayed_name_stands_for_its_module(run, jsl_dirs, command):
    """Issue 12: `extension enable weather` failed with No module named 'weather'."""
    code, out, err = run(command, "weather", "--user")
    assert code == 0, err
    assert "'weather' is the extension name of module jsltest_weather: using module jsltest_weather" in out
    assert f"Enabled jsltest_weather: wrote {jsl_dirs.user / ENABLER.format('jsltest_weather')}" in out
    assert read_enabler(jsl_dirs, "user", "jsltest_weather") == enabler("jsltest_weather", True)
    assert listed(run)["jsltest_weather"]["name"] == "weather"


def test_disable_takes_the_displayed_name_of_a_configured_extension(run, jsl_dirs):
    jsl_dirs.write_config("sys_prefix", ENABLER.format("jsltest_app"), enabler("jsltest_app", True))
    code, out, err = run("disable", "jsltestapp", "--user")
    assert code == 0, err
    assert "'jsltestapp' is the extension name of module jsltest_app: using module jsltest_app" in out
    assert read_enabler(jsl_dirs, "user", "jsltest_app") == enabler("jsltest_app", False)


def test_an_entry_point_name_is_said_to_stand_for_its_module(run, jsl_dirs):
    code, out, _ = run("enable", "weatherpkg", "--user")
    assert code == 0
    assert "'weatherpkg' is the entry point of module jsltest_weather: using module jsltest_weather" in out


def test_a_name_several_modules_have_is_refused_naming_them(run, jsl_dirs):
    for module in ("jsltest_twin_a", "jsltest_twin_b"):
        jsl_dirs.write_config("system", ENABLER.format(module), enabler(module, False))
    code, out, err = run("enable", "twin", "--user")
    assert code == 1 and out == ""
    assert (
        "'twin' is the name of an extension in several modules (jsltest_twin_a, jsltest_twin_b), so nothing was "
        "written: give the module, e.g. `jupyter server-lite extension enable jsltest_twin_a`." in err
    )
    assert not (jsl_dirs.user / ENABLER.format("jsltest_twin_a")).exists()


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("weathr", "Did you mean 'weather' (module jsltest_weather)?"),
        ("jsltest_weathr", "Did you mean 'jsltest_weather'?"),
    ],
)
def test_an_unknown_name_gets_the_closest_module(run, name, hint):
    code, _, err = run("enable", name)
    assert code == 1
    assert f"No module named {name!r}" in err and err.rstrip().endswith(hint)


# -- precedence: user and sys-prefix in jupyter_core's order -----------------------------------------


def test_disable_user_in_a_virtualenv_says_sys_prefix_comes_first_and_why(run, jsl_dirs, monkeypatch):
    """Inside a virtualenv jupyter_core reads sys-prefix before user (JUPYTER_PREFER_ENV_PATH=1 here)."""
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "1")
    env_file = jsl_dirs.write_config("sys_prefix", ENABLER.format("jsltest_app"), enabler("jsltest_app", True))
    code, _, err = run("disable", "jsltest_app", "--user")
    assert code == 0
    assert err == (
        f"Warning: jsltest_app stays enabled: {env_file} (sys-prefix level) says so and takes precedence "
        "(sys-prefix comes before user (JUPYTER_PREFER_ENV_PATH=1); JUPYTER_PREFER_ENV_PATH=0 puts user first).\n"
    )
    code, out, _ = run("list")
    lines = out.splitlines()
    assert lines[1:3] == [f"  sys-prefix  {jsl_dirs.sys_prefix}", f"  user        {jsl_dirs.user}"]
    assert (
        "  (sys-prefix comes before user (JUPYTER_PREFER_ENV_PATH=1); JUPYTER_PREFER_ENV_PATH=0 puts user first)"
        in lines
    )
    model = json.loads(run("list", "--json")[1])
    assert model["prefer_env_path"] is True
    assert [lv["level"] for lv in model["levels"]][:2] == ["sys-prefix", "user"]
    assert {r["module"]: r for r in model["extensions"]}["jsltest_app"]["enabled"] is True


def test_outside_a_virtualenv_user_comes_first_and_the_warning_says_so(run, jsl_dirs):
    assert os.environ["JUPYTER_PREFER_ENV_PATH"] == "0"  # the fixtures' order
    user_file = jsl_dirs.write_config("user", ENABLER.format("jsltest_app"), enabler("jsltest_app", False))
    code, _, err = run("enable", "jsltest_app", "--sys-prefix")
    assert code == 0
    assert err.endswith(
        f"{user_file} (user level) says so and takes precedence "
        "(user comes before sys-prefix (JUPYTER_PREFER_ENV_PATH=0); JUPYTER_PREFER_ENV_PATH=1 puts sys-prefix first).\n"
    )
    assert run("disable", "jsltest_app", "--user")[2] == ""  # the user level is in force: nothing to warn about
    assert json.loads(run("list", "--json")[1])["prefer_env_path"] is False
