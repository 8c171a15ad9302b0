"""``/api/contents/<path>[/checkpoints[/<id>]]``: the contents REST API, as Jupyter Server speaks it.

The handlers read the query and the body, refuse malformed ones with a
``400`` naming the field, and leave everything else to the contents
manager of the extension that mounted them (``extension_app.contents_manager``),
so another provider of the ``contents`` service can mount the same routes
(:data:`ROUTES`) over its own :class:`~.base.ContentsManager`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tornado import web

from ...extension.handler import ExtensionAPIHandler
from ...web.handlers import url_path_join

if TYPE_CHECKING:
    from .base import ContentsManager


def _flag(handler: web.RequestHandler, name: str, default: str) -> bool:
    value = handler.get_query_argument(name, default)
    if value not in ("0", "1"):
        raise web.HTTPError(400, f"Query argument {name}={value!r} is invalid: it must be 0 or 1")
    return value == "1"


class ContentsAPIHandler(ExtensionAPIHandler):
    """What every contents route has: the manager, and ``Location`` URLs."""

    @property
    def contents_manager(self) -> ContentsManager:
        return self.extension_app.contents_manager  # type: ignore[attr-defined]  # a contents provider's app

    def location(self, path: str, *more: str) -> str:
        return url_path_join(self.base_url, "api", "contents", quote(path), *more)

    def finish_model(self, model: dict[str, Any], status: int = 200, location: bool = True) -> None:
        if location:
            self.set_header("Location", self.location(model["path"]))
        self.finish_json(model, status=status)


class ContentsHandler(ContentsAPIHandler):
    """One path: ``GET`` its model, ``PUT`` save or upload, ``POST`` new or copy, ``PATCH`` rename, ``DELETE``."""

    async def get(self, path: str | None = None) -> None:
        kind = self.get_query_argument("type", None)
        if kind is not None and kind not in ("directory", "notebook", "file"):
            kind = "file"  # as Jupyter Server: an unknown type reads as a file
        model = await self.contents_manager.get(
            path or "",
            content=_flag(self, "content", "1"),
            type=kind,
            format=self.get_query_argument("format", None),
            require_hash=_flag(self, "hash", "0"),
        )
        self.finish_model(model, location=False)

    async def put(self, path: str | None = None) -> None:
        path = path or ""
        model = self.get_json_object()
        if not model:
            raise web.HTTPError(400, "PUT needs a JSON model (type, format, content) in the body")
        if model.get("copy_from"):
            raise web.HTTPError(400, "Cannot copy with PUT, only POST")
        cm = self.contents_manager
        existed = await cm.exists(path)
        saved = await cm.save(model, path)
        self.finish_model(saved, status=200 if existed else 201)

    async def post(self, path: str | None = None) -> None:
        path = path or ""
        cm = self.contents_manager
        if await cm.file_exists(path):
            raise web.HTTPError(400, "Cannot POST to files, use PUT instead.")
        body = self.get_json_object()
        copy_from = body.get("copy_from")
        if copy_from is not None:
            if not isinstance(copy_from, str) or not copy_from:
                raise web.HTTPError(400, "Field 'copy_from' must be the path of a file or folder")
            model = await cm.copy(copy_from, path)
        else:
            kind = body.get("type") or ""
            if kind not in ("", "directory", "notebook", "file"):
                kind = "file"  # as Jupyter Server
            model = await cm.new_untitled(path, type=kind, ext=body.get("ext") or "")
        self.finish_model(model, status=201)

    async def patch(self, path: str | None = None) -> None:
        body = self.get_json_body()
        if not isinstance(body, dict):
            raise web.HTTPError(400, "PATCH needs a JSON object with the new 'path'")
        self.finish_model(await self.contents_manager.update(body, path or ""))

    async def delete(self, path: str | None = None) -> None:
        await self.contents_manager.delete(path or "")
        self.set_status(204)
        self.finish()


class CheckpointsHandler(ContentsAPIHandler):
    """``GET`` a file's checkpoints; ``POST`` makes one."""

    async def get(self, path: str | None = None) -> None:
        self.finish_json(await self.contents_manager.list_checkpoints(path or ""))

    async def post(self, path: str | None = None) -> None:
        checkpoint = await self.contents_manager.create_checkpoint(path or "")
        self.set_header("Location", self.location(path or "", "checkpoints", quote(checkpoint["id"])))
        self.finish_json(checkpoint, status=201)


class CheckpointHandler(ContentsAPIHandler):
    """One checkpoint: ``POST`` restores the file from it, ``DELETE`` removes it."""

    async def post(self, path: str | None = None, checkpoint_id: str = "") -> None:
        await self.contents_manager.restore_checkpoint(checkpoint_id, path or "")
        self.set_status(204)
        self.finish()

    async def delete(self, path: str | None = None, checkpoint_id: str = "") -> None:
        await self.contents_manager.delete_checkpoint(checkpoint_id, path or "")
        self.set_status(204)
        self.finish()


_PATH = r"(?P<path>/.*?)?"

#: The routes, relative to the service's prefix ``api/contents`` (checkpoints first).
ROUTES: list[tuple[str, type]] = [
    (_PATH + r"/checkpoints", CheckpointsHandler),
    (_PATH + r"/checkpoints/(?P<checkpoint_id>[\w-]+)", CheckpointHandler),
    (r"(?P<path>/.*)?", ContentsHandler),
]
