"""The core's hook specifications: every extension point of the server, in one place.

An extension implements a hook by defining a function or method of the same
name marked with :data:`hookimpl`; an ExtensionApp (or a function
extension's module) is registered automatically.  Hooks are called with
keyword arguments only; an implementation may accept any subset of them.
An exception in one implementation is logged with the extension's name and
does not stop the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ..serverapp import ServerApp

PROJECT_NAME = "jupyter_server_lite"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def server_started(serverapp: ServerApp) -> None:
    """The server listens and its runtime file is written."""


@hookspec
def server_stopping(serverapp: ServerApp) -> None:
    """The server is about to stop; kernels are still running."""


@hookspec
def kernel_started(serverapp: ServerApp, kernel_id: str, kernel_name: str) -> None:
    """A new kernel answered kernel_info for the first time (started by REST, a session or a program)."""


@hookspec
def kernel_stopped(serverapp: ServerApp, kernel_id: str, kernel_name: str) -> None:
    """A kernel that had kernel_started was shut down, culled, or died for good."""


@hookspec
def status_fields(serverapp: ServerApp) -> dict[str, Any]:  # type: ignore[empty-body]  # a spec has no body
    """Extra fields for ``GET /api/status``; core fields cannot be overwritten."""
