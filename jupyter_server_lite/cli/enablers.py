"""Writing enabler files: what ``extension enable|disable|install`` change on disk.

An extension is switched on or off by a one-line JSON file,
``<level>/jupyter_server_lite_config.d/<NAME>.json``::

    {"ServerApp": {"jpserver_extensions": {"NAME": true}}}

at one of the levels of :data:`~jupyter_server_lite.configfiles.LEVELS`.
Only the CLI writes them; reading and merging is
:mod:`jupyter_server_lite.configfiles`, the code a server start runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Sequence

from ..configfiles import (
    CONF_D_NAME,
    DEFAULT_LEVEL,
    EXTENSIONS_KEY,
    ConfigFileError,
    EnablerSource,
    enabler_view,
    level_dir,
    read_json_file,
)


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
