"""jupyter_server_lite: a small, fast, extensible Jupyter server.

The public surface is deliberately small.  Names are imported lazily so that
``import jupyter_server_lite`` (done by every extension's entry point) stays
cheap: the web stack is only paid for by whoever actually builds a server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = [
    "ExtensionAPIHandler",
    "ExtensionApp",
    "ExtensionHandler",
    "Mount",
    "ServerApp",
    "__version__",
    "hookimpl",
    "hookspec",
]

_LAZY = {
    "ServerApp": "jupyter_server_lite.serverapp",
    "ExtensionApp": "jupyter_server_lite.extension.application",
    "ExtensionHandler": "jupyter_server_lite.extension.handler",
    "ExtensionAPIHandler": "jupyter_server_lite.extension.handler",
    "Mount": "jupyter_server_lite.extension.mount",
    "hookimpl": "jupyter_server_lite.extension.hooks",
    "hookspec": "jupyter_server_lite.extension.hooks",
}

if TYPE_CHECKING:
    from .extension.application import ExtensionApp
    from .extension.handler import ExtensionAPIHandler, ExtensionHandler
    from .extension.hooks import hookimpl, hookspec
    from .extension.mount import Mount
    from .serverapp import ServerApp


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_server_lite' has no attribute {name!r}")

    return getattr(importlib.import_module(module), name)
