"""The contents manager interface: what the REST handlers, ``/files/`` and sessions call.

A provider of the ``contents`` service (files on disk here; S3 or a
database elsewhere) subclasses :class:`ContentsManager` and implements the
``_``-prefixed primitives; the public methods around them are the same for
every provider and do what must not differ between them:

* the rules for names: ``untitled.txt``, ``Untitled.ipynb``, ``Untitled
  Folder``, then ``untitled1.txt``...; copies as ``name-Copy1.ext``;
* hidden paths refused unless ``allow_hidden`` (``404`` to read, ``400`` to
  change), the root never deleted or renamed;
* an *announcement* after every change that succeeded (see
  :meth:`add_listener`).

All methods are coroutines; a provider that blocks (disk, network) does so
in a thread.  Errors are ``tornado.web.HTTPError`` with the status a REST
client should see.

Models are plain dicts, as in Jupyter Server: ``name``, ``path``, ``type``
(``directory``, ``notebook`` or ``file``), ``writable``, ``created``,
``last_modified`` (ISO 8601 strings in UTC), ``mimetype``, ``format``,
``content``, ``size``, ``hash`` and ``hash_algorithm``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import itertools
import re
from collections.abc import AsyncGenerator, Callable
from typing import Any

from tornado import web
from traitlets import Bool, Enum, Integer, List, Unicode, observe
from traitlets.config import LoggingConfigurable

from . import paths
from .notebooks import new_notebook

#: ``callback(event)`` with ``event = {"action", "path"[, "source_path"]}``.
ContentsListener = Callable[[dict[str, str]], None]
#: The actions announced: the ``action`` values of Jupyter Server's
#: ``https://events.jupyter.org/jupyter_server/contents_service/v1`` events.
ACTIONS = ("get", "save", "rename", "copy", "delete")
TYPES = ("directory", "notebook", "file")
COPY_MARK = re.compile(r"-Copy\d*\.")


@dataclasses.dataclass(frozen=True)
class FileInfo:
    """What ``/files/`` needs to answer before it reads a byte."""

    path: str
    size: int
    #: POSIX seconds.
    last_modified: float
    #: Changes whenever the bytes may have changed (a strong validator for ``ETag``).
    etag: str


class ContentsManager(LoggingConfigurable):
    """Base class of a contents provider; see the module docstring."""

    allow_hidden = Bool(
        False,
        help="Serve and change hidden files and folders (a name starting with '.'); they are also listed then.",
    ).tag(config=True)
    hide_globs = List(
        Unicode(),
        ["__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*~"],
        help="Glob patterns of names left out of folder listings (they can still be opened by path).",
    ).tag(config=True)
    untitled_notebook = Unicode("Untitled", help="Base name of new untitled notebooks.").tag(config=True)
    untitled_file = Unicode("untitled", help="Base name of new untitled files.").tag(config=True)
    untitled_directory = Unicode("Untitled Folder", help="Base name of new untitled folders.").tag(config=True)
    max_content_size = Integer(
        100 * 1024 * 1024,
        min=0,
        help="""Largest file, in bytes, whose content the API returns or accepts in one model.
        A bigger file is refused with a 4xx (download it from /files/, upload it in chunks).""",
    ).tag(config=True)
    hash_algorithm = Enum(
        sorted(hashlib.algorithms_guaranteed),
        "sha256",
        help="The hashlib algorithm of a model's 'hash' (asked with ?hash=1).",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listeners: list[ContentsListener] = []

    # -- announcements -----------------------------------------------------------

    def add_listener(self, callback: ContentsListener) -> None:
        """Call ``callback(event)`` after each change (and read) that succeeded.

        ``event`` is ``{"action": ..., "path": ...}`` plus ``"source_path"``
        for ``rename`` and ``copy`` -- the data of Jupyter Server's
        ``contents_service/v1`` event.  A failing listener is logged and
        does not undo or stop anything.
        """
        self._listeners.append(callback)

    def remove_listener(self, callback: ContentsListener) -> None:
        """Stop calling ``callback``; one never added is ignored."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    def announce(self, action: str, path: str, source_path: str | None = None) -> None:
        event = {"action": action, "path": path}
        if source_path is not None:
            event["source_path"] = source_path
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:
                self.log.exception("Contents listener %r failed on %s", callback, event)

    # -- what a provider implements --------------------------------------------------

    def close(self) -> None:
        """The server is stopping: drop what is in progress (unfinished uploads).  Default: nothing."""

    async def exists(self, path: str) -> bool:
        """Whether ``path`` is a file or a folder."""
        raise NotImplementedError

    async def dir_exists(self, path: str) -> bool:
        raise NotImplementedError

    async def file_exists(self, path: str) -> bool:
        """Whether ``path`` is a file (notebooks included), not a folder."""
        raise NotImplementedError

    async def is_hidden(self, path: str) -> bool:
        raise NotImplementedError

    async def _get(
        self, path: str, content: bool, type: str | None, format: str | None, require_hash: bool
    ) -> dict[str, Any]:
        raise NotImplementedError

    async def _save(self, model: dict[str, Any], path: str) -> tuple[dict[str, Any], bool]:
        """Store ``model`` at ``path``: ``(model without content, finished)``.

        ``finished`` is False for a chunk of an upload that is not the last.
        """
        raise NotImplementedError

    async def _copy(self, from_path: str, to_path: str) -> dict[str, Any]:
        raise NotImplementedError

    async def _rename(self, old_path: str, new_path: str) -> None:
        raise NotImplementedError

    async def _delete(self, path: str) -> None:
        raise NotImplementedError

    async def create_checkpoint(self, path: str) -> dict[str, Any]:
        """Keep the file's current content; ``{"id", "last_modified"}``."""
        raise NotImplementedError

    async def list_checkpoints(self, path: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def restore_checkpoint(self, checkpoint_id: str, path: str) -> None:
        raise NotImplementedError

    async def delete_checkpoint(self, checkpoint_id: str, path: str) -> None:
        raise NotImplementedError

    async def _file_info(self, path: str) -> FileInfo:
        raise NotImplementedError

    def read_chunks(self, path: str, start: int, end: int) -> AsyncGenerator[bytes, None]:
        """The bytes ``[start, end)`` of a file (checked by :meth:`file_info`), in blocks."""
        raise NotImplementedError

    # -- the public API ------------------------------------------------------------

    _hidden_by_glob: re.Pattern[str] | None = None

    @observe("hide_globs")
    def _hide_globs_changed(self, change: Any) -> None:
        self._hidden_by_glob = None

    def should_list(self, name: str) -> bool:
        """Whether ``name`` appears in a folder listing (``hide_globs``, hidden names).

        The globs are compiled into one expression once: a listing asks for
        every entry, and 5,000 entries times five ``fnmatch`` calls showed.
        """
        if not self.allow_hidden and paths.is_hidden_name(name):
            return False
        if self._hidden_by_glob is None:
            self._hidden_by_glob = re.compile("|".join(fnmatch.translate(g) for g in self.hide_globs) or "(?!)")
        return self._hidden_by_glob.match(name) is None

    async def check_visible(self, path: str, status: int, doing: str) -> None:
        """Refuse a hidden path with ``status`` unless ``allow_hidden``."""
        if not self.allow_hidden and await self.is_hidden(path):
            if status == 404:
                raise web.HTTPError(404, f"No such file or directory: {paths.normalize(path)!r}")
            raise web.HTTPError(status, f"Cannot {doing} {paths.normalize(path)!r}: it is hidden (see allow_hidden)")

    async def get(
        self,
        path: str,
        content: bool = True,
        type: str | None = None,
        format: str | None = None,
        require_hash: bool = False,
    ) -> dict[str, Any]:
        """The model of ``path``: a folder lists its children (without content).

        ``type`` asks for a kind (``400`` if it is another); ``format`` is
        ``text`` or ``base64`` for files (by default text when the bytes are
        UTF-8); ``require_hash`` adds ``hash`` and ``hash_algorithm``.
        """
        path = paths.normalize(path)
        await self.check_visible(path, 404, "read")
        if type is not None and type not in TYPES:
            raise web.HTTPError(400, f"Unknown type {type!r}: expected one of {', '.join(TYPES)}")
        if format is not None and format not in ("text", "base64"):
            raise web.HTTPError(400, f"Format {format!r} is invalid: expected 'text' or 'base64'")
        model = await self._get(path, content, type, format, require_hash)
        self.announce("get", path)
        return model

    async def save(self, model: dict[str, Any], path: str) -> dict[str, Any]:
        """Store ``model`` (``type``, ``content``, ``format``[, ``chunk``]) at ``path``.

        Returns the new model without content.  A chunked upload sends
        ``chunk`` 1, 2, ... and -1 for the last; it is announced once, at the end.
        """
        path = paths.normalize(path)
        if not path:
            raise web.HTTPError(400, "Cannot save over the root folder")
        await self.check_visible(path, 400, "save")
        if not isinstance(model, dict):
            raise web.HTTPError(400, "The model must be a JSON object")
        kind = model.get("type")
        if kind not in TYPES:
            raise web.HTTPError(400, f"Field 'type' must be one of {', '.join(TYPES)}, not {kind!r}")
        if kind != "directory" and "content" not in model:
            raise web.HTTPError(400, "No file content provided (field 'content')")
        saved, finished = await self._save(model, path)
        if finished:
            self.announce("save", path)
        return saved

    async def new(self, model: dict[str, Any] | None = None, path: str = "") -> dict[str, Any]:
        """Create ``path`` (empty unless ``model`` has content) and return its model."""
        path = paths.normalize(path)
        model = dict(model or {})
        model.setdefault("type", "notebook" if path.endswith(".ipynb") else "file")
        if "content" not in model and model["type"] == "notebook":
            model.update(content=new_notebook(), format="json")
        elif "content" not in model and model["type"] == "file":
            model.update(content="", format="text")
        return await self.save(model, path)

    async def new_untitled(self, path: str = "", type: str = "", ext: str = "") -> dict[str, Any]:
        """A new, empty file, notebook or folder with a free name in folder ``path``."""
        path = paths.normalize(path)
        if not await self.dir_exists(path):
            raise web.HTTPError(404, f"No such directory: {path!r}")
        if not isinstance(ext, str) or not isinstance(type, str):
            raise web.HTTPError(400, "Fields 'type' and 'ext' must be strings")
        kind = type or ("notebook" if ext == ".ipynb" else "file")
        insert = ""
        if kind == "directory":
            base, insert = self.untitled_directory, " "
        elif kind == "notebook":
            base, ext = self.untitled_notebook, ".ipynb"
        elif kind == "file":
            base = self.untitled_file
        else:
            raise web.HTTPError(400, f"Unknown type {kind!r}: expected one of {', '.join(TYPES)}")
        name = await self.increment_filename(base + ext, path, insert=insert)
        return await self.new({"type": kind}, paths.join(path, name))

    async def increment_filename(self, filename: str, path: str = "", insert: str = "") -> str:
        """The first free name of ``name``, ``name<insert>1``, ``name<insert>2``... in folder ``path``.

        The number goes before the extension: the last dot for ``.ipynb``,
        the first dot otherwise (``data-Copy1.tar.gz``), as in Jupyter Server.
        """
        base, dot, ext = filename.rpartition(".")
        if ext != "ipynb":
            base, dot, ext = filename.partition(".")
        for i in itertools.count():
            name = f"{base}{insert}{i}{dot}{ext}" if i else filename
            if not await self.exists(paths.join(path, name)):
                return name
        raise AssertionError("unreachable")  # pragma: no cover

    async def copy(self, from_path: str, to_path: str | None = None) -> dict[str, Any]:
        """Copy a file or folder; return the copy's model.

        ``to_path`` is a folder (the copy is named ``<name>-Copy<n>``) or a
        new path; by default the source's own folder.
        """
        from_path = paths.normalize(from_path)
        await self.check_visible(from_path, 400, "copy")
        if not await self.exists(from_path):
            raise web.HTTPError(404, f"No such file or directory: {from_path!r}")
        source_dir, source_name = paths.parent_and_name(from_path)
        target = source_dir if to_path is None else paths.normalize(to_path)
        if await self.dir_exists(target):
            name = await self.increment_filename(COPY_MARK.sub(".", source_name), target, insert="-Copy")
            target = paths.join(target, name)
        else:
            parent, _ = paths.parent_and_name(target)
            if not await self.dir_exists(parent):
                raise web.HTTPError(404, f"No such directory: {parent!r}")
            if await self.exists(target):
                raise web.HTTPError(409, f"File already exists: {target!r}")
        await self.check_visible(target, 400, "copy to")
        model = await self._copy(from_path, target)
        self.announce("copy", target, source_path=from_path)
        return model

    async def rename(self, old_path: str, new_path: str) -> None:
        """Move a file or folder (and its checkpoints); ``409`` if ``new_path`` exists."""
        old_path, new_path = paths.normalize(old_path), paths.normalize(new_path)
        if not old_path or not new_path:
            raise web.HTTPError(400, "Cannot rename the root folder, or rename anything to it")
        await self.check_visible(old_path, 400, "rename")
        await self.check_visible(new_path, 400, "rename to")
        if old_path == new_path:
            return
        await self._rename(old_path, new_path)
        self.announce("rename", new_path, source_path=old_path)

    async def update(self, model: dict[str, Any], path: str) -> dict[str, Any]:
        """``PATCH``: rename to ``model["path"]``; return the model at the new path."""
        new_path = model.get("path")
        if not isinstance(new_path, str):
            raise web.HTTPError(400, "Field 'path' (the new path) must be a string")
        await self.rename(path, new_path)
        return await self.get(new_path, content=False)

    async def file_info(self, path: str) -> FileInfo:
        """Size, time and validator of a file, for ``/files/``; ``404`` for a folder,
        a hidden file (unless ``allow_hidden``) or nothing."""
        path = paths.normalize(path)
        await self.check_visible(path, 404, "read")
        return await self._file_info(path)

    async def delete(self, path: str) -> None:
        """Delete a file, or a folder with everything in it, and their checkpoints."""
        path = paths.normalize(path)
        if not path:
            raise web.HTTPError(400, "Cannot delete the root folder")
        await self.check_visible(path, 400, "delete")
        if not await self.exists(path):
            raise web.HTTPError(404, f"No such file or directory: {path!r}")
        await self._delete(path)
        self.announce("delete", path)
