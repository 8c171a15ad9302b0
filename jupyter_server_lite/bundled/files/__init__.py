"""The files service: ``/files/<path>``, a file's raw bytes from the active contents provider.

The bundled provider of the ``files`` service.  It has no storage of its
own: it streams from ``serverapp.contents_manager``, so swapping the
contents provider (contents in S3) swaps what ``/files/`` serves too.  See
:mod:`.handlers` for the HTTP behaviour and ``docs/services.md``.
"""

from __future__ import annotations

from typing import Any

from traitlets import default

from ...extension.application import ExtensionApp
from ...extension.mount import Mount
from .handlers import ROUTES


class FilesApp(ExtensionApp):
    """The bundled ``/files/`` service."""

    name = "files_service"  # "files" is the service's own top-level path, which no name may take
    description = "The files service: raw file bytes at /files/<path>, streamed from the contents service."
    provides = ("files",)

    @default("extension_url")
    def _default_extension_url(self) -> str:
        return ""  # no landing page

    def initialize_handlers(self) -> None:
        self.handlers.append(Mount("files", ROUTES))


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__, "app": FilesApp}]


__all__ = ["FilesApp"]
