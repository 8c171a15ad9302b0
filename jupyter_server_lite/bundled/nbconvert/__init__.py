"""The nbconvert service: ``/api/nbconvert`` and ``/nbconvert/<format>/<path>``, notebooks exported.

The bundled provider of the ``nbconvert`` service (``provides =
("nbconvert",)``), mounted at the service's two standard paths and
wire-compatible with Jupyter Server's, so JupyterLab's "Save and Export
Notebook As" and "Download as" work unchanged.  See ``docs/services.md``;
the HTTP behaviour is in :mod:`.handlers`.

``nbconvert`` itself is optional (``pip install
'jupyter_server_lite[nbconvert]'``).  Without it the extension still loads
-- a missing optional package is not a failed extension -- and says so in
its description (``GET /api/extensions``, ``extension list --json``); its
routes answer a JSON ``503`` whose message gives the install command.
Whether it is installed is a look along ``sys.path`` when this module is
imported; nbconvert itself (2-4 s to import) is imported in a worker thread
by the first request that needs it, never at start-up.
"""

from __future__ import annotations

import asyncio
from typing import Any

from traitlets import default

from ...extension.application import ExtensionApp
from ...extension.mount import Mount
from . import convert
from .handlers import API_ROUTES, CONVERT_ROUTES

_DESCRIPTION = (
    "The nbconvert service: notebooks exported to HTML, scripts, PDF... (/api/nbconvert, /nbconvert/<format>/<path>)."
)
_UNAVAILABLE = f" Unavailable: nbconvert is not installed ({convert.INSTALL_HINT}); its routes answer 503."


class NbconvertApp(ExtensionApp):
    """The bundled nbconvert service."""

    name = "nbconvert_service"  # "nbconvert" is the service's own top-level path, which no name may take
    description = _DESCRIPTION if convert.nbconvert_installed() else _DESCRIPTION + _UNAVAILABLE
    provides = ("nbconvert",)

    _formats: asyncio.Future[dict[str, str]] | None = None

    @default("extension_url")
    def _default_extension_url(self) -> str:
        return ""  # no landing page

    def initialize_handlers(self) -> None:
        self.handlers.extend([Mount("api/nbconvert", API_ROUTES), Mount("nbconvert", CONVERT_ROUTES)])

    async def export_formats(self) -> dict[str, str]:
        """nbconvert's exporters and their MIME types, listed once in a thread and kept.

        Concurrent first callers share one listing.  A failure
        (:class:`~.convert.NbconvertMissing`...) is not kept: installing
        nbconvert takes effect at the next request.
        """
        if self._formats is None:
            self._formats = asyncio.ensure_future(asyncio.to_thread(convert.export_formats, self.log))
        try:
            return await asyncio.shield(self._formats)
        except Exception:
            self._formats = None
            raise


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__, "app": NbconvertApp}]


__all__ = ["NbconvertApp"]
