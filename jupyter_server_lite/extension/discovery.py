"""Installed extension packages, found through their entry points (CLI only).

A package advertises an extension in the entry-point group
``jupyter_server_lite.extensions``; the value is the module that goes into
``ServerApp.jpserver_extensions``::

    [project.entry-points."jupyter_server_lite.extensions"]
    jsl_hello = "jsl_hello"

Reading the group scans the metadata of every installed distribution, which
grows with the environment, so only the CLI (``extension list`` /
``install``) calls this module.  A server start reads just the names its
enablers turn on and never imports it.
"""

from __future__ import annotations

import dataclasses
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "jupyter_server_lite.extensions"


@dataclasses.dataclass(frozen=True)
class InstalledExtension:
    """One entry point of the group."""

    name: str  # the entry point's name
    module: str  # the module to enable (the value, without any ``:attr``)
    distribution: str  # the package that declared it ("" if unknown)
    version: str


def installed_extensions() -> list[InstalledExtension]:
    """Every advertised extension, sorted by module then entry-point name.

    The same module advertised twice (two installs of one package on the
    path) is listed once: the first one Python would import wins.
    """
    found: dict[str, InstalledExtension] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        module = ep.value.partition(":")[0].strip()
        dist = ep.dist
        entry = InstalledExtension(ep.name, module, dist.name if dist else "", dist.version if dist else "")
        found.setdefault(module, entry)
    return sorted(found.values(), key=lambda e: (e.module, e.name))


def find_installed(name: str) -> InstalledExtension | None:
    """The installed extension whose module or entry-point name is ``name``.

    A module name wins over an entry-point name, so ``install X`` always
    means module ``X`` when one package's entry point is called ``X`` and
    another's module is.
    """
    extensions = installed_extensions()
    for entry in extensions:
        if entry.module == name:
            return entry
    for entry in extensions:
        if entry.name == name:
            return entry
    return None
