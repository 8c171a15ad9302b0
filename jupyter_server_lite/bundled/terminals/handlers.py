"""The terminals REST API: ``/api/terminals`` and ``/api/terminals/<name>``.

As jupyter_server_terminals serves it, so JupyterLab's client works
unchanged: ``POST`` answers 200 with the new terminal's model (the client
accepts nothing else), ``DELETE`` 204.  A terminal is
``{"name": ..., "last_activity": ...}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from ...extension.handler import ExtensionAPIHandler
from ...web.handlers import string_field

if TYPE_CHECKING:
    from . import TerminadoApp
    from .manager import TerminalManager


class TerminalAPIHandler(ExtensionAPIHandler):
    """Base of the terminals API handlers: the manager of the TerminadoApp."""

    @property
    def terminal_manager(self) -> TerminalManager:
        return cast("TerminadoApp", self.extension_app).terminal_manager


class TerminalRootHandler(TerminalAPIHandler):
    """``GET /api/terminals`` lists the terminals; ``POST`` starts one."""

    def get(self) -> None:
        self.finish_json(self.terminal_manager.list())

    def post(self) -> None:
        """Body (optional): ``{"name": ..., "cwd": ...}``; an empty or null field means "choose".

        Only these two fields are read: nothing in a request reaches terminado's
        own options (its shell command, its environment).
        """
        body = self.get_json_object()
        name = string_field(body, "name", nullable=True)
        cwd = string_field(body, "cwd", nullable=True)
        self.finish_json(self.terminal_manager.create(name=name or None, cwd=cwd or None))


class TerminalHandler(TerminalAPIHandler):
    """``GET /api/terminals/<name>``: its model; ``DELETE``: stop it (204)."""

    def get(self, name: str) -> None:
        self.finish_json(self.terminal_manager.model(name))

    async def delete(self, name: str) -> None:
        await self.terminal_manager.terminate(name)
        self.set_status(204)
        self.finish()
