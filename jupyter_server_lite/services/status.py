"""``/api`` (version), ``/api/status``, ``/api/me`` and the ``/api/health`` probe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tornado.web import HTTPError

from .._version import __version__
from ..web.errors import loads_json
from ..web.handlers import APIHandler

if TYPE_CHECKING:
    from ..serverapp import ServerApp


def status_model(app: ServerApp) -> dict[str, Any]:
    """``GET /api/status``: extensions' ``status_fields``, then the core's, which win."""
    model: dict[str, Any] = {}
    for _plugin, fields in app.call_hook("status_fields"):
        if isinstance(fields, dict):
            model.update(fields)
    kernels = app.kernel_manager
    model.update(
        {
            "started": app.activity.started,
            "last_activity": app.activity.last_activity,
            "connections": kernels.total_connections,
            "kernels": len(kernels),
        }
    )
    return model


class APIVersionHandler(APIHandler):
    """``GET /api``: the server version, public so clients can probe compatibility."""

    allow_unauthenticated = True

    def get(self) -> None:
        self.finish_json({"version": __version__})


class HealthHandler(APIHandler):
    """``GET /api/health``: whether a load balancer should send traffic here.

    200 ``ok`` while serving; 503 ``stopping`` once a stop was requested
    (signal, idle timeout, ``request_stop()``) or the server is no longer
    ``started``, so a balancer takes it out of rotation before the sockets
    close.  There is no "starting" answer: the server only listens once
    started.  Public on purpose, so it reveals nothing else.
    """

    allow_unauthenticated = True

    def get(self) -> None:
        app = self.serverapp
        serving = app.started and not app.stop_requested.is_set()
        self.finish_json({"status": "ok" if serving else "stopping"}, status=200 if serving else 503)


class StatusHandler(APIHandler):
    """``GET /api/status``: start time, last real activity, kernel and connection counts."""

    def get(self) -> None:
        self.finish_json(self.serverapp.status_model())


class IdentityHandler(APIHandler):
    """``GET /api/me``: who the caller is, and which of the asked permissions they hold.

    A single-user server grants its user everything, so every requested
    ``?permissions={"resource": ["action", ...]}`` comes back as granted.
    """

    def get(self) -> None:
        raw = self.get_query_argument("permissions", "{}")
        requested = loads_json(raw, "permissions")
        if not isinstance(requested, dict) or not all(
            isinstance(v, list) and all(isinstance(a, str) for a in v) for v in requested.values()
        ):
            raise HTTPError(400, 'permissions must look like {"resource": ["action", ...]}')
        self.finish_json({"identity": self.current_user.to_model(), "permissions": requested})


default_handlers = [
    (r"/api/?", APIVersionHandler),
    (r"/api/health", HealthHandler),
    (r"/api/status", StatusHandler),
    (r"/api/me", IdentityHandler),
]
