"""``jupyter server-lite extension list|enable|disable|install``.

The CLI is the one place that looks at everything an extension can be:
installed (an entry point of ``jupyter_server_lite.extensions``), switched on
or off by enabler files at any config level, and importable and valid or
not.  It builds the server's own plan from the files
(:func:`~jupyter_server_lite.extension.plan.read_plan`, what a start runs
first), takes each extension through the server's own import step
(:func:`~jupyter_server_lite.extension.record.record_for`) and settles the
enabled ones' names, prefixes and services with the server's own rule
(:func:`~jupyter_server_lite.extension.claims.settle_claims`), so what it
shows is what a server start would do.

``enable``, ``disable`` and ``install`` take a module name, an installed
entry point's name, or the name ``list``, the URLs and the dashboard show
(an extension's name) when exactly one module has it; they write one enabler
file at one level (``--sys-prefix`` by default) and then re-read every
level: when another file still decides otherwise, the command says which
one, and why it comes first.

Exit status: 0 on success, 1 when a name is refused (not an importable
extension, not installed, the name of several) or the config files cannot
be read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import importlib.util
import json
import sys
from collections.abc import Iterable
from typing import Any

from jupyter_core.application import JupyterApp, base_flags
from jupyter_core.paths import jupyter_config_path
from traitlets import Bool, Enum, Unicode

from .._version import __version__
from ..configfiles import (
    DEFAULT_LEVEL,
    LEVELS,
    ConfigFileError,
    EnablerSource,
    EnablerTypo,
    env_level_first,
    level_name,
    precedence_note,
)
from ..extension.claims import settle_claims
from ..extension.discovery import ENTRY_POINT_GROUP, InstalledExtension, find_installed, installed_extensions
from ..extension.plan import ExtensionPlan, PlannedExtension, read_plan
from ..extension.record import ExtensionRecord, check_extension, record_for
from . import fail, run_in_process, unknown_word
from .enablers import EnablerWrite, overridden_by, write_enabler

_flags_debug = {"debug": base_flags["debug"]}


class _Command(JupyterApp):
    """What every extension command shares: no config file of its own, one exit path."""

    version = __version__
    flags = _flags_debug
    aliases: dict[str, Any] = {}

    def initialize(self, argv: Any = None) -> None:
        # The commands read enabler files themselves; they have no config of their own.
        self.parse_command_line(argv)

    def warn(self, message: str) -> None:
        print(f"Warning: {message}", file=sys.stderr)

    def read_plan(self) -> ExtensionPlan:
        """The plan a server start would make from the config files (without its command line)."""
        try:
            return read_plan(self.config_paths())
        except ConfigFileError as err:
            fail(f"{err}\nFix or remove that file: a server would not start with it either.")

    @staticmethod
    def config_paths() -> list[str]:
        """The folders a server reads, highest precedence first (as ServerApp.config_file_paths)."""
        return jupyter_config_path()


# -- list -------------------------------------------------------------------------


class ListExtensionsApp(_Command):
    """``extension list``: every known extension, its enablers and whether it loads."""

    name = "jupyter-server-lite-extension-list"
    description = """List every known extension: installed ones (entry points) and every
    one an enabler file or config file names, at any config level. For each:
    enabled or not, which files say so (the one in force first), and whether it
    imports and validates -- with the reason when it does not."""
    json_output = Bool(False, help="Print one JSON document instead of text.").tag(config=True)
    flags = dict(
        _flags_debug, json=({"ListExtensionsApp": {"json_output": True}}, "Print one JSON document instead of text.")
    )

    def start(self) -> None:
        paths = self.config_paths()
        plan = self.read_plan()
        installed = {entry.module: entry for entry in installed_extensions()}
        names = sorted({e.module for e in plan.extensions} | set(installed))
        # Checking imports extensions; whatever they print must not corrupt --json.
        with contextlib.redirect_stdout(sys.stderr):
            records = {name: record_for(plan.get(name) or PlannedExtension(name)) for name in names}
        # What a start would settle among the enabled ones: bundled providers
        # stepping aside, names, prefixes and services already taken.
        settle_claims([records[e.module] for e in plan.to_load()])
        rows = [extension_model(name, plan.get(name), installed.get(name), records[name]) for name in names]
        levels = [{"level": level_name(p), "directory": p} for p in paths]
        typos = [typo_model(t) for t in plan.typos]
        if self.json_output:
            document = {"levels": levels, "prefer_env_path": env_level_first(), "enabler_typos": typos}
            print(json.dumps({**document, "extensions": rows}, indent=2))
            return
        print("Config folders, highest precedence first:")
        for level in levels:
            print(f"  {level['level']:<11} {level['directory']}")
        print(f"  ({precedence_note()})")
        if typos:
            print(f"\nConfig files that enable nothing ({len(typos)}):")
            for typo in typos:
                print(f"  {typo['path']}: {typo['message']}")
        print()
        if not rows:
            print("No extension is installed or named by any config file.")
            return
        print(f"Extensions ({len(rows)}):")
        for row in rows:
            print("\n".join(describe(row)))


def _source_model(source: EnablerSource, in_force: bool) -> dict[str, Any]:
    return {
        "enabled": source.enabled,
        "level": source.level,
        "directory": source.directory,
        "path": source.path,
        "in_force": in_force,
    }


def typo_model(typo: EnablerTypo) -> dict[str, Any]:
    """One conf.d file that enables nothing, for ``list --json`` (``enabler_typos``)."""
    return {
        "path": typo.path,
        "level": typo.level,
        "directory": typo.directory,
        "found": typo.found,
        "meant": typo.meant,
        "modules": list(typo.modules),
        "message": typo.message,
    }


def extension_model(
    name: str,
    entry: PlannedExtension | None,
    installed: InstalledExtension | None,
    record: ExtensionRecord,
) -> dict[str, Any]:
    """The JSON model of one row of ``extension list --json``; ``record`` is :func:`record_for`'s, claims settled."""
    sources = entry.enablers if entry else ()
    in_force = sources[0] if sources else None
    return {
        "module": name,
        "name": record.name,
        "enabled": bool(entry and entry.enabled),
        "level": in_force.level if in_force else None,
        "enabler": in_force.path if in_force else None,
        "enablers": [_source_model(s, i == 0) for i, s in enumerate(sources)],
        "typos": [t.path for t in entry.typos] if entry else [],
        "entry_point": (
            {"name": installed.name, "distribution": installed.distribution, "version": installed.version}
            if installed
            else None
        ),
        "ok": record.ok,
        "state": record.state,
        "phase": record.phase,
        "error": record.error,
        "version": record.version,
        "description": record.description,
        "requires": list(record.requires),
        "provides": list(record.provides),
        "prefixes": list(record.prefixes),
        "bundled": record.bundled,
        "replaced_by": dict(record.replaced_by),
        "missing_assets": record.missing_assets,
    }


def describe(row: dict[str, Any]) -> list[str]:
    """Human lines for one row: a headline, then one line per source."""
    enabled = "enabled" if row["enabled"] else "disabled"
    status = "ok" if row["ok"] else f"FAILED ({row['phase']}): {row['error']}"
    if row["replaced_by"]:
        status = "replaced: " + ", ".join(f"{s} provided by {by}" for s, by in row["replaced_by"].items())
    if row["ok"] and row["missing_assets"]:
        status += ", not installed: " + row["missing_assets"]
    app = f" [{row['name']}{' ' + row['version'] if row['version'] else ''}]" if row["ok"] else ""
    lines = [f"  {row['module']}{app}: {enabled}, {status}"]
    if row["provides"]:
        lines.append("      provides: " + ", ".join(row["provides"]))
    if row["ok"] and row["prefixes"]:
        lines.append("      prefixes: " + " ".join(row["prefixes"]))
    for source in row["enablers"]:
        word = "enabled " if source["enabled"] else "disabled"
        mark = "<- in force" if source["in_force"] else "(overridden)"
        lines.append(f"      {word} by {source['level']:<11} {source['path']}  {mark}")
    for path in row["typos"]:
        lines.append(f"      ignored: {path} enables nothing (see above)")
    if not row["enablers"] and not row["typos"] and row["phase"] != "enable":
        lines.append("      no enabler file: jupyter server-lite extension enable " + row["module"])
    ep = row["entry_point"]
    if ep:
        lines.append(f"      installed: entry point {ep['name']!r} of {ep['distribution']} {ep['version']}".rstrip())
    return lines


# -- enable / disable / install ----------------------------------------------------------


class _WriteCommand(_Command):
    """Writes one enabler file at the chosen level."""

    level = Enum(LEVELS, DEFAULT_LEVEL, help="The config level to write the enabler file to.").tag(config=True)
    #: The verb of the command, in messages.
    verb = ""

    def the_name(self) -> str:
        if len(self.extra_args) != 1:
            fail(
                "Give exactly one extension name (a module, an installed entry-point name, or the name "
                f"`extension list` shows); got {len(self.extra_args)}."
            )
        return self.extra_args[0]

    def resolve(self, name: str, candidates: Iterable[str], *, importable: bool = True) -> Resolved:
        """The module ``name`` stands for (see :func:`resolve`); several candidates: fail naming them."""
        resolved = resolve(name, candidates, importable=importable)
        if len(resolved.ambiguous) > 1:
            modules = resolved.ambiguous
            fail(
                f"{name!r} is the name of an extension in several modules ({', '.join(modules)}), so nothing was "
                f"written: give the module, e.g. `jupyter server-lite extension {self.verb} {modules[0]}`."
            )
        if resolved.note:
            print(f"{resolved.note}: using module {resolved.module}")
        return resolved

    def refuse(self, resolved: Resolved, record: ExtensionRecord) -> None:
        message = f"{resolved.module!r} is not an importable jupyter_server_lite extension, so nothing was written:"
        fail(f"{message}\n  {record.error}{resolved.hint}")

    def write(self, module: str, enabled: bool) -> None:
        try:
            written = write_enabler(module, enabled, self.level)
        except (ValueError, OSError) as err:
            fail(f"Cannot write the enabler of {module!r}: {err}")
        verb = "Enabled" if enabled else "Disabled"
        print(f"{verb} {module}: wrote {written.path} ({written.level} level)")
        if written.replaced:
            self.warn(f"the unreadable file there was replaced ({written.replaced})")
        self.warn_if_overridden(written)

    def warn_if_overridden(self, written: EnablerWrite) -> None:
        try:
            source = overridden_by(written, self.config_paths())
        except ConfigFileError as err:
            self.warn(f"a server would not start: {err}")
            return
        if source is None:
            return
        state = "enabled" if source.enabled else "disabled"
        why = f" ({precedence_note()})" if {written.level, source.level} == {"user", "sys-prefix"} else ""
        self.warn(
            f"{written.name} stays {state}: {source.path} ({source.level} level) says so and takes precedence{why}."
        )


def level_flags(cls: str) -> dict[str, Any]:
    """``--user`` / ``--sys-prefix`` / ``--system`` for command class ``cls``."""
    return dict(
        _flags_debug,
        user=({cls: {"level": "user"}}, "Write to the user's config folder (jupyter --config-dir)."),
        **{
            "sys-prefix": ({cls: {"level": "sys-prefix"}}, "Write to {sys.prefix}/etc/jupyter (the default)."),
            "system": ({cls: {"level": "system"}}, "Write to the system-wide config folder (/usr/local/etc/jupyter)."),
        },
    )


@dataclasses.dataclass(frozen=True)
class Resolved:
    """The module a name given to ``enable``/``disable``/``install`` stands for."""

    module: str
    #: How the name became the module, for the user (``""`` when the name is the module).
    note: str = ""
    #: For a name no module answers to: a "did you mean" for the error message (``""`` if none).
    hint: str = ""
    #: The modules with an extension of that name, when there are several.
    ambiguous: tuple[str, ...] = ()


def resolve(name: str, candidates: Iterable[str], *, importable: bool = True) -> Resolved:
    """The module ``name`` stands for, tried in this order:

    1. ``name`` itself, when it is an importable, valid extension module
       (skipped with ``importable=False``: ``install`` wants installed ones);
    2. the module of the installed entry point ``name`` (or whose module is ``name``);
    3. the one module among ``candidates`` with an extension (an app) called
       ``name`` -- what ``extension list``, the URLs and the dashboard show.

    With several modules at step 3, ``ambiguous`` lists them; with none,
    ``name`` itself comes back, with a "did you mean" ``hint`` when a
    candidate's module or extension name is close.
    """
    if importable and _importable(name) and check_extension(name).ok:
        return Resolved(name)
    entry = find_installed(name)
    if entry is not None:
        return Resolved(
            entry.module, "" if entry.module == name else f"{name!r} is the entry point of module {entry.module}"
        )
    names = _extension_names(candidates)
    modules = names.get(name, [])
    if len(modules) == 1:
        return Resolved(modules[0], f"{name!r} is the extension name of module {modules[0]}")
    if modules:
        return Resolved(name, ambiguous=tuple(modules))
    spelled = {module: module for module in candidates} | {shown: found[0] for shown, found in names.items()}
    close = difflib.get_close_matches(name, list(spelled), n=1)
    hint = ""
    if close:
        where = "" if spelled[close[0]] == close[0] else f" (module {spelled[close[0]]})"
        hint = f"\nDid you mean {close[0]!r}{where}?"
    return Resolved(name, hint=hint)


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _extension_names(modules: Iterable[str]) -> dict[str, list[str]]:
    """``{extension name: [modules with an app of that name]}`` for the importable, valid ``modules``."""
    names: dict[str, list[str]] = {}
    with contextlib.redirect_stdout(sys.stderr):  # an extension printing on import must not mix with ours
        for module in sorted(set(modules)):
            record = check_extension(module)
            for shown in dict.fromkeys(cls.name for cls in record.app_classes) if record.ok else ():
                names.setdefault(shown, []).append(module)
    return names


class EnableExtensionApp(_WriteCommand):
    """``extension enable NAME``."""

    name = "jupyter-server-lite-extension-enable"
    description = """Enable the extension NAME -- a module, an installed entry-point
    name, or the extension's own name as `extension list` shows it when exactly one
    module has it -- by writing <level>/jupyter_server_lite_config.d/<module>.json.
    The extension must import and validate; it need not be installed through an
    entry point (an editable install or any module on sys.path works)."""
    examples = "jupyter server-lite extension enable jsl_hello --user"
    flags = level_flags("EnableExtensionApp")
    verb = "enable"

    def start(self) -> None:
        name = self.the_name()
        plan = self.read_plan()
        candidates = {e.module for e in plan.extensions} | {e.module for e in installed_extensions()}
        resolved = self.resolve(name, candidates)
        record = check_extension(resolved.module)
        if not record.ok:
            self.refuse(resolved, record)
        self.write(resolved.module, True)


class DisableExtensionApp(_WriteCommand):
    """``extension disable NAME``."""

    name = "jupyter-server-lite-extension-disable"
    description = """Disable the extension NAME (a module, an installed entry-point
    name, or the extension's own name) by writing false into
    <level>/jupyter_server_lite_config.d/<module>.json. A module some config file
    already mentions can be disabled even when it no longer imports (say, its
    package was removed); any other name must stand for an importable extension."""
    examples = "jupyter server-lite extension disable jsl_hello"
    flags = level_flags("DisableExtensionApp")
    verb = "disable"

    def start(self) -> None:
        name = self.the_name()
        plan = self.read_plan()
        if plan.get(name) is not None:
            self.write(name, False)
            return
        candidates = {e.module for e in plan.extensions} | {e.module for e in installed_extensions()}
        resolved = self.resolve(name, candidates)
        if plan.get(resolved.module) is None:
            record = check_extension(resolved.module)
            if not record.ok:
                self.refuse(resolved, record)
        self.write(resolved.module, False)


class InstallExtensionApp(_WriteCommand):
    """``extension install NAME``."""

    name = "jupyter-server-lite-extension-install"
    description = f"""Write the enabler for an installed extension: NAME is the module, the
    name of an entry point in the group {ENTRY_POINT_GROUP}, or the extension's own
    name when exactly one installed module has it. Use it when a package's own
    enabler file was not installed (an editable `pip install -e`, a --user install,
    a wheel without data files) or to enable it at another level."""
    examples = "jupyter server-lite extension install jsl_hello --user"
    flags = level_flags("InstallExtensionApp")
    verb = "install"

    def start(self) -> None:
        name = self.the_name()
        installed = [e.module for e in installed_extensions()]
        resolved = self.resolve(name, installed, importable=False)
        if resolved.module not in installed:
            fail(
                f"No installed package advertises an extension {name!r} "
                f"(entry-point group {ENTRY_POINT_GROUP}; installed: {', '.join(installed) or 'none'}).{resolved.hint}"
            )
        record = check_extension(resolved.module)
        if not record.ok:
            self.refuse(resolved, record)
        self.write(resolved.module, True)


# -- the command group --------------------------------------------------------------


class ExtensionCommandApp(_Command):
    """``jupyter server-lite extension``: the command group."""

    name = "jupyter-server-lite-extension"
    description = """Work with server extensions: list them, enable or disable one at a
    config level (--user, --sys-prefix (default), --system), or write the
    enabler of an installed one."""
    examples = "\n".join(
        [
            "jupyter server-lite extension list",
            "jupyter server-lite extension list --json",
            "jupyter server-lite extension enable jsl_hello --user",
            "jupyter server-lite extension disable jsl_hello",
            "jupyter server-lite extension install jsl_hello --system",
        ]
    )
    subcommand_description = Unicode(
        "Run one as `jupyter server-lite extension <cmd> [args]`; add --help to see its options."
    )
    subcommands = {
        "list": (ListExtensionsApp, "List every known extension, enabled or not, and whether it loads."),
        "enable": (EnableExtensionApp, "Enable an extension: enable NAME [--user|--sys-prefix|--system]."),
        "disable": (DisableExtensionApp, "Disable an extension: disable NAME [--user|--sys-prefix|--system]."),
        "install": (InstallExtensionApp, "Write the enabler of an installed extension: install NAME [--user|...]."),
    }

    def start(self) -> None:
        if self.subapp is None:
            fail(
                unknown_word(self.extra_args[0], list(self.subcommands), "jupyter server-lite extension")
                if self.extra_args
                else f"Give a subcommand: {', '.join(self.subcommands)} (see --help)."
            )
        self.subapp.start()


def main(argv: list[str] | None = None) -> int:
    """Run ``extension <argv>`` in-process and return its exit status.

    Each call gets fresh application objects, so a program (or a test) can
    run several commands in a row.
    """
    subcommands = (ListExtensionsApp, EnableExtensionApp, DisableExtensionApp, InstallExtensionApp)
    return run_in_process(ExtensionCommandApp, argv, subcommands)
