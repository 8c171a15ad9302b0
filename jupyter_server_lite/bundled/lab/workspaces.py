"""JupyterLab's workspaces API: ``/lab/api/workspaces[/<name>]``.

A workspace is the layout of one JupyterLab (open tabs, panels), saved by
the browser as ``{"data": {...}, "metadata": {"id": "<name>"}}``.  Each is a
file ``<slug>.jupyterlab-workspace`` in ``workspaces_dir``, the slug made
from the name as jupyterlab_server makes it (lower case, a short hash of
the name appended), so folders written by JupyterLab read here and back.

``GET`` lists them (``{"workspaces": {"ids": [...], "values": [...]}}``) or
returns one -- an unknown one is an empty workspace, not an error, since
that is how the browser starts a new one; ``PUT`` saves one (its
``metadata.id`` must be its name) and ``DELETE`` removes one (``404`` when
there is none).  A workspace that is not such a JSON object is a JSON
``400`` saying what is wrong; a file on disk that cannot be read is left
out of the list with a WARNING naming it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import unicodedata
import urllib.parse
from datetime import datetime, timezone
from typing import Any

from tornado import web

from ...extension.handler import ExtensionAPIHandler
from .settings import write_text_atomically

WORKSPACE_EXTENSION = ".jupyterlab-workspace"
_MAX_SLUG = 128 - len(WORKSPACE_EXTENSION)


def slugify(name: str) -> str:
    """The file stem of workspace ``name``: ASCII words joined by ``-``, lower case, plus ``-<4 hex>``.

    The hash of the name keeps two names that slug alike apart; the result
    is the same as jupyterlab_server's, so existing workspace files are found.
    """
    raw = name if name.startswith("/") else "/" + name
    signature = "-" + hashlib.sha256(raw[1:].encode("utf-8")).hexdigest()[:4]
    value = urllib.parse.unquote(raw.lower())
    value = unicodedata.normalize("NFKC", value).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip()
    value = re.sub(r"[-\s]+", "-", value)
    return value[: _MAX_SLUG - len(signature)] + signature


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat()


class WorkspacesStore:
    """The workspace files in one folder (created on the first save)."""

    def __init__(self, directory: str, log: logging.Logger) -> None:
        self.directory = directory
        self.log = log

    def path(self, name: str) -> str:
        return os.path.join(self.directory, slugify(name) + WORKSPACE_EXTENSION)

    def _read(self, path: str) -> dict[str, Any]:
        stat = os.stat(path)
        with open(path, encoding="utf-8") as f:
            workspace = json.load(f)
        if not isinstance(workspace, dict) or not isinstance(workspace.get("metadata"), dict):
            raise ValueError("not a workspace: no metadata object")
        workspace["metadata"].update(last_modified=_iso(stat.st_mtime), created=_iso(stat.st_ctime))
        return workspace

    def list(self) -> list[dict[str, Any]]:
        try:
            names = sorted(n for n in os.listdir(self.directory) if n.endswith(WORKSPACE_EXTENSION))
        except FileNotFoundError:
            return []
        workspaces = []
        for name in names:
            path = os.path.join(self.directory, name)
            try:
                workspaces.append(self._read(path))
            except (OSError, ValueError) as err:
                self.log.warning("Skipping the JupyterLab workspace %s: %s", path, err)
        return workspaces

    def load(self, name: str) -> dict[str, Any]:
        """The workspace ``name``; an empty one when it was never saved."""
        path = self.path(name)
        try:
            return self._read(path)
        except FileNotFoundError:
            return {"data": {}, "metadata": {"id": name if name.startswith("/") else "/" + name}}
        except (OSError, ValueError) as err:
            raise web.HTTPError(400, f"The workspace {name!r} on disk ({path}) cannot be read: {err}") from None

    def save(self, name: str, raw: str) -> None:
        """Store ``raw`` (JSON text) as workspace ``name``; ``400`` unless it is a workspace of that name."""
        try:
            workspace = json.loads(raw)
        except ValueError as err:
            raise web.HTTPError(400, f"The workspace is not valid JSON: {err}") from None
        if not isinstance(workspace, dict) or not isinstance(workspace.get("data", {}), dict):
            raise web.HTTPError(400, 'A workspace is a JSON object {"data": {...}, "metadata": {"id": ...}}')
        metadata = workspace.get("metadata")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("id"), str):
            raise web.HTTPError(400, 'The workspace needs "metadata": {"id": "<its name>"}')
        given = urllib.parse.unquote(metadata["id"] if metadata["id"].startswith("/") else "/" + metadata["id"])
        if given != "/" + name:
            raise web.HTTPError(400, f"Workspace metadata ID mismatch: expected {name!r}, got {given[1:]!r}")
        write_text_atomically(self.path(name), raw)

    def delete(self, name: str) -> None:
        try:
            os.unlink(self.path(name))
        except FileNotFoundError:
            raise web.HTTPError(404, f"Workspace {name!r} not found") from None


class WorkspacesHandler(ExtensionAPIHandler):
    """``GET /lab/api/workspaces[/<name>]``, ``PUT`` and ``DELETE /lab/api/workspaces/<name>``."""

    @property
    def store(self) -> WorkspacesStore:
        return self.extension_app.workspaces_store  # type: ignore[attr-defined]  # LabApp's

    def _name(self, name: str | None, method: str) -> str:
        name = (name or "").strip("/")
        if not name:
            raise web.HTTPError(400, f"{method} needs a workspace name: /lab/api/workspaces/<name>")
        return name

    def get(self, name: str | None = None) -> None:
        name = (name or "").strip("/")
        if name:
            self.finish_json(self.store.load(name))
            return
        values = self.store.list()
        self.finish_json({"workspaces": {"ids": [w["metadata"].get("id") for w in values], "values": values}})

    def put(self, name: str | None = None) -> None:
        name = self._name(name, "PUT")
        try:
            raw = self.request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise web.HTTPError(400, "The workspace is not UTF-8 text") from None
        self.store.save(name, raw)
        self.set_status(204)
        self.finish()

    def delete(self, name: str | None = None) -> None:
        self.store.delete(self._name(name, "DELETE"))
        self.set_status(204)
        self.finish()
