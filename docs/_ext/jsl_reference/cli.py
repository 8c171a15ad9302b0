"""The CLI reference: every command's ``--help``, from the applications themselves.

The commands are found by walking ``subcommands`` from ``ServerApp``
(``jupyter server-lite``) down, so a new subcommand appears here by being
added to its parent.  Each text is what ``--help`` prints: the app's own
``emit_help()``, on a fresh instance.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from traitlets.config import Application
from traitlets.utils.importstring import import_item

from . import code

COMMAND = "jupyter server-lite"


def commands() -> Iterator[tuple[str, type[Application]]]:
    """``("jupyter server-lite extension list", ListExtensionsApp)``, ... parents before children."""
    from jupyter_server_lite.serverapp import ServerApp

    def walk(name: str, cls: type[Application]) -> Iterator[tuple[str, type[Application]]]:
        yield name, cls
        subcommands = cls.subcommands if isinstance(cls.subcommands, dict) else {}  # else traitlets' empty trait
        for sub, (target, _help) in subcommands.items():
            subcls: Any = import_item(target) if isinstance(target, str) else target
            yield from walk(f"{name} {sub}", subcls)

    yield from walk(COMMAND, ServerApp)


def help_text(cls: type[Application]) -> str:
    """What ``<command> --help`` prints (``print_help`` joins the same lines)."""
    app = cls()
    try:
        return "\n".join(app.emit_help()) + "\n"
    finally:
        cls.clear_instance()


def option_names(cls: type[Application]) -> list[str]:
    """Every alias and flag of ``cls`` as spelled on the command line (``--port``, ``-y``)."""
    names: list[str] = []
    for key in [*cls.aliases, *cls.flags]:
        for name in key if isinstance(key, tuple) else (key,):
            names.append(("-" if len(name) == 1 else "--") + name)
    return names


def cli_reference() -> str:
    """The Markdown of the CLI reference: one section per command, its ``--help`` verbatim."""
    lines: list[str] = []
    for name, cls in commands():
        lines += [f"## {code(name)}", "", "```text", help_text(cls).rstrip("\n"), "```", ""]
    return "\n".join(lines)
