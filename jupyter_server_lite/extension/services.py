"""The standard Jupyter services an extension can provide, and where they live.

The core serves kernels, kernelspecs and sessions.  Every other standard
Jupyter service is served by an extension that *provides* it
(``ExtensionApp.provides = ("contents",)``) and is mounted at the service's
standard Jupyter Server paths, below ``base_url``: the paths JupyterLab's
``@jupyterlab/services`` (and Notebook 7, and other clients) hard-code, so
they cannot move.

=============  ==============================================================
service        path prefixes (below ``base_url``)
=============  ==============================================================
``contents``   ``api/contents``
``files``      ``files``
``terminals``  ``api/terminals``, ``terminals/websocket``
``config``     ``api/config``
``events``     ``api/events`` (its websocket is ``api/events/subscribe``)
``nbconvert``  ``api/nbconvert``, ``nbconvert``
=============  ==============================================================

A service's paths belong to the service whether anyone provides it or not:
no other extension may mount there, and with no provider ``/api/contents``
answers the usual JSON 404.  Who provides what is settled in
:mod:`.claims`; how routes get there is :class:`~.mount.Mount`.

Importing this module is cheap (no imports beyond the standard library):
:mod:`.application` needs the table on every server start.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Any

#: Each standard service and its path prefixes below base_url (no leading or trailing ``/``).
SERVICES = MappingProxyType(
    {
        "contents": ("api/contents",),
        "files": ("files",),
        "terminals": ("api/terminals", "terminals/websocket"),
        "config": ("api/config",),
        "events": ("api/events",),
        "nbconvert": ("api/nbconvert", "nbconvert"),
    }
)


def known_services() -> str:
    """The service names, for error messages: ``"config, contents, ..."``."""
    return ", ".join(sorted(SERVICES))


def check_provides(provides: Any, owner: str) -> tuple[str, ...]:
    """``provides`` as a tuple of known service names, or ``ValueError`` saying why not.

    ``owner`` names the class in the message.
    """
    from .mount import MountError  # cycle: extension.services <-> extension.mount

    if isinstance(provides, str) or not isinstance(provides, (tuple, list)):
        raise MountError(f"{owner}.provides must be a tuple of service names, not {provides!r}")
    for service in provides:
        if service not in SERVICES:
            raise MountError(
                f"{owner}.provides names {service!r}, which is not a standard service; the known ones are: {known_services()}"
            )
    if len(set(provides)) != len(provides):
        raise MountError(f"{owner}.provides names a service twice: {tuple(provides)!r}")
    return tuple(provides)


def service_paths(services: Iterable[str]) -> list[str]:
    """The path prefixes of ``services``, in table order."""
    return [path for service in services for path in SERVICES[service]]


def service_at(prefix: str) -> str | None:
    """The service whose paths hold ``prefix`` (``"api/contents/x"`` -> ``"contents"``), else None."""
    for service, paths in SERVICES.items():
        if any(prefix == path or prefix.startswith(path + "/") for path in paths):
            return service
    return None


def top_level_services() -> dict[str, str]:
    """Services whose path is a single segment (``files``, ``nbconvert``): that segment -> service.

    Such a segment cannot be an extension's name or page prefix: the whole
    top-level path belongs to the service.
    """
    return {path: service for service, paths in SERVICES.items() for path in paths if "/" not in path}


__all__ = ["SERVICES", "check_provides", "known_services", "service_at", "service_paths", "top_level_services"]
