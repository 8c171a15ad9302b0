"""Reading config files from every level of ``jupyter_config_path()``.

At each level (a directory) three kinds of file are read, weakest first:

1. ``jupyter_server_lite_config.d/*.json`` in name order (enabler files, but
   they may carry any config);
2. ``jupyter_server_lite_config.json``;
3. ``jupyter_server_lite_config.py``.

Levels are applied lowest first, so the first directory of
``jupyter_config_path()`` wins.  ``ServerApp.jpserver_extensions`` is merged
key by key instead of replaced, with one special rule: *at one level*, a
``false`` beats a ``true`` (disabling wins); a higher level overrides a lower
one either way.  Where each decision came from is kept as provenance.

A malformed main config file is an error that names the file: silently
skipping it could drop a security setting.  A malformed file in the conf.d
folder is recorded against the extension it is named after (its stem), so
that extension alone fails and the server starts.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
from collections.abc import Sequence
from typing import Any

from traitlets.config import Config
from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

SERVER_CONFIG_NAME = "jupyter_server_lite_config"
CONF_D_NAME = SERVER_CONFIG_NAME + ".d"
EXTENSIONS_KEY = "jpserver_extensions"


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


def _extensions_of(data: Any, path: str) -> dict[str, bool]:
    section = data.get("ServerApp", {}) if isinstance(data, dict) else {}
    value = section.get(EXTENSIONS_KEY, {}) if isinstance(section, dict) else {}
    if not isinstance(value, dict) or not all(isinstance(v, bool) for v in value.values()):
        raise ConfigFileError(path, f"ServerApp.{EXTENSIONS_KEY} must map extension names to true or false")
    return dict(value)


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

    ``extra_file`` (``--config``) is applied last, above every level.
    """
    log = log or logging.getLogger(__name__)
    result = LoadedConfig()
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
