"""``jupyter server-lite migrate``: carry a Jupyter Server configuration over.

The JEP that split the server from the notebook asks for a *migrate*
application; this is ours.  At every level of ``jupyter_config_path()`` it
reads what Jupyter Server reads -- ``jupyter_server_config.json``,
``jupyter_server_config.py`` and ``jupyter_server_config.d/*.json`` -- and
writes the jupyter_server_lite file of the same kind at the same level
(``jupyter_server_lite_config.json|py``, ``jupyter_server_lite_config.d/``),
so the levels keep their precedence.

What is carried:

* a trait whose class and name exist here (names match by design:
  ``ServerApp.port``, ``MappingKernelManager.cull_idle_timeout``...), and the
  traits Jupyter Server itself renamed (``ServerApp.token`` is the old name
  of ``IdentityProvider.token``);
* an enabler (``jpserver_extensions``) of an extension that exists for this
  server: an importable jupyter_server_lite extension.  JupyterLab, Notebook
  and the terminals are the bundled frontends and services here, on by
  default: a ``true`` for them needs nothing, a ``false`` disables the bundled
  one.

Everything else is listed with the reason: an unknown class or trait, an
extension not available here, a password hash this server cannot check, a
statement of a ``.py`` file that is not a plain ``c.Class.trait = literal``.

A ``.py`` file is read statically (``ast``): it is never run, unless
``--run-py`` asks for it, in which case traitlets' own loader runs it as
Jupyter Server would, and what it computed is written down as values.

Nothing is overwritten silently: an existing target file is left alone and
reported (exit status 1) unless ``--force`` replaces it, which is said for
each file.  ``--dry-run`` prints what would be written and writes nothing.
Secrets (tokens, password hashes) are written with the source file's
permissions and never printed.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import glob
import importlib
import importlib.util
import json
import os
import stat
import sys
from typing import Any

from jupyter_core.application import JupyterApp, base_flags
from jupyter_core.paths import jupyter_config_path
from traitlets import Bool
from traitlets.config import Configurable
from traitlets.config.loader import PyFileConfigLoader
from traitlets.utils.importstring import import_item

from .. import bundled
from .._version import __version__
from ..configfiles import CONF_D_NAME, EXTENSIONS_KEY, SERVER_CONFIG_NAME, ConfigFileError, level_name, read_json_file
from ..extension.discovery import find_installed
from ..extension.manager import check_extension
from ..serverapp import ServerApp
from . import fail, run_in_process

SOURCE_NAME = "jupyter_server_config"

#: Jupyter Server's old names of traits that exist here under another.
RENAMED = {
    ("ServerApp", "token"): ("IdentityProvider", "token"),
    ("ServerApp", "notebook_dir"): ("ServerApp", "root_dir"),
}
#: Traits whose name exists here but whose value cannot carry over, and why.
NOT_PORTABLE = {
    ("ServerApp", "password"): "a Jupyter Server password hash (argon2 or sha1), which this server cannot check: "
    "set a password with `jupyter server-lite password`",
    ("IdentityProvider", "hashed_password"): "a Jupyter Server password hash (argon2 or sha1), which this server "
    "cannot check: set a password with `jupyter server-lite password`",
}
#: Secrets: written, never printed.
SECRETS = {("IdentityProvider", "token"), ("ServerApp", "cookie_secret")}
#: Jupyter Server extensions that are this server's bundled frontends and services.
BUNDLED = {"jupyterlab": "lab", "notebook": "notebook", "jupyter_server_terminals": "terminals"}


@dataclasses.dataclass
class Skipped:
    """Something of the source files that is not carried over, and why."""

    path: str
    what: str
    reason: str


@dataclasses.dataclass
class Target:
    """One file to write: the translation of one source file."""

    source: str
    path: str
    config: dict[str, dict[str, Any]]
    #: Human lines: one per carried setting, secrets masked.
    carried: list[str]
    mode: int

    @property
    def is_py(self) -> bool:
        return self.path.endswith(".py")

    def text(self) -> str:
        """The file's content: JSON, or ``c.Class.trait = value`` lines for a .py file."""
        if not self.is_py:
            return json.dumps(self.config, indent=2, sort_keys=True) + "\n"
        lines = [f"# Carried over from {self.source} by `jupyter server-lite migrate`.", "c = get_config()  # noqa", ""]
        for section, traits in sorted(self.config.items()):
            for trait, value in sorted(traits.items()):
                lines.append(f"c.{section}.{trait} = {value!r}")
        return "\n".join(lines) + "\n"


# -- what exists here -------------------------------------------------------------


def known_classes() -> dict[str, type]:
    """Config section name -> class, for every configurable class of this server.

    The server's classes and their parents (``Application.log_level`` is a
    section too), the classes its ``*_class`` traits name (``ServerKernelManager``
    and jupyter_client's ``KernelManager`` above it), and the bundled
    extensions' apps.
    """
    server = ServerApp()
    modes = [import_item(name) for name in server.mode_classes]  # GatewayClient.* carries over too
    classes = list(server._classes_inc_parents([*server.classes, *modes]))
    for app in bundled_apps():  # TerminalManager.* and the like carry over too
        classes += [c for c in (app, *getattr(app, "classes", [])) if c not in classes]
    queue = list(classes)
    while queue:
        cls = queue.pop()
        for trait in cls.class_traits(config=True).values():
            value = trait.default_value
            if isinstance(value, str) and value.startswith("jupyter_server_lite."):
                try:
                    value = import_item(value)
                except ImportError:
                    continue
            if isinstance(value, type) and issubclass(value, Configurable):
                for parent in value.__mro__:
                    if isinstance(parent, type) and issubclass(parent, Configurable) and parent not in classes:
                        classes.append(parent)
                        queue.append(parent)
    return {cls.__name__: cls for cls in reversed(classes)}  # the most derived class of a name wins


def bundled_apps() -> list[type]:
    """The ExtensionApp classes of the bundled extensions (importing them imports no service yet)."""
    apps: list[type] = []
    for module in bundled.BUNDLED_EXTENSIONS:
        points: list[dict[str, Any]] = importlib.import_module(module)._jupyter_server_extension_points()
        apps += [point["app"] for point in points if "app" in point]
    return apps


def extension_here(name: str, enabled: bool) -> tuple[str | None, str]:
    """``(module to enable here, note)``, or ``(None, why not)``, for a Jupyter Server enabler."""
    if name in BUNDLED:
        module = f"jupyter_server_lite.bundled.{BUNDLED[name]}"
        if importlib.util.find_spec(module) is None:
            return (
                None,
                f"provided here by the bundled {BUNDLED[name]!r} frontend, which this installation does not have",
            )
        if enabled:
            return None, f"nothing to do: the bundled {module} is on by default"
        return module, f"disables the bundled {module}, its equivalent here"

    with contextlib.redirect_stdout(sys.stderr):  # an imported module's prints stay off the report
        record = check_extension(name)
    if not record.ok:
        return None, f"not a jupyter_server_lite extension here: {record.error}"
    if not any(p.app_class for p in record.points) and find_installed(name) is None:
        return None, (
            "a function extension that does not advertise itself to jupyter_server_lite "
            "(entry-point group jupyter_server_lite.extensions): most likely written for Jupyter Server"
        )
    return name, ""


# -- reading the source files -------------------------------------------------------


def read_py_statically(path: str, skipped: list[Skipped]) -> dict[str, dict[str, Any]]:
    """The ``c.Class.trait = literal`` assignments of a .py config file, without running it.

    Every other statement is reported, with its line, as not translatable
    (``c = get_config()``, imports, docstrings and comments are fine).
    """
    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as err:
        raise ConfigFileError(path, f"SyntaxError: {err.msg} (line {err.lineno})") from err
    config: dict[str, dict[str, Any]] = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if (
            isinstance(node, ast.Assign)
            and isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Attribute)
            and isinstance(target.value.value, ast.Name)
            and target.value.value.id == "c"
        ):
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):  # what literal_eval raises
                pass
            else:
                config.setdefault(target.value.attr, {})[target.attr] = value
                continue
        if _harmless(node):
            continue
        line = ast.get_source_segment(source, node) or ""
        skipped.append(
            Skipped(
                path,
                f"line {node.lineno}: {line.splitlines()[0] if line else type(node).__name__}",
                "cannot be translated statically (not a `c.Class.trait = literal`); "
                "set it by hand, or use --run-py to run the file",
            )
        )
    return config


def _harmless(node: ast.stmt) -> bool:
    """``c = get_config()``, an import, a docstring or ``pass``: nothing to carry."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.Pass)):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True
    return (
        isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["c"]
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "get_config"
    )


def read_py_by_running(path: str) -> dict[str, dict[str, Any]]:
    """A .py config file as traitlets' loader makes it: by running it (``--run-py``)."""
    directory, filename = os.path.split(path)
    try:
        config = PyFileConfigLoader(filename, path=directory).load_config()
    except Exception as err:
        raise ConfigFileError(path, f"{type(err).__name__}: {err}") from err
    return {section: dict(traits) for section, traits in config.items() if isinstance(traits, dict)}


# -- translating ------------------------------------------------------------------------


def translate(
    path: str, data: dict[str, Any], known: dict[str, type], skipped: list[Skipped]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The jupyter_server_lite config for ``data`` (one source file), and a line per carried setting."""
    out: dict[str, dict[str, Any]] = {}
    carried: list[str] = []
    for section, traits in data.items():
        if not isinstance(traits, dict):
            skipped.append(Skipped(path, section, "not a config section (a class name mapping to its traits)"))
            continue
        for trait, value in traits.items():
            key = f"{section}.{trait}"
            if (section, trait) == ("ServerApp", EXTENSIONS_KEY) and isinstance(value, dict):
                for name, enabled in value.items():
                    module, note = extension_here(name, bool(enabled))
                    if module is None:
                        skipped.append(Skipped(path, f"extension {name}", note))
                        continue
                    out.setdefault("ServerApp", {}).setdefault(EXTENSIONS_KEY, {})[module] = bool(enabled)
                    carried.append(
                        f"extension {module}: {'enabled' if enabled else 'disabled'}{' (' + note + ')' if note else ''}"
                    )
                continue
            if (section, trait) in NOT_PORTABLE:
                skipped.append(Skipped(path, key, NOT_PORTABLE[(section, trait)]))
                continue
            new_section, new_trait = RENAMED.get((section, trait), (section, trait))
            cls = known.get(new_section)
            if cls is None:
                skipped.append(Skipped(path, key, f"no configurable class {new_section} here"))
                continue
            if new_trait not in cls.class_traits(config=True):  # type: ignore[attr-defined]  # a Configurable
                skipped.append(Skipped(path, key, f"{new_section} has no trait {new_trait} here"))
                continue
            out.setdefault(new_section, {})[new_trait] = value
            shown = "[secret, not shown]" if (new_section, new_trait) in SECRETS else repr(value)
            renamed = f" (from {key}, its old name)" if (new_section, new_trait) != (section, trait) else ""
            carried.append(f"{new_section}.{new_trait} = {shown}{renamed}")
    return out, carried


def sources(paths: list[str]) -> list[tuple[str, str, str]]:
    """``(level, source file, target file)`` of every Jupyter Server config file, highest level first."""
    found = []
    for level in dict.fromkeys(os.path.abspath(p) for p in paths):
        for path in sorted(glob.glob(os.path.join(level, SOURCE_NAME + ".d", "*.json"))):
            found.append((level, path, os.path.join(level, CONF_D_NAME, os.path.basename(path))))
        for suffix in (".json", ".py"):
            path = os.path.join(level, SOURCE_NAME + suffix)
            if os.path.isfile(path):
                found.append((level, path, os.path.join(level, SERVER_CONFIG_NAME + suffix)))
    return found


def plan(paths: list[str], run_py: bool = False) -> tuple[list[Target], list[Skipped]]:
    """What migrating the config files of ``paths`` would write, and what it would leave behind."""
    known = known_classes()
    targets: list[Target] = []
    skipped: list[Skipped] = []
    for _level, source, target in sources(paths):
        if source.endswith(".py"):
            data: dict[str, Any] = read_py_by_running(source) if run_py else read_py_statically(source, skipped)
        else:
            data = read_json_file(source)
        config, carried = translate(source, data, known, skipped)
        if config:
            mode = stat.S_IMODE(os.stat(source).st_mode)
            targets.append(Target(source, target, config, carried, mode))
    return targets, skipped


def write(target: Target, force: bool) -> tuple[bool, str]:
    """Write ``target`` unless a file is there (then only with ``force``): ``(written, what happened)``."""
    exists = os.path.exists(target.path)
    if exists and not force:
        return False, f"Not written: {target.path} exists (--force replaces it)"
    os.makedirs(os.path.dirname(target.path), exist_ok=True)
    fd = os.open(target.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, target.mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(target.text())
    os.chmod(target.path, target.mode)  # also when replacing a file that had other permissions
    return True, f"{'Replaced' if exists else 'Wrote'} {target.path}"


class MigrateApp(JupyterApp):
    """``jupyter server-lite migrate``."""

    name = "jupyter-server-lite-migrate"
    version = __version__
    description = """Carry a Jupyter Server configuration over: read jupyter_server_config.json|py and
    jupyter_server_config.d/*.json at every config level and write the jupyter_server_lite
    files of the same kind at the same level, with every setting that means the same here.
    Lists what it does not carry and why. A .py file is read without running it (--run-py
    runs it). An existing file is never replaced without --force."""
    examples = "\n".join(
        ["jupyter server-lite migrate --dry-run", "jupyter server-lite migrate", "jupyter server-lite migrate --force"]
    )
    dry_run = Bool(False, help="Print what would be written, write nothing.").tag(config=True)
    force = Bool(False, help="Replace jupyter_server_lite config files that exist (each one is named).").tag(
        config=True
    )
    run_py = Bool(
        False, help="Run jupyter_server_config.py files with traitlets' loader (as Jupyter Server would)."
    ).tag(config=True)
    flags = {
        "debug": base_flags["debug"],
        "dry-run": ({"MigrateApp": {"dry_run": True}}, "Print what would be written, write nothing."),
        "force": ({"MigrateApp": {"force": True}}, "Replace existing jupyter_server_lite config files."),
        "run-py": ({"MigrateApp": {"run_py": True}}, "Run .py config files to read them (they are code)."),
    }
    aliases: dict[str, Any] = {}

    def initialize(self, argv: Any = None) -> None:
        self.parse_command_line(argv)  # no config file of its own

    def start(self) -> None:
        if self.extra_args:
            fail(f"migrate takes no positional argument, not {self.extra_args[0]!r} (see --help)")
        paths = jupyter_config_path()
        try:
            targets, skipped = plan(paths, run_py=self.run_py)
        except ConfigFileError as err:
            fail(f"{err}\nNothing was written.")
        found = sources(paths)
        if not found:
            print("No Jupyter Server config file (jupyter_server_config.*) in any config folder:")
            print("\n".join(f"  {level_name(p):<11} {p}" for p in paths))
            return
        print("Jupyter Server config files, highest precedence first:")
        print("\n".join(f"  {level_name(level):<11} {source}" for level, source, _ in found))
        refused = False
        for target in targets:
            print()
            if self.dry_run:
                print(
                    f"Would write {target.path}{' (it exists: --force replaces it)' if os.path.exists(target.path) else ''}:"
                )
            else:
                try:
                    written, message = write(target, self.force)
                except OSError as err:
                    written, message = False, f"Cannot write {target.path}: {err}"
                refused = refused or not written
                print(message + (":" if written else ""))
            if self.dry_run or written:
                print("\n".join(f"  {line}" for line in target.carried))
        if skipped:
            print("\nNot carried over:")
            for item in skipped:
                print(f"  {item.path}: {item.what}: {item.reason}")
        if not targets:
            print("\nNothing to write.")
        if refused:
            sys.exit(1)


def main(argv: list[str] | None = None) -> int:
    """Run ``migrate <argv>`` in-process and return its exit status (for tests and programs)."""
    return run_in_process(MigrateApp, argv)
