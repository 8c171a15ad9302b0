"""The generated reference pages (docs/_ext/jsl_reference) are complete and true.

Each generator turns code into the Markdown of one page of the docs site;
these tests run the generators (no Sphinx needed) and fail when a trait, a
command or option, a hook or a route is missing from what they produce, or
when a default shown is not the one the server uses.  ``.ci/run`` builds
the site itself with warnings as errors.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from traitlets import Int, Unicode
from traitlets.config import LoggingConfigurable

from jupyter_server_lite.serverapp import ServerApp

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

from jsl_reference import cli, config, hooks, rest  # noqa: E402  (after the path is set)


def entry(text: str, key: str) -> str:
    """The Markdown of one trait entry ``Class.trait`` of the configuration reference."""
    match = re.search(rf"^\({re.escape(key)}\)=\n(.*?)(?=^\(\w+\.\w+\)=|^## |\Z)", text, re.M | re.S)
    assert match, f"the configuration reference has no entry {key}"
    return match.group(1)


# -- configuration ----------------------------------------------------------------


def test_every_configurable_class_is_documented():
    names = {cls.__name__ for cls in config.documented_classes()}
    expected = {"ServerApp", *(cls.__name__ for cls in ServerApp.classes), "ServerKernelManager"}
    expected |= {app.__name__ for app in config.bundled_apps()}
    assert expected <= names, f"not in the configuration reference: {expected - names}"
    assert "DashboardApp" in names  # a bundled extension's app


def test_every_configurable_trait_is_in_the_reference():
    text = config.config_reference()
    for cls in config.documented_classes():
        traits = config.documented_traits(cls)
        assert traits, cls
        for name in traits:
            assert f"({cls.__name__}.{name})=\n`{cls.__name__}.{name}`" in text, f"{cls.__name__}.{name} is missing"


def traits_without_help(classes: list[type]) -> list[str]:
    """Our configurable traits (declared in jupyter_server_lite) that have no ``help=``."""
    return [
        f"{cls.__name__}.{name}"
        for cls in classes
        for name, trait in config.documented_traits(cls).items()
        if config.owner(cls, name).__module__.startswith("jupyter_server_lite") and not trait.help.strip()
    ]


def test_every_trait_of_ours_has_help():
    assert traits_without_help(config.documented_classes()) == []


class NewPart(LoggingConfigurable):
    """A part added to the server after this test was written."""

    knob = Int(3, min=0, help="How far the knob turns.").tag(config=True)


def test_a_new_trait_appears_without_editing_anything(monkeypatch):
    monkeypatch.setattr(ServerApp, "classes", [*ServerApp.classes, NewPart])
    text = config.config_reference()
    assert "## NewPart" in text
    assert entry(text, "NewPart.knob").split("\n", 2)[1:] == [
        ": `Int` · default `3`",
        "\n  How far the knob turns.\n\n",
    ]


def test_a_trait_without_help_fails_the_check(monkeypatch):
    class Careless(LoggingConfigurable):
        setting = Unicode("x").tag(config=True)

    Careless.__module__ = "jupyter_server_lite.careless"  # as if it were ours
    assert traits_without_help([Careless]) == ["Careless.setting"]


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("ServerApp.log_level", "default `20` · command line `--log-level`, `--debug` (sets `10`)"),
        (
            "ServerApp.log_format",
            "default `'%(color)s[%(levelname)1.1s %(asctime)s.%(msecs).03d %(name)s]%(end_color)s %(message)s'`",
        ),
        ("ServerApp.log_datefmt", "default `'%H:%M:%S'`"),
        ("ServerApp.log_json", "default `False` · command line `--log-json` (sets `True`)"),
        ("ServerApp.port", "default `8888` · command line `--port`"),
        ("ServerApp.root_dir", "default *the current directory*"),
        ("ServerApp.cookie_secret", "default *random, made at every start*"),
        ("IdentityProvider.token", "default *a random token per start (none if a password is set)*"),
    ],
)
def test_defaults_are_the_ones_the_server_uses(key, shown):
    assert shown in entry(config.config_reference(), key)


def test_default_log_settings_are_what_a_server_runs_with(jsl_server_factory):
    app = jsl_server_factory(start=False)
    formatter = next(h.formatter for h in app.log.handlers if h.formatter is not None)
    assert formatter._fmt == ServerApp.class_traits()["log_format"].default_value  # type: ignore[attr-defined]  # logging.Formatter's private format string
    assert ServerApp().log_level == 20  # "INFO", as shown


def test_inherited_traits_name_their_origin():
    text = entry(config.config_reference(), "ServerKernelManager.shutdown_wait_time")
    assert "Inherited from `jupyter_client.manager.KernelManager`." in text


def test_configuration_page_has_no_hand_written_trait_table():
    """The reference is generated: a table in configuration.md would be a second copy to keep in step."""
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    sections = {cls.__name__ for cls in config.documented_classes()}
    rows = [m for m in re.findall(r"^\| `(\w+)\.\w+` \|", text, re.M) if m in sections]
    assert not rows, "configuration.md: put the text in the trait's help=; the reference page shows it"


def test_traits_named_in_the_docs_exist():
    """`Class.trait` in any page, for a class the reference documents, names a real trait
    (or attribute, such as `ServerApp.classes`): a renamed trait leaves no stale text."""
    known = {cls.__name__: cls for cls in config.documented_classes()}
    stale = []
    for page in DOCS.glob("*.md"):
        if page.name == "migrating.md":
            continue  # names Jupyter Server's traits, on purpose
        for cls, name in re.findall(r"`(?:--)?([A-Z]\w+)\.(\w+)(?:=[^`]*)?`", page.read_text(encoding="utf-8")):
            if cls in known and not hasattr(known[cls], name):
                stale.append(f"{page.name}: {cls}.{name}")
    assert not stale, f"the docs name traits that do not exist: {stale}"


# -- command line -------------------------------------------------------------------


def test_every_command_is_in_the_cli_reference():
    text = cli.cli_reference()
    found = dict(cli.commands())
    assert {"jupyter server-lite", "jupyter server-lite list", "jupyter server-lite extension enable"} <= set(found)
    assert "jupyter server-lite migrate" in found
    for name, cls in found.items():
        section = text.split(f"## `{name}`\n", 1)
        assert len(section) == 2, f"{name} is not in the CLI reference"
        body = section[1].split("\n## ", 1)[0]
        missing = [o for o in cli.option_names(cls) if not re.search(rf"^{re.escape(o)}(=|$)", body, re.M)]
        assert not missing, f"{name}: options missing from its help: {missing}"


def test_the_cli_reference_shows_what_help_prints(cli_env):
    printed = subprocess.run(
        [sys.executable, "-m", "jupyter_server_lite", "extension", "enable", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env,
        check=True,
    ).stdout
    assert printed == cli.help_text(dict(cli.commands())["jupyter server-lite extension enable"])


@pytest.fixture
def cli_env(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    return env


# -- hooks ------------------------------------------------------------------------


def test_every_hookspec_is_in_the_hook_reference():
    from jupyter_server_lite.extension import hooks as core

    text = hooks.hook_reference()
    specs = hooks.hookspecs()
    assert set(specs) == {n for n, f in vars(core).items() if hasattr(f, "jupyter_server_lite_spec")}
    for name, function in specs.items():
        assert f"## `{name}`\n\n```python\ndef {hooks.signature(function)}: ...\n```" in text
    assert "def kernel_started(serverapp: ServerApp, kernel_id: str, kernel_name: str) -> None" in text


# -- REST -----------------------------------------------------------------------------


def test_every_route_and_schema_is_in_the_rest_reference():
    text = rest.rest_reference()
    spec = rest.load_spec()
    operations = rest.operations(spec)
    assert len(operations) >= 20
    for method, path, _op in operations:
        assert f"### `{method} {path}`" in text, f"{method} {path} is missing"
    for name in spec["components"]["schemas"]:
        assert f"(schema-{name.lower()})=\n### `{name}`" in text
    # every link to a schema names one that exists
    for target in re.findall(r"\]\(#(schema-[\w-]+)\)", text):
        assert f"({target})=" in text, target


# -- the pages that hold them ------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "directive"),
    [
        ("config-reference.md", "jsl-config-reference"),
        ("cli-reference.md", "jsl-cli-reference"),
        ("hook-reference.md", "jsl-hook-reference"),
        ("rest-reference.md", "jsl-rest-reference"),
    ],
)
def test_each_reference_page_holds_its_generator(page, directive):
    assert f"```{{{directive}}}\n```" in (DOCS / page).read_text(encoding="utf-8")


def test_docs_conf_builds_from_the_source_tree():
    """conf.py finds the directives and the package from docs/ alone (what .ci/run's build needs)."""
    text = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert '"jsl_reference.directives"' in text and "myst_parser" in text


def test_ci_builds_the_site_with_warnings_as_errors_before_the_tests():
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    build = next(i for i, line in enumerate(lines) if line.startswith("python -m sphinx "))
    assert " -W " in lines[build] and lines[build].split()[-2:] == ["docs", "docs/_build/html"]
    assert build < len(lines) - 1 and "pytest" in lines[-1]
