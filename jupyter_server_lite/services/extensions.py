"""``GET /api/extensions[/<name>]``: every extension's record, as the server sees it.

The same records the start-up used (see ``extension/manager.py``), not a
re-import: a failure during load shows here with its phase, reason and
traceback.  Authenticated, like every API.
"""

from __future__ import annotations

from tornado.web import HTTPError

from ..web.handlers import APIHandler


class ExtensionRecordListHandler(APIHandler):
    """``GET /api/extensions``: ``{"safe_mode", "strict", "extensions": [record, ...]}`` in load order."""

    def get(self) -> None:
        app = self.serverapp
        self.finish_json(
            {
                "safe_mode": app.safe_mode,
                "strict": app.strict_extensions,
                "extensions": [r.to_model() for r in app.extension_manager.records],
            }
        )


class ExtensionRecordHandler(APIHandler):
    """``GET /api/extensions/<name>``: one record, by extension name or enabled module."""

    def get(self, name: str) -> None:
        record = self.serverapp.extension_manager.get(name)
        if record is None:
            raise HTTPError(404, f"No extension named {name!r}")
        self.finish_json(record.to_model())


default_handlers = [
    (r"/api/extensions/?", ExtensionRecordListHandler),
    (r"/api/extensions/([^/]+)", ExtensionRecordHandler),
]
