"""``jupyter server-lite extension list|enable|disable|install``.

The CLI is the one place that looks at everything an extension can be:
installed (an entry point of ``jupyter_server_lite.extensions``), switched on
or off by enabler files at any config level, and importable and valid or
not.  It reads the files with the server's own loader
(:func:`~jupyter_server_lite.configfiles.enabler_view`) and checks each extension with the server's
own import step (:func:`~jupyter_server_lite.extension.record.check_extension`) and settles the
enabled ones' names, prefixes and services with the server's own rule
(:func:`~jupyter_server_lite.extension.claims.settle_claims`), so what it shows is what a server
start would do.

``enable`` and ``disable`` write one enabler file at one level
(``--sys-prefix`` by default) and then re-read every level: when another
file still decides otherwise, the command says which one.

Exit status: 0 on success, 1 when a name is refused (not an importable
extension, not installed) or the config files cannot be read.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
from typing import Any

from jupyter_core.application import JupyterApp, NoStart, base_flags
from jupyter_core.paths import jupyter_config_path
from traitlets import Bool, Enum, Unicode

from .._version import __version__
from ..configfiles import (
    DEFAULT_LEVEL,
    LEVELS,
    ConfigFileError,
    EnablerSource,
    ExtensionSetting,
    enabler_view,
    level_name,
)
from ..extension.claims import settle_claims
from ..extension.discovery import ENTRY_POINT_GROUP, InstalledExtension, find_installed, installed_extensions
from ..extension.record import ExtensionRecord, check_extension
from . import fail, unknown_word
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

    def read_view(self) -> dict[str, ExtensionSetting]:
        try:
            return enabler_view(self.config_paths())
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
        view = self.read_view()
        installed = {entry.module: entry for entry in installed_extensions()}
        names = sorted(set(view) | set(installed))
        # Checking imports extensions; whatever they print must not corrupt --json.
        with contextlib.redirect_stdout(sys.stderr):
            records = {name: check(name, view.get(name)) for name in names}
        # What a start would settle among the enabled ones: bundled providers
        # stepping aside, names, prefixes and services already taken.
        settle_claims([records[n] for n in names if n in view and view[n].enabled])
        rows = [extension_model(name, view.get(name), installed.get(name), records[name]) for name in names]
        levels = [{"level": level_name(p), "path": p} for p in paths]
        if self.json_output:
            print(json.dumps({"levels": levels, "extensions": rows}, indent=2))
            return
        print("Config folders, highest precedence first:")
        for level in levels:
            print(f"  {level['level']:<11} {level['path']}")
        print()
        if not rows:
            print("No extension is installed or named by any config file.")
            return
        print(f"Extensions ({len(rows)}):")
        for row in rows:
            print("\n".join(describe(row)))


def check(name: str, setting: ExtensionSetting | None) -> ExtensionRecord:
    """The record a server start would reach for ``name``, at least up to ``imported``.

    A malformed enabler fails the extension before any import, as it does
    in the server (phase ``enable``).
    """
    if setting is not None and setting.broken:
        record = ExtensionRecord(module=name)
        record.fail("enable", setting.broken)
        return record
    return check_extension(name)


def _source_model(source: EnablerSource, in_force: bool) -> dict[str, Any]:
    return {
        "enabled": source.enabled,
        "level": level_name(source.level),
        "directory": source.level,
        "path": source.path,
        "in_force": in_force,
    }


def extension_model(
    name: str,
    setting: ExtensionSetting | None,
    installed: InstalledExtension | None,
    record: ExtensionRecord,
) -> dict[str, Any]:
    """The JSON model of one row of ``extension list --json``; ``record`` is :func:`check`'s, claims settled."""
    sources = setting.sources if setting else ()
    in_force = sources[0] if sources else None
    return {
        "module": name,
        "name": record.name,
        "enabled": bool(setting and setting.enabled),
        "level": level_name(in_force.level) if in_force else None,
        "enabler": in_force.path if in_force else None,
        "enablers": [_source_model(s, i == 0) for i, s in enumerate(sources)],
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
    if not row["enablers"] and row["phase"] != "enable":
        lines.append("      no enabler file: jupyter server-lite extension enable " + row["module"])
    ep = row["entry_point"]
    if ep:
        lines.append(f"      installed: entry point {ep['name']!r} of {ep['distribution']} {ep['version']}".rstrip())
    return lines


# -- enable / disable / install ----------------------------------------------------------


class _WriteCommand(_Command):
    """Writes one enabler file at the chosen level."""

    level = Enum(LEVELS, DEFAULT_LEVEL, help="The config level to write the enabler file to.").tag(config=True)

    def the_name(self) -> str:
        if len(self.extra_args) != 1:
            fail(
                f"Give exactly one extension name (a module, or an installed entry-point name); got {len(self.extra_args)}."
            )
        return self.extra_args[0]

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
        if source is not None:
            state = "enabled" if source.enabled else "disabled"
            self.warn(
                f"{written.name} stays {state}: {source.path} ({level_name(source.level)} level) says so and takes precedence."
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


def resolve(name: str) -> str:
    """The module for ``name``: itself when importable, else an installed entry point's module."""
    try:
        if importlib.util.find_spec(name) is not None:
            return name
    except (ImportError, ValueError):
        pass
    entry = find_installed(name)
    return entry.module if entry is not None else name


def refusal(name: str, record: ExtensionRecord) -> str:
    return f"{name!r} is not an importable jupyter_server_lite extension, so nothing was written:\n  {record.error}"


class EnableExtensionApp(_WriteCommand):
    """``extension enable NAME``."""

    name = "jupyter-server-lite-extension-enable"
    description = """Enable the extension NAME (a module, or an installed entry-point
    name) by writing <level>/jupyter_server_lite_config.d/<module>.json. The
    extension must import and validate; it need not be installed through an
    entry point (an editable install or any module on sys.path works)."""
    examples = "jupyter server-lite extension enable jsl_hello --user"
    flags = level_flags("EnableExtensionApp")

    def start(self) -> None:
        module = resolve(self.the_name())
        record = check_extension(module)
        if not record.ok:
            fail(refusal(module, record))
        self.write(module, True)


class DisableExtensionApp(_WriteCommand):
    """``extension disable NAME``."""

    name = "jupyter-server-lite-extension-disable"
    description = """Disable the extension NAME by writing false into
    <level>/jupyter_server_lite_config.d/<module>.json. A name some config file
    already mentions can be disabled even when it no longer imports (say, its
    package was removed); any other name must be an importable extension."""
    examples = "jupyter server-lite extension disable jsl_hello"
    flags = level_flags("DisableExtensionApp")

    def start(self) -> None:
        module = resolve(self.the_name())
        if module not in self.read_view():
            record = check_extension(module)
            if not record.ok:
                fail(refusal(module, record))
        self.write(module, False)


class InstallExtensionApp(_WriteCommand):
    """``extension install NAME``."""

    name = "jupyter-server-lite-extension-install"
    description = f"""Write the enabler for an installed extension: NAME is the module or
    the name of an entry point in the group {ENTRY_POINT_GROUP}. Use it when a
    package's own enabler file was not installed (an editable `pip install -e`,
    a --user install, a wheel without data files) or to enable it at another
    level."""
    examples = "jupyter server-lite extension install jsl_hello --user"
    flags = level_flags("InstallExtensionApp")

    def start(self) -> None:
        name = self.the_name()
        entry = find_installed(name)
        if entry is None:
            known = ", ".join(e.module for e in installed_extensions()) or "none"
            fail(
                f"No installed package advertises an extension {name!r} "
                f"(entry-point group {ENTRY_POINT_GROUP}; installed: {known})."
            )
        record = check_extension(entry.module)
        if not record.ok:
            fail(refusal(entry.module, record))
        self.write(entry.module, True)


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
    classes = (ExtensionCommandApp, ListExtensionsApp, EnableExtensionApp, DisableExtensionApp, InstallExtensionApp)
    try:
        app = ExtensionCommandApp.instance()
        app.initialize(sys.argv[1:] if argv is None else argv)
        app.start()
    except NoStart:
        pass
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    finally:
        for cls in classes:
            cls.clear_instance()
    return 0
