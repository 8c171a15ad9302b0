"""Hooks (extension/hooks.py, plugins.py): order, arguments, isolation, extension hookspecs, docs."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from pathlib import Path

import pytest

from jupyter_server_lite.extension import hooks
from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.extension.hooks import hookimpl, hookspec

EXTENSIONS = Path(__file__).parent / "extensions"
DOCS = Path(__file__).parent.parent / "docs" / "hooks.md"


@pytest.fixture(autouse=True)
def _test_extensions_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(EXTENSIONS))


def recorder(name: str, calls: list, requires: tuple[str, ...] = (), fail: bool = False) -> type[ExtensionApp]:
    """An ExtensionApp recording every core hook it receives into ``calls``."""

    class Recorder(ExtensionApp):
        @hookimpl
        def server_started(self, serverapp):
            calls.append(("server_started", self.name, serverapp))
            if fail:
                raise RuntimeError(f"{self.name} fails in server_started")

        @hookimpl
        def server_stopping(self, serverapp):
            calls.append(("server_stopping", self.name, serverapp))

        @hookimpl
        def kernel_started(self, kernel_id, kernel_name):
            calls.append(("kernel_started", self.name, kernel_id, kernel_name))
            if fail:
                raise RuntimeError(f"{self.name} fails in kernel_started")

        @hookimpl
        def kernel_stopped(self, serverapp, kernel_id, kernel_name):
            calls.append(("kernel_stopped", self.name, kernel_id, kernel_name))

    Recorder.name = name
    Recorder.requires = list(requires)
    Recorder.__qualname__ = f"Recorder_{name}"
    return Recorder


async def test_server_hooks_fire_in_load_order_with_their_arguments(jsl_server_factory):
    calls: list = []
    # load order: b (required by a), a, c -- not registration order
    apps = [recorder("c", calls), recorder("a", calls, requires=("b",)), recorder("b", calls)]
    app = jsl_server_factory(extensions=apps, start=False)
    assert [r.name for r in app.extension_manager.records if not r.bundled] == ["b", "a", "c"]
    await app.start_server()
    await app.stop_server()
    assert calls == [
        ("server_started", "b", app),
        ("server_started", "a", app),
        ("server_started", "c", app),
        ("server_stopping", "b", app),
        ("server_stopping", "a", app),
        ("server_stopping", "c", app),
    ]


async def test_one_raising_hookimpl_does_not_stop_the_others(jsl_server_factory, jsl_expect_log):
    calls: list = []
    app = jsl_server_factory(extensions=[recorder("first", calls, fail=True), recorder("second", calls)], start=False)
    with jsl_expect_log(r"Hook server_started of extension 'first' raised", logging.ERROR) as hits:
        await app.start_server()
    assert "first fails in server_started" in str(hits[0].exc_info[1])
    assert [c[:2] for c in calls] == [("server_started", "first"), ("server_started", "second")]


async def test_kernel_hooks_reach_extensions(jsl_server_factory, jsl_fetch, jsl_expect_log):
    calls: list = []
    app = jsl_server_factory(extensions=[recorder("k1", calls, fail=True), recorder("k2", calls)], start=False)
    with jsl_expect_log(r"Hook server_started of extension 'k1' raised", logging.ERROR):
        await app.start_server()
    with jsl_expect_log(r"Hook kernel_started of extension 'k1' raised", logging.ERROR):
        model = json.loads((await jsl_fetch("api", "kernels", method="POST", body={}, app=app)).body)
        kid, kname = model["id"], model["name"]
        for _ in range(600):  # kernel_started fires once the kernel answers (bounded: 60 s)
            if any(c[0] == "kernel_started" for c in calls):
                break
            await asyncio.sleep(0.1)
    assert (await jsl_fetch("api", "kernels", kid, method="DELETE", app=app)).code == 204
    kernel_calls = [c for c in calls if c[0].startswith("kernel")]
    assert kernel_calls == [
        ("kernel_started", "k1", kid, kname),
        ("kernel_started", "k2", kid, kname),
        ("kernel_stopped", "k1", kid, kname),
        ("kernel_stopped", "k2", kid, kname),
    ]
    assert kid not in app.kernel_manager


class GreetingSpecs:
    """Hooks declared by an extension for other extensions."""

    @hookspec
    def greeting_words(self, serverapp, lang):
        """Words for a greeting in ``lang``."""

    @hookspec(firstresult=True)
    def greeting_owner(self, lang):
        """Who answers for ``lang`` (first answer wins)."""


class Declaring(ExtensionApp):
    name = "declaring"
    hookspecs = GreetingSpecs

    def words(self, lang):
        return [word for _plugin, words in self.serverapp.call_hook("greeting_words", lang=lang) for word in words]


class Implementing(ExtensionApp):
    name = "implementing"
    requires = ["declaring"]

    @hookimpl
    def greeting_words(self, lang):
        return {"fr": ["bonjour"], "de": ["hallo"]}.get(lang, [])

    @hookimpl
    def greeting_owner(self, lang):
        return None if lang == "de" else self.name


class AlsoImplementing(ExtensionApp):
    name = "also"

    @hookimpl(tryfirst=True)
    def greeting_words(self, lang):
        return ["salut"] if lang == "fr" else []

    @hookimpl(trylast=True)
    def greeting_owner(self, lang):
        return self.name


def test_an_extension_hookspec_implemented_by_another(jsl_server_factory):
    app = jsl_server_factory(extensions=[Implementing, AlsoImplementing, Declaring], start=False)
    assert all(r.state == "loaded" for r in app.extension_manager.records)
    declaring = app.extension_manager.get("declaring").apps[0]
    # tryfirst runs before the load order (also, declaring, implementing)
    assert declaring.words("fr") == ["salut", "bonjour"]
    assert app.hooks.call("greeting_owner", lang="fr") == [("implementing", "implementing")]
    assert app.hooks.call("greeting_owner", lang="de") == [("also", "also")]


def test_a_function_extension_declares_hooks_too(jsl_server_factory):
    import types

    declaring = types.ModuleType("ext_declaring_module")
    declaring.hookspecs = GreetingSpecs
    declaring._load_jupyter_server_extension = lambda serverapp: None

    class Free(ExtensionApp):
        name = "free"
        requires = ["ext_declaring_module"]

        @hookimpl
        def greeting_words(self, serverapp, lang):
            return [f"{lang}!"]

    app = jsl_server_factory(extensions=[Free, declaring], start=False)
    assert [(r.name, r.state) for r in app.extension_manager.records if not r.bundled] == [
        ("ext_declaring_module", "loaded"),
        ("free", "loaded"),
    ]
    assert app.call_hook("greeting_words", lang="eo") == [("free", ["eo!"])]


def test_a_hookimpl_with_unknown_arguments_fails_its_extension(jsl_server_factory, jsl_expect_log):
    class Wrong(ExtensionApp):
        name = "wrong_args"

        @hookimpl
        def server_started(self, serverapp, nonsense):
            pass

    with jsl_expect_log(
        r"Extension wrong_args failed \(load\): registering hooks: PluginValidationError", logging.ERROR
    ):
        app = jsl_server_factory(extensions=[Wrong], start=False)
    assert app.extension_manager.get("wrong_args").state == "failed"
    assert app.hooks.pm.get_plugin("wrong_args") is None


def test_a_hook_nobody_declares_is_reported(jsl_server_factory, jsl_expect_log):
    class Typo(ExtensionApp):
        name = "typo"

        @hookimpl
        def server_startd(self, serverapp):
            pass

    with jsl_expect_log(r"Extension 'typo' implements hook 'server_startd', which no loaded extension declares"):
        app = jsl_server_factory(extensions=[Typo], start=False)
    assert app.extension_manager.get("typo").state == "loaded"


def test_only_marked_methods_are_registered(jsl_server_factory):
    class Plain(ExtensionApp):
        name = "plain"

        def server_started(self, serverapp):  # not marked: not a hook
            raise AssertionError("must not be called")

    app = jsl_server_factory(extensions=[Plain])
    assert app.hooks.pm.get_plugin("plain") is None
    assert app.started


async def test_status_fields_from_a_function_extension(jsl_server_factory, jsl_fetch):
    app = jsl_server_factory(extensions=["ext_func"], start=False)
    await app.start_server()
    status = json.loads((await jsl_fetch("api", "status", app=app)).body)
    assert status["ext_func"] is True
    assert status["kernels"] == 0  # core fields cannot be overwritten


def test_tracing_logs_every_call(jsl_server_factory, monkeypatch):
    monkeypatch.setenv("JSL_TRACE_HOOKS", "1")
    app = jsl_server_factory(extensions=["ext_func"], start=False)
    lines: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]  # the records captured as text
    app.log.addHandler(handler)
    try:
        app.call_hook("status_fields")
        app.call_hook("kernel_stopped", kernel_id="k1", kernel_name="python3")
    finally:
        app.log.removeHandler(handler)
    assert any(line.startswith("hook status_fields -> ext_func returned {'ext_func': True") for line in lines), lines
    assert (
        "hook kernel_stopped called with ['kernel_id', 'kernel_name', 'serverapp']: no implementation answered" in lines
    ), lines


# -- the reference cannot drift ---------------------------------------------------------


def core_hookspecs() -> dict[str, inspect.Signature]:
    marker = hooks.PROJECT_NAME + "_spec"
    return {name: inspect.signature(f) for name, f in vars(hooks).items() if callable(f) and hasattr(f, marker)}


def test_every_hookspec_is_documented_with_its_signature():
    text = DOCS.read_text(encoding="utf-8")
    headings = dict(re.findall(r"^## `(\w+)\(([^)]*)\)`", text, flags=re.M))
    specs = core_hookspecs()
    assert specs, "no hookspecs found"
    for name, sig in specs.items():
        assert name in headings, f"hook {name} is not documented in docs/hooks.md"
        assert headings[name] == ", ".join(sig.parameters), (
            f"docs/hooks.md shows {name}({headings[name]}), the code {name}{sig}"
        )
    assert set(headings) <= set(specs), f"docs/hooks.md documents hooks that do not exist: {set(headings) - set(specs)}"


def test_every_hookspec_is_keyword_friendly_and_one_line_documented():
    for name, sig in core_hookspecs().items():
        assert list(sig.parameters)[0] == "serverapp", name
        doc = getattr(hooks, name).__doc__
        assert doc and "\n" not in doc.strip(), f"{name}: one-line docstring"
