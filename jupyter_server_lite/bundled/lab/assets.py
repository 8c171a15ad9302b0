"""Where JupyterLab's prebuilt assets are, and the prebuilt lab extensions beside them.

``pip install jupyterlab-js`` puts JupyterLab's built application in
``{sys.prefix}/share/jupyter/lab/``: ``static/`` (the webpack bundle and its
``index.html`` template), ``schemas/`` (every core plugin's settings schema)
and ``themes/``.  Nothing here hard-codes that place: the first folder of
jupyter_core's ``jupyter_path("lab")`` (user, then environment, then system
data folders, and ``JUPYTER_PATH``) whose ``static/index.html`` exists is
the application folder, as jupyterlab's own ``app_dir`` is found.

Prebuilt ("federated") lab extensions live in ``labextensions/`` of every
Jupyter data folder: ``<name>/package.json`` or ``@scope/<name>/package.json``
with a ``jupyterlab._build`` section naming the remote entry to load.
:class:`LabExtensions` scans them on first use, not at start-up, and again
only when one of those folders changed (a few ``stat`` calls per page), so a
``pip install`` of an extension shows up at the next page load.

Importing this module is cheap: the standard library and jupyter_core only.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from jupyter_core.paths import jupyter_path

#: The pip package that ships JupyterLab's assets, and what to install.
LAB_PACKAGE = "jupyterlab-js"
INSTALL_HINT = 'pip install "jupyter_server_lite[lab]"'


def find_lab_app_dir() -> str:
    """The first ``jupyter_path("lab")`` folder holding ``static/index.html``; ``""`` if none."""
    for folder in jupyter_path("lab"):
        if os.path.isfile(os.path.join(folder, "static", "index.html")):
            return os.path.abspath(folder)
    return ""


def labextensions_paths(extra: list[str] | None = None) -> list[str]:
    """``extra`` folders first, then ``labextensions`` of every Jupyter data folder, in priority order."""
    seen: list[str] = []
    for folder in [*(extra or []), *jupyter_path("labextensions")]:
        folder = os.path.abspath(os.path.expanduser(folder))
        if folder not in seen:
            seen.append(folder)
    return seen


def read_json_file(path: str) -> Any:
    """``json.load`` of a UTF-8 file."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@dataclass(frozen=True)
class AppInfo:
    """What the application folder says about itself (``static/package.json``)."""

    name: str = "JupyterLab"
    version: str = ""
    namespace: str = "JupyterLab"
    #: Plugins the build itself marks as disabled (``jupyterlab.extensionMetadata``).
    disabled: tuple[str, ...] = ()


def read_app_info(app_dir: str, log: logging.Logger | None = None) -> AppInfo:
    """The name and version of the JupyterLab build in ``app_dir`` (defaults if unreadable)."""
    path = os.path.join(app_dir, "static", "package.json")
    try:
        data = read_json_file(path)
        lab = data.get("jupyterlab", {})
        disabled: list[str] = []
        for meta in (lab.get("extensionMetadata") or {}).values():
            disabled += [d for d in (meta or {}).get("disabledExtensions", []) if isinstance(d, str)]
        return AppInfo(
            name=str(lab.get("name") or "JupyterLab"),
            version=str(lab.get("version") or data.get("version") or ""),
            namespace=str(lab.get("namespace") or lab.get("name") or "JupyterLab"),
            disabled=tuple(disabled),
        )
    except (OSError, ValueError, AttributeError) as err:
        if log is not None:
            log.warning("Cannot read JupyterLab's %s: %s", path, err)
        return AppInfo()


@dataclass(frozen=True)
class LabExtension:
    """One prebuilt lab extension: its ``package.json`` and where it is."""

    name: str
    version: str
    path: str  # the folder holding package.json
    root: str  # the labextensions folder it was found in
    build: dict[str, Any]
    disables: tuple[str, ...] = ()
    description: str = ""

    def page_config_entry(self) -> dict[str, Any]:
        """The ``federated_extensions`` item JupyterLab's page needs to load it."""
        entry: dict[str, Any] = {"name": self.name, "load": self.build["load"]}
        for key in ("extension", "mimeExtension", "style"):
            if key in self.build:
                entry[key] = self.build[key]
        entry["entrypoints"] = self.build.get("entrypoints")
        return entry


@dataclass
class LabExtensions:
    """The prebuilt lab extensions of ``paths``, scanned lazily and again when a folder changes.

    The first folder that has an extension wins (user before environment
    before system, as jupyterlab_server does).  A ``package.json`` that
    cannot be read, or that has no ``jupyterlab._build.load``, is skipped
    with one WARNING naming it, once per change.
    """

    paths: list[str]
    log: logging.Logger
    _stamp: tuple[Any, ...] | None = None
    _found: dict[str, LabExtension] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _current_stamp(self) -> tuple[Any, ...]:
        """The mtimes of every labextensions folder and its ``@scope`` folders: what a new install changes."""
        stamp: list[Any] = []
        for root in self.paths:
            try:
                stamp.append((root, os.stat(root).st_mtime_ns))
                with os.scandir(root) as entries:
                    for entry in entries:
                        if entry.name.startswith("@") and entry.is_dir():
                            stamp.append((entry.path, entry.stat().st_mtime_ns))
            except OSError:
                stamp.append((root, None))
        return tuple(stamp)

    def all(self) -> dict[str, LabExtension]:
        """Every extension by name, in priority order (rescanned when a folder changed)."""
        stamp = self._current_stamp()
        with self._lock:
            if stamp != self._stamp:
                self._found = self._scan()
                self._stamp = stamp
            return self._found

    def _scan(self) -> dict[str, LabExtension]:
        found: dict[str, LabExtension] = {}
        for root in self.paths:
            for folder in _package_folders(root):
                package = os.path.join(folder, "package.json")
                try:
                    data = read_json_file(package)
                    name = data["name"]
                    build = data["jupyterlab"]["_build"]
                    if not isinstance(name, str) or not isinstance(build.get("load"), str):
                        raise ValueError("no jupyterlab._build.load")
                except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
                    self.log.warning("Skipping the lab extension in %s: %s", folder, err)
                    continue
                if name in found:
                    continue
                disables = (data.get("jupyterlab") or {}).get("disabledExtensions") or []
                found[name] = LabExtension(
                    name=name,
                    version=str(data.get("version", "")),
                    path=folder,
                    root=root,
                    build=build,
                    disables=tuple(d for d in disables if isinstance(d, str)),
                    description=str(data.get("description", "")),
                )
        return found


def _package_folders(root: str) -> list[str]:
    """``root/<name>`` and ``root/@scope/<name>`` folders holding a ``package.json``, sorted."""
    folders: list[str] = []
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return folders
    for name in names:
        path = os.path.join(root, name)
        if name.startswith("@"):
            try:
                inner = sorted(os.listdir(path))
            except OSError:
                continue
            folders += [os.path.join(path, n) for n in inner if os.path.isfile(os.path.join(path, n, "package.json"))]
        elif os.path.isfile(os.path.join(path, "package.json")):
            folders.append(path)
    return folders
