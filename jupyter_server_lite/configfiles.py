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
that extension alone fails and the server starts.

There are three levels a user can write to, named after the CLI flags
(:data:`LEVELS`):

* ``user``: ``jupyter_config_dir()`` (``~/.jupyter`` or ``$JUPYTER_CONFIG_DIR``);
* ``sys-prefix``: the first of ``jupyter_core.paths.ENV_CONFIG_PATH``
  (``{sys.prefix}/etc/jupyter``), where ``pip install`` puts a package's
  enabler -- the default, as the JEP asks;
* ``system``: the first of ``SYSTEM_CONFIG_PATH`` (``/usr/local/etc/jupyter``).

The folders are looked up at call time, never cached, so a test (or a
program) that points jupyter_core elsewhere is obeyed.  :func:`enabler_view`
is what the CLI shows: the same merge the server runs at start-up, so
``extension list`` cannot disagree with what a server would load.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
import site
from collections.abc import Sequence
from typing import Any

from jupyter_core import paths as jupyter_paths
from traitlets.config import Config
from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

SERVER_CONFIG_NAME = "jupyter_server_lite_config"
CONF_D_NAME = SERVER_CONFIG_NAME + ".d"
EXTENSIONS_KEY = "jpserver_extensions"
#: The level of the bundled extensions' default ``true``, below every config folder.
BUNDLED_LEVEL = "bundled"


class ConfigFileError(Exception):
    """A config file that exists but cannot be read; the message names the file."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"Cannot load config file {path}: {problem}")
        self.path = path
        self.problem = problem


@dataclasses.dataclass(frozen=True)
class EnablerSource:
    """One file's say on one extension."""

    enabled: bool
    path: str  # the file, or "command line"
    level: str  # the config directory it sits in


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
    from . import bundled

    path = os.path.abspath(bundled.__file__ or "")
    return {module: [EnablerSource(True, path, BUNDLED_LEVEL)] for module in bundled.BUNDLED_EXTENSIONS}


def _extensions_of(data: Any, path: str) -> dict[str, bool]:
    section = data.get("ServerApp", {}) if isinstance(data, dict) else {}
    value = section.get(EXTENSIONS_KEY, {}) if isinstance(section, dict) else {}
    if not isinstance(value, dict) or not all(isinstance(v, bool) for v in value.values()):
        raise ConfigFileError(path, f"ServerApp.{EXTENSIONS_KEY} must map extension names to true or false")
    return with_switches(dict(value), section if isinstance(section, dict) else {})


def with_switches(names: dict[str, bool], section: Any) -> dict[str, bool]:
    """``names`` plus the bundled extensions a ``ServerApp`` ``section`` switches with one of
    jupyter_server's traits (``terminals_enabled``, see ``bundled.SWITCHES``); disabling wins."""
    from . import bundled

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
    levels = list(dict.fromkeys(os.path.abspath(p) for p in paths))
    for level in reversed(levels):
        level_extensions: dict[str, list[EnablerSource]] = {}
        found: list[tuple[str, Config]] = []
        if conf_d:
            for path in sorted(glob.glob(os.path.join(level, CONF_D_NAME, "*.json"))):
                try:
                    data = read_json_file(path)
                    names = _extensions_of(data, path)
                except ConfigFileError as err:
                    log.error("%s", err)
                    result.broken_enablers[os.path.splitext(os.path.basename(path))[0]] = str(err)
                    continue
                for name, enabled in names.items():
                    level_extensions.setdefault(name, []).append(EnablerSource(enabled, path, level))
                found.append((path, Config(data)))
        for suffix, loader in ((".json", _load_json), (".py", _load_python)):
            path = os.path.join(level, base_name + suffix)
            if os.path.isfile(path):
                config = loader(path, log)
                if base_name == SERVER_CONFIG_NAME:
                    names = _extensions_of(config, path)
                    for name, enabled in names.items():
                        level_extensions.setdefault(name, []).append(EnablerSource(enabled, path, level))
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
            result.provenance[name] = [EnablerSource(enabled, path, "--config"), *result.provenance.get(name, [])]
        result.config.merge(config)
        result.files.append(path)
    result.extensions = {name: sources[0].enabled for name, sources in sorted(result.provenance.items())}
    if result.extensions or EXTENSIONS_KEY in result.config.get("ServerApp", {}):
        result.config.ServerApp[EXTENSIONS_KEY] = dict(result.extensions)
    return result


# -- config levels and what the files say about extensions (the CLI's view) --------

#: The writable levels, highest precedence first (without JUPYTER_PREFER_ENV_PATH).
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


def level_name(directory: str) -> str:
    """Which level a config folder belongs to, for display.

    Every folder of ``jupyter_config_path()`` has one: ``user`` (including the
    Python user-site ``etc/jupyter``), ``sys-prefix``, ``system``, or
    ``JUPYTER_CONFIG_PATH`` for a folder added through that variable; any
    other folder (a ``--config`` file's) is ``other``.  The bundled
    extensions' level, which is no folder, is ``bundled``.
    """
    if directory == BUNDLED_LEVEL:
        return BUNDLED_LEVEL
    directory = os.path.abspath(directory)

    def among(folders: Sequence[str]) -> bool:
        return directory in {os.path.abspath(f) for f in folders}

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


@dataclasses.dataclass(frozen=True)
class ExtensionSetting:
    """Everything the config files say about one extension."""

    name: str
    #: Whether a server would load it: the in-force enabler's value (False if none).
    enabled: bool
    #: Every file that named it, the one in force first (see configfiles).
    sources: tuple[EnablerSource, ...] = ()
    #: Why its own conf.d file (``<name>.json``) could not be read, or None.
    broken: str | None = None

    @property
    def in_force(self) -> EnablerSource | None:
        return self.sources[0] if self.sources else None


def enabler_view(paths: Sequence[str] | None = None, loaded: LoadedConfig | None = None) -> dict[str, ExtensionSetting]:
    """Every extension the config files mention, with its provenance, by name.

    ``paths`` defaults to ``jupyter_config_path()``, read now.  Raises
    :class:`~jupyter_server_lite.configfiles.ConfigFileError` for a malformed
    main config file, as a server start would; a malformed enabler file
    shows up as :attr:`ExtensionSetting.broken` instead.
    """
    if loaded is None:
        loaded = load_config_files(jupyter_paths.jupyter_config_path() if paths is None else paths, log=_quiet_log())
    names = set(loaded.provenance) | set(loaded.broken_enablers)
    view = {}
    for name in sorted(names):
        sources = tuple(loaded.provenance.get(name, ()))
        view[name] = ExtensionSetting(
            name, bool(sources and sources[0].enabled), sources, loaded.broken_enablers.get(name)
        )
    return view


def _quiet_log() -> logging.Logger:
    """configfiles logs broken enablers at ERROR for a server; the CLI reports
    them itself (as a failed extension), so it reads without that noise."""
    log = logging.getLogger("jupyter_server_lite.configfiles.reader")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    log.propagate = False
    return log
