"""Reading config files from every level of ``jupyter_config_path()``.

At each level (a directory) three kinds of file are read, weakest first:

1. ``jupyter_server_lite_config.d/*.json`` in name order (enabler files, but
   they may carry any config);
2. ``jupyter_server_lite_config.json``;
3. ``jupyter_server_lite_config.py``.

Levels are applied lowest first, so the first directory of
``jupyter_config_path()`` wins.  Below every directory sits one more level
for the server's own config, ``bundled``: the extensions shipped in
:mod:`jupyter_server_lite.bundled` are enabled there, so they are on in
every install mode (no data file needed) until an enabler says ``false``.  ``ServerApp.jpserver_extensions`` is merged
key by key instead of replaced, with one special rule: *at one level*, a
``false`` beats a ``true`` (disabling wins); a higher level overrides a lower
one either way.  Where each decision came from is kept as provenance.

A malformed main config file is an error that names the file: silently
skipping it could drop a security setting.  A malformed file in the conf.d
folder is recorded against the extension it is named after (its stem), so
that extension alone fails and the server starts.  A conf.d file that
enables nothing because of a near miss -- ``"ServerAPP"``,
``"jpserver_extension"``, the key outside its section -- is an
:class:`EnablerTypo`: logged as a WARNING naming the file and the key it
likely meant, and shown by ``extension list``.

Each enabler's level is named when the file is read (:func:`level_name`):
``user``, ``sys-prefix``, ``system``, ``JUPYTER_CONFIG_PATH`` or ``other``
for a folder, ``--config`` for the ``--config`` file, and ``bundled`` below
them all; a server adds ``program`` and ``command line`` above them
(:mod:`jupyter_server_lite.extension.plan`).

There are three levels a user can write to, named after the CLI flags
(:data:`LEVELS`):

* ``user``: ``jupyter_config_dir()`` (``~/.jupyter`` or ``$JUPYTER_CONFIG_DIR``);
* ``sys-prefix``: the first of ``jupyter_core.paths.ENV_CONFIG_PATH``
  (``{sys.prefix}/etc/jupyter``), where ``pip install`` puts a package's
  enabler -- the default, as the JEP asks;
* ``system``: the first of ``SYSTEM_CONFIG_PATH`` (``/usr/local/etc/jupyter``).

Which of ``user`` and ``sys-prefix`` comes first is jupyter_core's
decision, the order of ``jupyter_config_path()``, which is what a server
reads: ``user`` first, except inside a virtual or conda environment, where
``sys-prefix`` comes first; ``JUPYTER_PREFER_ENV_PATH`` (``0`` or ``1``)
overrides that guess either way (:func:`env_level_first`).

The folders are looked up at call time, never cached, so a test (or a
program) that points jupyter_core elsewhere is obeyed.  What the files say
about extensions becomes an :class:`~jupyter_server_lite.extension.plan.ExtensionPlan`
-- the same for a server start and for ``extension list``, so the two cannot
disagree.
"""

from __future__ import annotations

import dataclasses
import difflib
import glob
import json
import logging
import os
import site
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jupyter_core import paths as jupyter_paths
from traitlets.config import Config
from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

from . import bundled

if TYPE_CHECKING:
    from .extension.plan import PlannedExtension

SERVER_CONFIG_NAME = "jupyter_server_lite_config"
CONF_D_NAME = SERVER_CONFIG_NAME + ".d"
EXTENSIONS_KEY = "jpserver_extensions"
#: The level of the bundled extensions' default ``true``, below every config folder.
BUNDLED_LEVEL = "bundled"
#: The level of the file given with ``--config``, above every folder.
CONFIG_OPTION_LEVEL = "--config"


class ConfigFileError(Exception):
    """A config file that exists but cannot be read; the message names the file."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"Cannot load config file {path}: {problem}")
        self.path = path
        self.problem = problem


@dataclasses.dataclass(frozen=True)
class EnablerSource:
    """One file's (or the command line's) say on one extension."""

    enabled: bool
    #: The file; for a level that is no file, the level's name ("command line", "program").
    path: str
    #: The level's name: user, sys-prefix, system, JUPYTER_CONFIG_PATH, other, --config,
    #: bundled, program or command line (see :func:`level_name`).
    level: str
    #: The config folder of a folder level; None for the others.
    directory: str | None = None


@dataclasses.dataclass(frozen=True)
class EnablerTypo:
    """A conf.d file that enables nothing because of a near miss: ``found`` where ``meant`` was likely meant."""

    path: str
    level: str
    directory: str | None
    #: The key as written: ``"ServerAPP.jpserver_extensions"``, ``"ServerApp.jpserver_extension"``, ``"ServerAPP"``.
    found: str
    #: What the server reads: ``"ServerApp.jpserver_extensions"`` or ``"ServerApp"``.
    meant: str
    #: The extensions the misplaced mapping names (its keys), which stay as the other files say.
    modules: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """``"'ServerAPP' is not read by the server; did you mean 'ServerApp'?"``"""
        return f"{self.found!r} is not read by the server; did you mean {self.meant!r}?"


@dataclasses.dataclass
class LoadedConfig:
    """The merged result of every config file of one application."""

    config: Config = dataclasses.field(default_factory=Config)
    files: list[str] = dataclasses.field(default_factory=list)
    extensions: dict[str, bool] = dataclasses.field(default_factory=dict)
    #: For each extension, every file that named it, the one in force first.
    provenance: dict[str, list[EnablerSource]] = dataclasses.field(default_factory=dict)
    #: conf.d files that could not be read: extension name -> problem.
    broken_enablers: dict[str, str] = dataclasses.field(default_factory=dict)
    #: conf.d files that enable nothing because of a near miss, in reading order.
    enabler_typos: list[EnablerTypo] = dataclasses.field(default_factory=list)


def read_json_file(path: str) -> dict[str, Any]:
    """A JSON config file as a dict, or :class:`ConfigFileError` saying what is wrong."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigFileError(path, str(err)) from err
    except json.JSONDecodeError as err:
        raise ConfigFileError(path, f"invalid JSON: {err}") from err
    if not isinstance(data, dict):
        raise ConfigFileError(path, f"the top level must be a JSON object, not {type(data).__name__}")
    return data


def bundled_enablers() -> dict[str, list[EnablerSource]]:
    """The default ``true`` of each bundled extension, as if a file at the lowest level said so.

    The "file" is ``jupyter_server_lite/bundled/__init__.py``, which holds
    the list; read at call time, so a program (or a test) that changes the
    list is obeyed.
    """
    path = os.path.abspath(bundled.__file__ or "")
    return {module: [EnablerSource(True, path, BUNDLED_LEVEL)] for module in bundled.BUNDLED_EXTENSIONS}


def _near(word: Any, target: str) -> bool:
    """Whether ``word`` is a near miss of ``target``: not it, but close (case aside, difflib)."""
    if not isinstance(word, str) or word == target:
        return False
    return difflib.SequenceMatcher(None, word.lower(), target.lower()).ratio() >= 0.8


def enabler_typos(data: dict[str, Any], path: str, level: str, directory: str | None) -> list[EnablerTypo]:
    """The near misses of a conf.d file's ``data`` that has no ``ServerApp.jpserver_extensions``.

    Flagged: a top-level key close to ``jpserver_extensions`` (the section
    forgotten); a key close to it (or exactly it) in a section that is, or is
    close to, ``ServerApp``, or exactly it in any other section; a section
    close to ``ServerApp`` on its own.  Other config in a conf.d file is
    legitimate (``{"HelloApp": {...}}``) and not flagged.
    """
    server = data.get("ServerApp")
    if isinstance(server, dict) and EXTENSIONS_KEY in server:
        return []
    meant = f"ServerApp.{EXTENSIONS_KEY}"
    found: list[tuple[str, str, Any]] = []
    for key, value in data.items():
        if key == EXTENSIONS_KEY or _near(key, EXTENSIONS_KEY):
            found.append((key, meant, value))
        elif isinstance(value, dict):
            section_near = key == "ServerApp" or _near(key, "ServerApp")
            inner = [
                (k, v) for k, v in value.items() if k == EXTENSIONS_KEY or (section_near and _near(k, EXTENSIONS_KEY))
            ]
            found += [(f"{key}.{k}", meant, v) for k, v in inner]
            if not inner and _near(key, "ServerApp"):
                found.append((key, "ServerApp", None))
    return [
        EnablerTypo(
            path,
            level,
            directory,
            what,
            target,
            tuple(k for k in value if isinstance(k, str)) if isinstance(value, dict) else (),
        )
        for what, target, value in found
    ]


def _extensions_of(data: Any, path: str) -> dict[str, bool]:
    section = data.get("ServerApp", {}) if isinstance(data, dict) else {}
    value = section.get(EXTENSIONS_KEY, {}) if isinstance(section, dict) else {}
    if not isinstance(value, dict) or not all(isinstance(v, bool) for v in value.values()):
        raise ConfigFileError(path, f"ServerApp.{EXTENSIONS_KEY} must map extension names to true or false")
    return with_switches(dict(value), section if isinstance(section, dict) else {})


def with_switches(names: dict[str, bool], section: Any) -> dict[str, bool]:
    """``names`` plus the bundled extensions a ``ServerApp`` ``section`` switches with one of
    jupyter_server's traits (``terminals_enabled``, see ``bundled.SWITCHES``); disabling wins."""
    for trait, module in bundled.SWITCHES.items():
        switch = section.get(trait)
        if isinstance(switch, bool):
            names[module] = names.get(module, switch) and switch
    return names


def _load_python(path: str, log: logging.Logger) -> Config:
    directory, filename = os.path.split(path)
    try:
        return PyFileConfigLoader(filename, path=directory, log=log).load_config()
    except Exception as err:
        raise ConfigFileError(path, f"{type(err).__name__}: {err}") from err


def _load_json(path: str, log: logging.Logger) -> Config:
    read_json_file(path)  # precise error for malformed files
    directory, filename = os.path.split(path)
    return JSONFileConfigLoader(filename, path=directory, log=log).load_config()


def load_config_files(
    paths: Sequence[str],
    base_name: str = SERVER_CONFIG_NAME,
    conf_d: bool = True,
    extra_file: str | None = None,
    log: logging.Logger | None = None,
) -> LoadedConfig:
    """Load and merge ``base_name`` files from ``paths`` (first path wins).

    ``extra_file`` (``--config``) is applied last, above every level.  For
    the server's own config (the default ``base_name``) the bundled
    extensions are enabled first, at the :data:`BUNDLED_LEVEL`, below all.
    """
    log = log or logging.getLogger(__name__)
    result = LoadedConfig()
    if base_name == SERVER_CONFIG_NAME:
        result.provenance.update(bundled_enablers())
    folders = list(dict.fromkeys(os.path.abspath(p) for p in paths))
    for folder in reversed(folders):
        level = level_name(folder)
        level_extensions: dict[str, list[EnablerSource]] = {}
        found: list[tuple[str, Config]] = []
        if conf_d:
            for path in sorted(glob.glob(os.path.join(folder, CONF_D_NAME, "*.json"))):
                try:
                    data = read_json_file(path)
                    names = _extensions_of(data, path)
                except ConfigFileError as err:
                    log.error("%s", err)
                    result.broken_enablers[os.path.splitext(os.path.basename(path))[0]] = str(err)
                    continue
                for typo in enabler_typos(data, path, level, folder):
                    log.warning("Config file %s enables no extension: %s", path, typo.message)
                    result.enabler_typos.append(typo)
                for name, enabled in names.items():
                    level_extensions.setdefault(name, []).append(EnablerSource(enabled, path, level, folder))
                found.append((path, Config(data)))
        for suffix, loader in ((".json", _load_json), (".py", _load_python)):
            path = os.path.join(folder, base_name + suffix)
            if os.path.isfile(path):
                config = loader(path, log)
                if base_name == SERVER_CONFIG_NAME:
                    names = _extensions_of(config, path)
                    for name, enabled in names.items():
                        level_extensions.setdefault(name, []).append(EnablerSource(enabled, path, level, folder))
                found.append((path, config))
        for path, config in found:
            result.config.merge(config)
            result.files.append(path)
        for name, sources in level_extensions.items():
            # Disabling wins at one level: the in-force source goes first.
            sources.sort(key=lambda s: s.enabled)
            result.provenance[name] = sources + result.provenance.get(name, [])
    if extra_file:
        path = os.path.abspath(extra_file)
        if not os.path.isfile(path):
            raise ConfigFileError(path, "no such file")
        loader = _load_python if path.endswith(".py") else _load_json
        config = loader(path, log)
        for name, enabled in _extensions_of(config, path).items():
            source = EnablerSource(enabled, path, CONFIG_OPTION_LEVEL)
            result.provenance[name] = [source, *result.provenance.get(name, [])]
        result.config.merge(config)
        result.files.append(path)
    result.extensions = {name: sources[0].enabled for name, sources in sorted(result.provenance.items())}
    if result.extensions or EXTENSIONS_KEY in result.config.get("ServerApp", {}):
        result.config.ServerApp[EXTENSIONS_KEY] = dict(result.extensions)
    return result


# -- config levels ---------------------------------------------------------------------

#: The levels the CLI writes to (``--user``, ``--sys-prefix``, ``--system``). ``system``
#: is the lowest; which of the other two is higher depends on :func:`env_level_first`.
LEVELS = ("user", "sys-prefix", "system")
DEFAULT_LEVEL = "sys-prefix"


def level_dir(level: str) -> str:
    """The config folder of ``level`` (one of :data:`LEVELS`), as jupyter_core says now."""
    if level == "user":
        return jupyter_paths.jupyter_config_dir()
    if level == "sys-prefix":
        return jupyter_paths.ENV_CONFIG_PATH[0]
    if level == "system":
        return jupyter_paths.SYSTEM_CONFIG_PATH[0]
    raise ValueError(f"Unknown config level {level!r}: expected one of {', '.join(LEVELS)}")


def env_level_first() -> bool:
    """Whether ``sys-prefix`` comes before ``user`` in ``jupyter_config_path()`` now.

    jupyter_core's rule: ``JUPYTER_PREFER_ENV_PATH`` decides when it is set
    (``1`` yes, ``0`` no); otherwise yes inside a virtual environment or a
    non-base conda environment that the user owns, no elsewhere.
    """
    return bool(jupyter_paths.prefer_environment_over_user())


def precedence_note() -> str:
    """Which of ``user`` and ``sys-prefix`` comes first now, why, and the switch that swaps them."""
    setting = os.environ.get("JUPYTER_PREFER_ENV_PATH")
    if env_level_first():
        why = f"JUPYTER_PREFER_ENV_PATH={setting}" if setting is not None else "inside a virtual or conda environment"
        return f"sys-prefix comes before user ({why}); JUPYTER_PREFER_ENV_PATH=0 puts user first"
    why = f"JUPYTER_PREFER_ENV_PATH={setting}" if setting is not None else "outside a virtual or conda environment"
    return f"user comes before sys-prefix ({why}); JUPYTER_PREFER_ENV_PATH=1 puts sys-prefix first"


def level_name(directory: str) -> str:
    """Which level a config folder belongs to.

    Every folder of ``jupyter_config_path()`` has one: ``user`` (including the
    Python user-site ``etc/jupyter``), ``sys-prefix``, ``system``, or
    ``JUPYTER_CONFIG_PATH`` for a folder added through that variable; any
    other folder is ``other``.
    """
    directory = os.path.abspath(directory)

    def among(folders: Sequence[str]) -> bool:
        return directory in {os.path.abspath(f) for f in folders if f}

    user = [jupyter_paths.jupyter_config_dir()]
    if site.ENABLE_USER_SITE and site.getuserbase():
        user.append(os.path.join(site.getuserbase(), "etc", "jupyter"))
    if among(user):
        return "user"
    if among(jupyter_paths.ENV_CONFIG_PATH):
        return "sys-prefix"
    if among(jupyter_paths.SYSTEM_CONFIG_PATH):
        return "system"
    if among(os.environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep)):
        return "JUPYTER_CONFIG_PATH"
    return "other"


def enabler_view(paths: Sequence[str] | None = None) -> dict[str, PlannedExtension]:
    """What the config files alone say about each extension, by module: the plan's entries.

    ``paths`` defaults to ``jupyter_config_path()``, read now.  Raises
    :class:`ConfigFileError` for a malformed main config file, as a server
    start would; a malformed enabler file shows up as the entry's ``broken``.
    """
    from .extension.plan import read_plan  # cycle: configfiles <-> extension.plan

    return {entry.module: entry for entry in read_plan(paths).extensions}


def quiet_log() -> logging.Logger:
    """A logger that drops everything: configfiles logs broken enablers and typos
    for a server; the CLI reports them itself, from the plan."""
    log = logging.getLogger("jupyter_server_lite.configfiles.reader")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    log.propagate = False
    return log
