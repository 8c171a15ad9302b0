"""A stand-in for a bundled contents provider (the real one comes later).

The tests register it as bundled by adding this module to
``jupyter_server_lite.bundled.BUNDLED_EXTENSIONS``; it then loads in every
server, like the dashboard, and steps aside when another extension provides
``contents``.  ``GET /api/contents[/<path>]`` says who answered.
"""

from __future__ import annotations

from typing import Any

from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.extension.handler import ExtensionAPIHandler
from jupyter_server_lite.extension.mount import Mount


class WhoHandler(ExtensionAPIHandler):
    def get(self, path: str | None = None) -> None:
        self.finish_json({"provider": self.extension_app.name, "path": path})


class BundledContentsApp(ExtensionApp):
    # Not "contents": a name of its own, so a replacement may call itself anything.
    name = "bundledcontents"
    provides = ("contents",)

    def initialize_handlers(self) -> None:
        self.handlers.append(Mount("api/contents", [(r"(?P<path>/.*)?", WhoHandler)]))


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__, "app": BundledContentsApp}]
