"""``/api/sessions[/<id>]``: the sessions REST API, as Jupyter Server speaks it.

The handlers check the shape of a request body (a wrong type or a missing
field is a 400 that names the field) and leave the rest to the
:class:`~.manager.SessionManager`.
"""

from __future__ import annotations

from typing import Any

from tornado import web

from ...web.handlers import APIHandler, string_field, url_path_join
from .manager import SessionManager


def _kernel_choice(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(id, name) from the optional ``kernel`` object of a body."""
    kernel = body.get("kernel")
    if kernel is None:
        return None, None
    if not isinstance(kernel, dict):
        raise web.HTTPError(400, f"Field 'kernel' must be an object, not {type(kernel).__name__}")
    kernel_id = string_field(kernel, "id", nullable=True, label="kernel.id")
    kernel_name = string_field(kernel, "name", nullable=True, label="kernel.name")
    return kernel_id, kernel_name


class SessionsAPIHandler(APIHandler):
    @property
    def session_manager(self) -> SessionManager:
        return self.serverapp.session_manager


class SessionRootHandler(SessionsAPIHandler):
    """``GET`` lists sessions; ``POST`` creates one, or returns the path's existing one."""

    def get(self) -> None:
        self.finish_json(self.session_manager.list_sessions())

    async def post(self) -> None:
        body = self.get_json_object()
        path = string_field(body, "path", required=True)
        type_ = string_field(body, "type", required=True)
        name = string_field(body, "name", nullable=True) or ""
        kernel_id, kernel_name = _kernel_choice(body)
        model, _created = await self.session_manager.create_session(
            path=path, type=type_, name=name, kernel_id=kernel_id, kernel_name=kernel_name
        )
        self.set_header("Location", url_path_join(self.base_url, "api", "sessions", model["id"]))
        self.finish_json(model, status=201)


class SessionHandler(SessionsAPIHandler):
    """One session: ``GET`` its model, ``PATCH`` fields or kernel, ``DELETE`` it with its kernel."""

    def get(self, session_id: str) -> None:
        self.finish_json(self.session_manager.get_session(session_id))

    async def patch(self, session_id: str) -> None:
        body = self.get_json_object()
        changes = {key: string_field(body, key) for key in ("path", "name", "type")}
        if "kernel" in body:
            kernel_id, kernel_name = _kernel_choice(body)
            if kernel_id is None and kernel_name is None:
                raise web.HTTPError(400, "Field 'kernel' must name a kernel by 'id' or 'name'")
            changes.update(kernel_id=kernel_id, kernel_name=kernel_name)
        self.finish_json(await self.session_manager.update_session(session_id, **changes))

    async def delete(self, session_id: str) -> None:
        await self.session_manager.delete_session(session_id)
        self.set_status(204)
        self.finish()


default_handlers = [
    (r"/api/sessions/?", SessionRootHandler),
    (r"/api/sessions/(?P<session_id>[^/]+)/?", SessionHandler),
]
