"""The terminals service, built on terminado: shells in the browser.

Provides the standard ``terminals`` service at its Jupyter Server paths:

* ``/api/terminals`` and ``/api/terminals/<name>`` (:mod:`.handlers`);
* ``/terminals/websocket/<name>``, terminado's protocol (:mod:`.websocket`).

The extension is called ``terminado``, after what it is built on; the name
``terminals`` would claim the ``/terminals/`` page prefix, which belongs to
Notebook 7's terminal page.  Its configuration is ``TerminalManager.*``
(:mod:`.manager`), as with jupyter_server_terminals.  Importing this package
imports neither terminado nor ptyprocess: the first terminal does.

Switch terminals off like any extension
(``jupyter server-lite extension disable jupyter_server_lite.bundled.terminals``),
or with jupyter_server's ``ServerApp.terminals_enabled = False``, which is
the same switch.  See ``docs/services.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...extension.application import ExtensionApp
from ...extension.hooks import hookimpl
from ...extension.mount import Mount
from .handlers import TerminalHandler, TerminalRootHandler
from .manager import TerminalManager
from .websocket import TerminalWebsocketHandler

if TYPE_CHECKING:
    from ...serverapp import ServerApp

#: A terminal name in a URL: any segment (the manager answers 404 for an unknown one).
_NAME = r"/(?P<name>[^/]+)"


class TerminadoApp(ExtensionApp):
    """The bundled terminals service (see the package docstring)."""

    name = "terminado"
    description = "Terminals: shells on ptys through terminado, at /api/terminals and /terminals/websocket."
    provides = ("terminals",)
    classes = [TerminalManager]

    _terminal_manager: TerminalManager | None = None

    @property
    def terminal_manager(self) -> TerminalManager:
        """The terminals of this server (built by :meth:`initialize_settings`)."""
        if self._terminal_manager is None:
            raise RuntimeError("TerminadoApp.terminal_manager does not exist before initialize_settings()")
        return self._terminal_manager

    def initialize_settings(self) -> None:
        serverapp = self.serverapp
        assert serverapp is not None  # configure() bound it
        self._terminal_manager = TerminalManager(
            parent=self,
            log=self.log,
            root_dir=serverapp.root_dir,
            token=serverapp.identity_provider.token,
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(
            [
                Mount("api/terminals", [(r"/?", TerminalRootHandler), (_NAME, TerminalHandler)]),
                Mount("terminals/websocket", [(_NAME, TerminalWebsocketHandler)]),
            ]
        )

    @hookimpl
    def server_started(self, serverapp: ServerApp) -> None:
        # The URL is known once the server listens (port 0 picks one).
        self.terminal_manager.server_url = serverapp.url

    @hookimpl
    def server_stopping(self, serverapp: ServerApp) -> None:
        self.terminal_manager.stop_now()

    @hookimpl
    def status_fields(self, serverapp: ServerApp) -> dict[str, Any]:
        return {"terminals": len(self.terminal_manager)}


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__, "app": TerminadoApp}]
