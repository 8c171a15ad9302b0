"""A read-only contents service: swapping a standard service, in miniature.

``RoContentsApp`` provides ``contents`` and mounts one JSON API at the
service's standard path, ``/api/contents``: ``GET`` a directory listing or a
text file below the server's ``root_dir``.  Every other method is a JSON
405 (tornado's, through the API handler's JSON errors); a path outside the
root, or missing, is a JSON 404.
"""

from __future__ import annotations

import os
from typing import Any

from tornado.web import HTTPError

from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.extension.handler import ExtensionAPIHandler
from jupyter_server_lite.extension.mount import Mount


class RoContentsHandler(ExtensionAPIHandler):
    """``GET /api/contents[/<path>]``: a model in the shape of Jupyter Server's, without content types."""

    def get(self, path: str | None = None) -> None:
        root = os.path.realpath(self.serverapp.root_dir)
        relative = (path or "").strip("/")
        full = os.path.realpath(os.path.join(root, relative))
        if full != root and not full.startswith(root + os.sep):
            raise HTTPError(404, f"No such file or directory: {relative}")
        if os.path.isdir(full):
            model = self.model(relative, full)
            model["content"] = [
                self.model(os.path.join(relative, n), os.path.join(full, n)) for n in sorted(os.listdir(full))
            ]
        elif os.path.isfile(full):
            model = self.model(relative, full)
            with open(full, encoding="utf-8") as f:
                model["content"] = f.read()
        else:
            raise HTTPError(404, f"No such file or directory: {relative}")
        model["provider"] = self.extension_app.name
        self.finish_json(model)

    @staticmethod
    def model(relative: str, full: str) -> dict[str, Any]:
        return {
            "name": os.path.basename(relative),
            "path": relative,
            "type": "directory" if os.path.isdir(full) else "file",
            "writable": False,
            "content": None,
        }


class RoContentsApp(ExtensionApp):
    name = "rocontents"
    description = "Read-only contents, for the tests of service providers."
    provides = ("contents",)
    handlers = [Mount("api/contents", [(r"(?P<path>/.*)?", RoContentsHandler)])]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__, "app": RoContentsApp}]
