"""Enabler files: where each config level keeps them, what they add up to, writing one.

An extension is switched on or off by a one-line JSON file,
``<level>/jupyter_server_lite_config.d/<NAME>.json``::

    {"ServerApp": {"jpserver_extensions": {"NAME": true}}}

There are three levels a user can write to, named after the CLI flags:

* ``user``: ``jupyter_config_dir()`` (``~/.jupyter`` or ``$JUPYTER_CONFIG_DIR``);
* ``sys-prefix``: the first of ``jupyter_core.paths.ENV_CONFIG_PATH``
  (``{sys.prefix}/etc/jupyter``), where ``pip install`` puts a package's
  enabler -- the default, as the JEP asks;
* ``system``: the first of ``SYSTEM_CONFIG_PATH`` (``/usr/local/etc/jupyter``).

The folders are looked up at call time, never cached, so a test (or a
program) that points jupyter_core elsewhere is obeyed.  Merging is *not*
done here: :func:`enabler_view` asks :mod:`jupyter_server_lite.configfiles`,
the same code the server runs at start-up, so ``extension list`` cannot
disagree with what a server would load.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import site
import tempfile
from collections.abc import Sequence

from jupyter_core import paths as jupyter_paths

from ..configfiles import (
    CONF_D_NAME,
    EXTENSIONS_KEY,
    ConfigFileError,
    EnablerSource,
    LoadedConfig,
    load_config_files,
    read_json_file,
)

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
    other folder (a ``--config`` file's) is ``other``.
    """
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


def enabler_path(name: str, level: str = DEFAULT_LEVEL) -> str:
    """The enabler file of extension ``name`` at ``level``."""
    return os.path.join(level_dir(level), CONF_D_NAME, f"{name}.json")


@dataclasses.dataclass(frozen=True)
class EnablerWrite:
    """What :func:`write_enabler` did."""

    name: str
    enabled: bool
    level: str
    path: str
    #: The value the file held for ``name`` before, or None when it had none.
    previous: bool | None
    #: Why an unreadable file at ``path`` was replaced, or None.
    replaced: str | None = None


def write_enabler(name: str, enabled: bool, level: str = DEFAULT_LEVEL) -> EnablerWrite:
    """Write or update ``<level>/jupyter_server_lite_config.d/<name>.json``.

    Other keys in an existing file are kept (an enabler may carry config).
    A file that cannot be read as a JSON object is replaced -- it was broken
    anyway, and leaving it would keep the extension failed -- and the
    returned record says so.  The write is atomic: a reader sees the old file
    or the new one, never half of one.  ``name`` must be a dotted module name,
    so it can never point the file outside the conf.d folder.
    """
    if not all(part.isidentifier() for part in name.split(".")):
        raise ValueError(f"{name!r} is not a module name, so it cannot name an enabler file")
    path = enabler_path(name, level)
    data: dict = {}
    replaced = None
    if os.path.exists(path):
        try:
            data = read_json_file(path)
        except ConfigFileError as err:
            replaced = err.problem
    section = data.get("ServerApp")
    if not isinstance(section, dict):
        section = data["ServerApp"] = {}
    extensions = section.get(EXTENSIONS_KEY)
    if not isinstance(extensions, dict):
        extensions = section[EXTENSIONS_KEY] = {}
    previous = extensions.get(name) if isinstance(extensions.get(name), bool) else None
    extensions[name] = enabled
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".json.tmp", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return EnablerWrite(name, enabled, level, path, previous, replaced)


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


def overridden_by(written: EnablerWrite, paths: Sequence[str] | None = None) -> EnablerSource | None:
    """The file that decides otherwise than ``written``, if any.

    After an ``enable`` at ``sys-prefix``, a ``false`` at ``user`` (a higher
    level) or a ``false`` in another file of the same level (disabling wins)
    still keeps the extension off: the CLI warns with the file returned here.
    """
    setting = enabler_view(paths).get(written.name)
    source = setting.in_force if setting else None
    if source is None or source.enabled == written.enabled:
        return None
    return source


def _quiet_log() -> logging.Logger:
    """configfiles logs broken enablers at ERROR for a server; the CLI reports
    them itself (as a failed extension), so it reads without that noise."""
    log = logging.getLogger("jupyter_server_lite.extension.config.reader")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    log.propagate = False
    return log
