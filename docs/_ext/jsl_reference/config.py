"""The configuration reference: every configurable trait the server knows, from the classes.

The classes are found, not listed: ``ServerApp``, its ``classes`` and
``mode_classes``, the classes its ``*_class`` traits name by default or by a
flag of its command line (the swappable parts -- ``--hub``'s identity provider too -- and what
they name in turn), and the app of every bundled extension.  A trait
added to any of them appears here with its ``help=``, its type and its real
default -- the sentence of :func:`jupyter_server_lite.traitdoc.computed_default`
for a default computed at start-up -- without anyone editing a table.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

from traitlets import TraitType
from traitlets.config import Configurable
from traitlets.utils.importstring import import_item

from . import code, inline_text, paragraphs

#: The package whose classes are "ours": their traits must all have help=.
PACKAGE = "jupyter_server_lite"


def bundled_apps() -> list[type[Configurable]]:
    """The ExtensionApp classes of every bundled extension (``jupyter_server_lite.bundled.*``)."""
    import jupyter_server_lite.bundled as bundled

    apps: list[type[Configurable]] = []
    for info in sorted(pkgutil.iter_modules(bundled.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{bundled.__name__}.{info.name}")
        points = getattr(module, "_jupyter_server_extension_points", None)
        for point in points() if points else []:
            if "app" in point:
                apps.append(point["app"])
    return apps


def _named_classes(cls: type[Configurable]) -> Iterator[type[Configurable]]:
    """The configurable classes that ``cls``'s ``*_class`` traits name by default, if they are ours."""
    for trait in cls.class_traits(config=True).values():
        value = trait.default_value
        if isinstance(value, str) and value.startswith(PACKAGE + "."):
            try:
                value = import_item(value)
            except ImportError:
                continue
        if isinstance(value, type) and issubclass(value, Configurable) and value.__module__.startswith(PACKAGE):
            yield value


def flag_classes(flags: dict[str, Any]) -> Iterator[type[Configurable]]:
    """The classes of ours that command-line flags put in ``*_class`` traits (``--hub``)."""
    for settings, _help in flags.values():
        for section in settings.values():
            for name, value in section.items():
                if name.endswith("_class") and isinstance(value, str) and value.startswith(PACKAGE + "."):
                    yield import_item(value)


def documented_classes() -> list[type[Configurable]]:
    """Every configurable class of the server and its bundled extensions, once each, ServerApp first."""
    from jupyter_server_lite.serverapp import ServerApp

    found: list[type[Configurable]] = []
    modes = [import_item(name) for name in ServerApp.mode_classes]  # gateway mode's GatewayClient
    queue: list[type[Configurable]] = [ServerApp, *ServerApp.classes, *flag_classes(ServerApp.flags), *modes]
    for app in bundled_apps():
        queue += [app, *getattr(app, "classes", [])]
    while queue:
        cls = queue.pop(0)
        if cls in found:
            continue
        found.append(cls)
        queue += [c for c in _named_classes(cls) if c not in found]
    # Config sections are class names: of two classes with one name, document the subclass.
    return [c for c in found if not any(o is not c and o.__name__ == c.__name__ and issubclass(o, c) for o in found)]


def owner(cls: type, name: str) -> type:
    """The class whose body declares trait ``name`` of ``cls``."""
    return next(k for k in cls.__mro__ if name in vars(k))


def documented_traits(cls: type[Configurable]) -> dict[str, TraitType[Any, Any]]:
    """The configurable traits of ``cls`` a user sets, by name.

    All of them, inherited ones included -- except, for an extension's app,
    the traits every jupyter_core application has (``log_level``,
    ``config_file`` ...), which the server's own settings decide.
    """
    from jupyter_core.application import JupyterApp

    from jupyter_server_lite.extension.application import ExtensionApp

    traits = cls.class_traits(config=True)
    if issubclass(cls, ExtensionApp):
        traits = {n: t for n, t in traits.items() if owner(cls, n) not in JupyterApp.__mro__}
    return dict(sorted(traits.items()))


def _has_computed_default(cls: type, name: str, trait: TraitType[Any, Any]) -> bool:
    generator = cls._all_trait_default_generators.get(name)  # type: ignore[attr-defined]  # traitlets' private table of dynamic defaults
    return generator is not None and getattr(generator, "__self__", None) is not trait


def default_markdown(cls: type, name: str, trait: TraitType[Any, Any]) -> str:
    """The default of ``cls.name`` as Markdown: a value in code, or a sentence in italics."""
    from jupyter_server_lite.traitdoc import default_text

    text = default_text(trait)
    if text:
        return f"*{inline_text(text)}*"
    if _has_computed_default(cls, name, trait):
        return "*computed when the server starts; see the description*"
    try:
        return code(trait.default_value_repr())
    except Exception:  # a default traitlets itself cannot show
        return "*none*"


def type_markdown(trait: TraitType[Any, Any]) -> str:
    kind = type(trait).__name__
    values = getattr(trait, "values", None)
    if values is not None and "Enum" in kind:
        return f"{code(kind)}, one of " + ", ".join(code(repr(v)) for v in values)
    return code(kind)


def command_line_options() -> dict[tuple[str, str], list[str]]:
    """``(section, trait) -> [Markdown]``: the server's aliases and flags that set a trait."""
    from jupyter_server_lite.serverapp import ServerApp

    options: dict[tuple[str, str], list[str]] = {}

    def spelled(names: Any) -> list[str]:
        return [("-" if len(n) == 1 else "--") + n for n in (names if isinstance(names, tuple) else (names,))]

    for names, target in ServerApp.aliases.items():
        longname = target[0] if isinstance(target, tuple) else target
        section, trait = longname.rsplit(".", 1)
        options.setdefault((section, trait), []).extend(code(o) for o in spelled(names))
    for names, (settings, _help) in ServerApp.flags.items():
        for section, values in settings.items():
            for trait, value in values.items():
                options.setdefault((section, trait), []).extend(
                    f"{code(o)} (sets {code(repr(value))})" for o in spelled(names)
                )
    return options


def trait_markdown(cls: type[Configurable], name: str, trait: TraitType[Any, Any], options: list[str]) -> list[str]:
    facts = [type_markdown(trait), "default " + default_markdown(cls, name, trait)]
    if options:
        facts.append("command line " + ", ".join(options))
    lines = [f"({cls.__name__}.{name})=", code(f"{cls.__name__}.{name}"), ": " + " · ".join(facts), ""]
    for block in paragraphs(trait.help) or ["(no description)"]:
        lines += ["\n".join("  " + line if line else "" for line in block.splitlines()), ""]
    declared = owner(cls, name)
    if declared is not cls and not declared.__module__.startswith(PACKAGE):
        lines += [f"  Inherited from {code(declared.__module__ + '.' + declared.__name__)}.", ""]
    return lines


def class_markdown(cls: type[Configurable], options: dict[tuple[str, str], list[str]]) -> list[str]:
    from jupyter_server_lite.extension.application import ExtensionApp

    title = f"## {cls.__name__}"
    if issubclass(cls, ExtensionApp):
        title += f" (bundled extension {code(cls.name)})"
    lines = [title, ""]
    doc = paragraphs(cls.__doc__ or "")
    if doc:
        lines += [doc[0], ""]
    lines += [f"Class {code(cls.__module__ + '.' + cls.__name__)}.", ""]
    sections = {k.__name__ for k in cls.__mro__}
    for name, trait in documented_traits(cls).items():
        applies = [
            o
            for (section, trait_name), opts in options.items()
            if trait_name == name and section in sections
            for o in opts
        ]
        lines += trait_markdown(cls, name, trait, applies)
    return lines


def config_reference() -> str:
    """The Markdown of the configuration reference (the page's title is the page's own)."""
    options = command_line_options()
    lines: list[str] = []
    for cls in documented_classes():
        lines += class_markdown(cls, options)
    return "\n".join(lines).rstrip() + "\n"
