"""jupyter_server_lite: a small, fast, extensible Jupyter server.

The public surface is deliberately small.  Names are imported lazily so that
``import jupyter_server_lite`` (done by every extension's entry point) stays
cheap: the web stack is only paid for by whoever actually builds a server.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = ["ServerApp", "__version__"]

_LAZY = {
    "ServerApp": "jupyter_server_lite.serverapp",
}

if TYPE_CHECKING:
    from .serverapp import ServerApp


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_server_lite' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
