"""The dashboard: ``/dashboard/``, one page with the server's state.

Shows ``/api/status``, the running kernels, and every extension's lifecycle
record exactly as ``GET /api/extensions`` serves it -- state, phase, error,
traceback, the services it provides, the prefixes it owns, its routes and
load time, and for a bundled provider that stepped aside, who took its
service over -- which makes it the first place to look when an extension
does not show up.  Read-only: it changes nothing.

Bundled (:data:`jupyter_server_lite.bundled.BUNDLED_EXTENSIONS`), so it is on
in every install mode without an enabler file.

Disable it like any extension:
``jupyter server-lite extension disable jupyter_server_lite.bundled.dashboard``.
"""

from __future__ import annotations

from typing import Any

from traitlets import default

from ...extension.application import ExtensionApp
from ...extension.handler import ExtensionHandler


class DashboardHandler(ExtensionHandler):
    """``GET /dashboard/``: status, kernels and extension records, rendered on the server."""

    def get(self) -> None:
        app = self.serverapp
        kernels = app.kernel_manager.list_kernels()
        self.finish(
            self.render_template(
                "dashboard.html",
                status=app.status_model(),
                kernels=kernels,
                extensions=[record.to_model() for record in app.extension_manager.records],
                safe_mode=app.safe_mode,
                strict=app.strict_extensions,
            )
        )


class DashboardApp(ExtensionApp):
    """The bundled dashboard extension."""

    name = "dashboard"
    description = "A page with the server's status, kernels and every extension's lifecycle record."

    @default("static_paths")
    def _default_static_paths(self) -> list[str]:
        return ["static"]

    @default("template_paths")
    def _default_template_paths(self) -> list[str]:
        return ["templates"]

    def initialize_handlers(self) -> None:
        self.handlers.append((r"/?", DashboardHandler, {}, "page"))


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__, "app": DashboardApp}]
