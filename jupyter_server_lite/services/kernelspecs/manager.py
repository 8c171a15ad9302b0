"""Installed kernelspecs, read once and re-read only when a kernels folder changes.

jupyter_client's :class:`~jupyter_client.kernelspec.KernelSpecManager` lists
every kernels folder and parses every ``kernel.json`` on each call.  A client
such as JupyterLab asks ``GET /api/kernelspecs`` often, so this subclass keeps
the result and re-reads only when a cheap check says something changed: the
modification times of the kernels folders, of each kernelspec folder and of
its ``kernel.json``, looked at no more than once per ``cache_check_interval``.

The HTTP handlers ask through two coroutines, :meth:`KernelSpecManager.fetch_specs`
and :meth:`KernelSpecManager.fetch_resource`, so a manager whose kernelspecs
live elsewhere (a Kernel Gateway's, :mod:`jupyter_server_lite.gateway.managers`)
answers the same routes.
"""

from __future__ import annotations

import glob
import mimetypes
import os
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from jupyter_client import kernelspec
from tornado import web
from traitlets import Float

#: Files of a kernelspec folder that are advertised as its resources (plus ``logo-*``).
RESOURCE_FILES = ("kernel.js", "kernel.css")
#: The largest resource file served (logos and kernel.js are kilobytes).
MAX_RESOURCE_BYTES = 16 * 1024 * 1024


@dataclass
class SpecResource:
    """One file of a kernelspec, as the resource route sends it."""

    body: bytes
    content_type: str
    modified: datetime | None = None


@dataclass
class SpecListing:
    """What ``GET /api/kernelspecs`` shows: ``specs`` by name (entries as in
    :meth:`KernelSpecManager.get_all_specs`) and the default kernel's name, when
    the kernelspecs' source names one (a gateway does; locally it is the kernel
    manager's ``default_kernel_name``)."""

    specs: dict[str, dict[str, Any]]
    default: str | None = None


class KernelSpecManager(kernelspec.KernelSpecManager):
    """jupyter_client's kernelspec manager with a change-checked cache."""

    cache_check_interval = Float(
        1.0,
        help="""Seconds between two checks of the kernels folders for an added,
        removed or edited kernelspec; 0 checks on every request.""",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._specs: dict[str, dict[str, Any]] | None = None
        self._signature: tuple[Any, ...] = ()
        self._checked_at = float("-inf")

    def find_kernel_specs(self) -> dict[str, str]:
        """jupyter_client's search, with its warnings (an invalid folder name)
        turned into log lines that name the folder instead of Python warnings."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            found = super().find_kernel_specs()
        for warning in caught:
            self.log.warning("Kernelspec: %s", warning.message)
        return found

    def get_all_specs(self) -> dict[str, dict[str, Any]]:
        """``{name: {"resource_dir", "spec", "resources"}}`` for every installed kernel.

        Served from the cache while the kernels folders are unchanged.  The
        result is shared: callers must not modify it.  ``resources`` maps a
        resource key (``kernel.js``, ``logo-64x64``...) to its file name.
        """
        now = time.monotonic()
        if self._specs is not None and now - self._checked_at < self.cache_check_interval:
            return self._specs
        self._checked_at = now
        signature = self._folders_signature()
        if self._specs is None or signature != self._signature:
            self._specs, self._signature = self._load_specs(), signature
        return self._specs

    def _load_specs(self) -> dict[str, dict[str, Any]]:
        """Read every kernelspec; a broken one is a log line naming its file, not an error."""
        specs = {}
        for name, resource_dir in self.find_kernel_specs().items():
            try:
                spec = self._get_kernel_spec_by_name(name, resource_dir)
            except kernelspec.NoSuchKernel:
                continue  # its provisioner is not installed; jupyter_client logged it
            except Exception as err:
                self.log.warning(
                    "Error loading kernelspec %r from %s: %s", name, os.path.join(resource_dir, "kernel.json"), err
                )
                continue
            specs[name] = {
                "resource_dir": resource_dir,
                "spec": spec.to_dict(),
                "resources": resource_files(resource_dir),
            }
        return specs

    def kernel_names(self) -> list[str]:
        """The installed kernel names, sorted (for error messages and checks)."""
        return sorted(self.get_all_specs())

    # -- what the HTTP handlers ask -------------------------------------------------

    async def fetch_specs(self) -> SpecListing:
        """The kernelspecs as ``GET /api/kernelspecs`` shows them (errors are ``HTTPError``)."""
        return SpecListing(self.get_all_specs())

    async def fetch_resource(self, kernel_name: str, path: str) -> SpecResource:
        """The file ``path`` of kernelspec ``kernel_name``'s folder.

        Resolved with symbolic links followed, it must stay inside that
        folder and be a file no larger than :data:`MAX_RESOURCE_BYTES`;
        anything else is a 404 naming the file (an unknown kernelspec, one
        naming the installed ones).
        """
        entry = self.find_spec(kernel_name)[1]
        root = os.path.realpath(entry["resource_dir"])
        target = os.path.realpath(os.path.join(root, path))
        missing = web.HTTPError(404, f"No resource {path!r} in kernelspec {kernel_name!r}")
        if not target.startswith(root + os.sep) or not os.path.isfile(target):
            raise missing
        try:
            info = os.stat(target)
            if info.st_size > MAX_RESOURCE_BYTES:
                raise missing
            with open(target, "rb") as f:
                body = f.read(MAX_RESOURCE_BYTES + 1)
        except OSError as err:
            raise missing from err
        content_type = mimetypes.guess_type(target)[0] or "application/octet-stream"
        return SpecResource(body, content_type, datetime.fromtimestamp(int(info.st_mtime), timezone.utc))

    def find_spec(self, kernel_name: str) -> tuple[str, dict[str, Any]]:
        """``(name, entry)`` of an installed spec, its name matched case-insensitively;
        an unknown name is a 404 that lists the installed ones."""
        return find_in(self.get_all_specs(), kernel_name)

    def _folders_signature(self) -> tuple[Any, ...]:
        """Modification times that change when a kernelspec is added, removed or edited."""
        parts: list[Any] = []
        for folder in self.kernel_dirs:
            try:
                parts.append((folder, os.stat(folder).st_mtime_ns))
                entries = list(os.scandir(folder))
            except OSError:
                parts.append((folder, None))
                continue
            for entry in entries:
                try:
                    json_mtime = os.stat(os.path.join(entry.path, "kernel.json")).st_mtime_ns
                    parts.append((entry.name, entry.stat().st_mtime_ns, json_mtime))
                except OSError:
                    continue
        return tuple(parts)


def resource_files(resource_dir: str) -> dict[str, str]:
    """The advertised resources of a kernelspec folder: ``{key: file name}``.

    ``kernel.js`` and ``kernel.css`` keep their names as keys; a logo such as
    ``logo-64x64.png`` is listed as ``logo-64x64`` (the key clients look for).
    """
    found = {name: name for name in RESOURCE_FILES if os.path.isfile(os.path.join(resource_dir, name))}
    for path in sorted(glob.glob(os.path.join(glob.escape(resource_dir), "logo-*"))):
        name = os.path.basename(path)
        found[os.path.splitext(name)[0]] = name
    return found


def find_in(specs: dict[str, dict[str, Any]], kernel_name: str) -> tuple[str, dict[str, Any]]:
    """``(name, entry)`` of ``kernel_name`` in ``specs`` (names are lower case); else a 404 listing them."""
    name = kernel_name.lower()
    entry = specs.get(name)
    if entry is None:
        raise web.HTTPError(
            404, f"No kernelspec named {kernel_name!r}; available: {', '.join(sorted(specs)) or 'none'}"
        )
    return name, entry
