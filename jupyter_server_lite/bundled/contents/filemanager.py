"""The contents of a folder on disk: the bundled provider's :class:`FileContentsManager`.

Paths are confined to the server's ``root_dir`` by :mod:`.paths`; writes are
atomic (:mod:`.fileio`); checkpoints live where Jupyter Server keeps them
(:mod:`.checkpoints`); chunked uploads assemble beside their target
(:mod:`.uploads`); notebooks go through ``nbformat`` (:mod:`.notebooks`).

Every piece of file-system work runs in a thread (``asyncio.to_thread``),
one hop per request where possible, so a slow disk or a 5,000-entry folder
never holds up the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import functools
import mimetypes
import os
import shutil
import stat
from collections.abc import AsyncGenerator
from datetime import datetime, timezone
from typing import Any

from tornado import web
from traitlets import Unicode, default

from ...activity import isoformat
from . import checkpoints, fileio, paths
from .base import ContentsManager, FileInfo
from .notebooks import parse, serialize
from .uploads import Uploads

EPOCH = "1970-01-01T00:00:00Z"


def _iso(seconds: float) -> str:
    """ISO time of a file time; the epoch for a time the platform cannot represent."""
    try:
        return isoformat(datetime.fromtimestamp(seconds, tz=timezone.utc))
    except (OverflowError, OSError, ValueError):
        return EPOCH


def _created(st: os.stat_result) -> float:
    """Birth time where the platform records it, else the inode change time (as Jupyter Server)."""
    birth = getattr(st, "st_birthtime", None)
    return birth if isinstance(birth, (int, float)) and birth >= 0 else st.st_ctime


@functools.lru_cache(maxsize=512)
def _mimetype_of_suffix(suffix: str) -> str | None:
    return mimetypes.guess_type("x" + suffix)[0]


def guess_mimetype(name: str) -> str | None:
    """``mimetypes.guess_type(name)[0]``, cached by what follows the name's first dot
    (a listing asks for every entry; the guess only looks at the suffixes)."""
    dot = name.find(".", 1)
    return None if dot < 0 else _mimetype_of_suffix(name[dot:].lower())


def _size_text(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]  # a float from here on, for display
    return str(size)  # pragma: no cover


class FileContentsManager(ContentsManager):
    """Files, notebooks and folders below ``root_dir``, as the Jupyter Server contents API."""

    root_dir = Unicode(help="The folder served; by default the server's ServerApp.root_dir (not configurable here).")

    @default("root_dir")
    def _default_root_dir(self) -> str:
        serverapp = getattr(self.parent, "serverapp", None)
        return serverapp.root_dir if serverapp is not None else os.getcwd()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = paths.Root(self.root_dir)
        self._uploads = Uploads()
        self._upload_lock = asyncio.Lock()

    def close(self) -> None:
        """Discard unfinished uploads (their temporary files); called when the server stops."""
        self._uploads.discard_all()

    # -- queries -------------------------------------------------------------------

    async def exists(self, path: str) -> bool:
        return await asyncio.to_thread(self._kind, path) is not None

    async def dir_exists(self, path: str) -> bool:
        return await asyncio.to_thread(self._kind, path) == "directory"

    async def file_exists(self, path: str) -> bool:
        return await asyncio.to_thread(self._kind, path) == "file"

    async def is_hidden(self, path: str) -> bool:
        return await asyncio.to_thread(self.root.is_hidden, path)

    def _kind(self, path: str) -> str | None:
        """``"directory"``, ``"file"`` or None; a path outside the root is an error, not None."""
        try:
            st = os.stat(self.root.os_path(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISDIR(st.st_mode):
            return "directory"
        return "file" if stat.S_ISREG(st.st_mode) else None

    # -- models --------------------------------------------------------------------

    def _base_model(self, path: str, os_path: str, st: os.stat_result, kind: str) -> dict[str, Any]:
        directory = kind == "directory"
        return {
            "name": path.rpartition("/")[2],
            "path": path,
            "type": kind,
            "writable": os.access(os_path, os.W_OK),
            "created": _iso(_created(st)),
            "last_modified": _iso(st.st_mtime),
            "mimetype": None if directory or kind == "notebook" else guess_mimetype(path.rpartition("/")[2]),
            "content": None,
            "format": None,
            "size": None if directory else st.st_size,
            "hash": None,
            "hash_algorithm": None,
        }

    async def _get(
        self, path: str, content: bool, type: str | None, format: str | None, require_hash: bool
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self._get_sync, path, content, type, format, require_hash)

    def _stat(self, path: str) -> tuple[str, os.stat_result]:
        os_path = self.root.os_path(path)
        try:
            return os_path, os.stat(os_path)
        except (FileNotFoundError, NotADirectoryError):
            raise web.HTTPError(404, f"No such file or directory: {path!r}") from None

    def _get_sync(
        self, path: str, content: bool, type: str | None, format: str | None, require_hash: bool
    ) -> dict[str, Any]:
        os_path, st = self._stat(path)
        if stat.S_ISDIR(st.st_mode):
            if type not in (None, "directory"):
                raise web.HTTPError(400, f"{path!r} is a directory, not a {type}", reason="bad type")
            model = self._base_model(path, os_path, st, "directory")
            if content:
                with fileio.http_errors(path, "list"):
                    model.update(content=self._listing(path, os_path), format="json")
            return model
        if not stat.S_ISREG(st.st_mode):
            raise web.HTTPError(404, f"{path!r} is neither a file nor a directory")
        if type == "directory":
            raise web.HTTPError(400, f"{path!r} is not a directory", reason="bad type")
        kind = "notebook" if type == "notebook" or (type is None and path.endswith(".ipynb")) else "file"
        model = self._base_model(path, os_path, st, kind)
        data = None
        if content:
            if st.st_size > self.max_content_size:
                raise web.HTTPError(
                    400,
                    f"{path!r} is {_size_text(st.st_size)}, more than the API returns in one model "
                    f"(max_content_size, {_size_text(self.max_content_size)}): download it from /files/{path}",
                    reason="Content Too Large",
                )
            with fileio.http_errors(path, "read"):
                data = fileio.read_bytes(os_path)
            if kind == "notebook":
                nb, message = parse(data, path)
                model.update(content=nb, format="json")
                if message:
                    model["message"] = message
            else:
                model.update(self._file_content(path, data, format))
        if require_hash:
            with fileio.http_errors(path, "read"):
                digest = (
                    fileio.hash_bytes(data, self.hash_algorithm)
                    if data is not None
                    else fileio.hash_file(os_path, self.hash_algorithm)
                )
            model.update(hash=digest, hash_algorithm=self.hash_algorithm)
        return model

    @staticmethod
    def _file_content(path: str, data: bytes, format: str | None) -> dict[str, Any]:
        if format != "base64":
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                if format == "text":
                    raise web.HTTPError(400, f"{path!r} is not UTF-8 encoded", reason="bad format") from None
            else:
                return {
                    "content": text,
                    "format": "text",
                    "mimetype": guess_mimetype(path.rpartition("/")[2]) or "text/plain",
                }
        return {
            "content": base64.b64encode(data).decode("ascii"),
            "format": "base64",
            "mimetype": guess_mimetype(path.rpartition("/")[2]) or "application/octet-stream",
        }

    def _listing(self, path: str, os_path: str) -> list[dict[str, Any]]:
        """The models of a folder's visible children, by name; one ``scandir``, no per-child lookups."""
        children = []
        with os.scandir(os_path) as entries:
            for entry in entries:
                name = entry.name
                if not self.should_list(name):
                    continue
                child = f"{path}/{name}" if path else name
                try:
                    if entry.is_symlink() and (
                        self.root.link_escapes(entry.path) or (not self.allow_hidden and self.root.is_hidden(child))
                    ):
                        continue
                    st = entry.stat()
                except OSError:  # a broken link, a file gone meanwhile, no permission
                    continue
                if stat.S_ISDIR(st.st_mode):
                    kind = "directory"
                elif stat.S_ISREG(st.st_mode):
                    kind = "notebook" if name.endswith(".ipynb") else "file"
                else:
                    continue
                children.append(self._base_model(child, entry.path, st, kind))
        children.sort(key=lambda m: m["name"])
        return children

    # -- saving --------------------------------------------------------------------

    async def _save(self, model: dict[str, Any], path: str) -> tuple[dict[str, Any], bool]:
        chunk = model.get("chunk")
        if chunk is None:
            return await asyncio.to_thread(self._save_sync, model, path), True
        if model["type"] != "file":
            raise web.HTTPError(400, f"Only files can be uploaded in chunks, not a {model['type']}")
        async with self._upload_lock:
            self._uploads.check(path, chunk)
            return await asyncio.to_thread(self._save_chunk_sync, model, path, chunk), chunk == -1

    def _target(self, path: str) -> str:
        """The confined file-system path to write ``path`` at; ``404`` if its folder is missing."""
        os_path = self.root.os_path(path)
        parent = os.path.dirname(os_path)
        if not os.path.isdir(parent):
            raise web.HTTPError(404, f"No such directory: {paths.parent_and_name(path)[0]!r} (to save {path!r} in)")
        return os_path

    def _decode(self, model: dict[str, Any], path: str) -> bytes:
        content, format = model["content"], model.get("format")
        if not isinstance(content, str):
            raise web.HTTPError(400, f"File content for {path!r} must be a string, not {type(content).__name__}")
        if format == "text":
            try:
                data = content.encode("utf-8")
            except UnicodeEncodeError as err:
                raise web.HTTPError(400, f"File content for {path!r} is not valid text: {err.reason}") from err
        elif format == "base64":
            try:
                data = base64.b64decode("".join(content.split()), validate=True)
            except (binascii.Error, ValueError) as err:
                raise web.HTTPError(400, f"File content for {path!r} is not valid base64: {err}") from err
        else:
            raise web.HTTPError(400, f"Field 'format' must be 'text' or 'base64' for a file, not {format!r}")
        if len(data) > self.max_content_size:
            raise web.HTTPError(
                413,
                f"File content for {path!r} is {_size_text(len(data))}, more than max_content_size "
                f"({_size_text(self.max_content_size)}): upload it in chunks",
            )
        return data

    def _save_sync(self, model: dict[str, Any], path: str) -> dict[str, Any]:
        os_path = self._target(path)
        kind = model["type"]
        with fileio.http_errors(path, "save"):
            if kind == "directory":
                if os.path.exists(os_path) and not os.path.isdir(os_path):
                    raise web.HTTPError(400, f"A file exists at {path!r}: cannot make it a directory")
                os.makedirs(os_path, exist_ok=True)
                return self._get_sync(path, False, None, None, False)
            if os.path.isdir(os_path):
                raise web.HTTPError(400, f"{path!r} is a directory: cannot save a {kind} over it")
            if kind == "notebook":
                fileio.write_bytes(os_path, serialize(model["content"], path))
                if not checkpoints.listing(os_path):
                    checkpoints.create(os_path, path)  # one checkpoint always exists, as in Jupyter Server
            else:
                fileio.write_bytes(os_path, self._decode(model, path))
        return self._get_sync(path, False, kind, None, False)

    def _save_chunk_sync(self, model: dict[str, Any], path: str, chunk: int) -> dict[str, Any]:
        os_path = self._target(path)
        if os.path.isdir(os_path):
            raise web.HTTPError(400, f"{path!r} is a directory: cannot upload a file over it")
        with fileio.http_errors(path, "upload"):
            tmp_path = self._uploads.write(os_path, path, chunk, self._decode(model, path))
            if chunk == -1:
                self._uploads.finish(os_path, path)
                return self._get_sync(path, False, "file", None, False)
            model = self._base_model(path, tmp_path, os.stat(tmp_path), "file")
            model["writable"] = True
            return model

    # -- copy, rename, delete -------------------------------------------------------

    async def _copy(self, from_path: str, to_path: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._copy_sync, from_path, to_path)

    def _copy_sync(self, from_path: str, to_path: str) -> dict[str, Any]:
        src, dst = self.root.os_path(from_path), self.root.os_path(to_path)
        with fileio.http_errors(from_path, "copy"):
            if os.path.isdir(src):
                try:
                    shutil.copytree(src, dst, symlinks=True)
                except BaseException:
                    shutil.rmtree(dst, ignore_errors=True)
                    raise
            else:
                fileio.copy_file(src, dst)
        return self._get_sync(to_path, False, None, None, False)

    async def _rename(self, old_path: str, new_path: str) -> None:
        await asyncio.to_thread(self._rename_sync, old_path, new_path)
        self._uploads.moved(old_path)

    def _rename_sync(self, old_path: str, new_path: str) -> None:
        old, new = self.root.os_path(old_path), self.root.os_path(new_path)
        if not os.path.lexists(old):
            raise web.HTTPError(404, f"No such file or directory: {old_path!r}")
        if os.path.lexists(new) and not os.path.samefile(old, new):
            raise web.HTTPError(409, f"File already exists: {new_path!r}")
        if not os.path.isdir(os.path.dirname(new)):
            raise web.HTTPError(
                404, f"No such directory: {paths.parent_and_name(new_path)[0]!r} (to move {old_path!r} into)"
            )
        is_file = os.path.isfile(old)
        with fileio.http_errors(old_path, "rename"):
            try:
                os.rename(old, new)
            except OSError as err:
                if err.errno == errno.EXDEV:
                    shutil.move(old, new)
                elif err.errno == errno.EINVAL:
                    raise web.HTTPError(400, f"Cannot move {old_path!r} into itself ({new_path!r})") from err
                else:
                    raise
            if is_file:
                checkpoints.move_all(old, new)

    async def _delete(self, path: str) -> None:
        await asyncio.to_thread(self._delete_sync, path)

    def _delete_sync(self, path: str) -> None:
        os_path = self.root.os_path(path)
        is_file = os.path.isfile(os_path) and not os.path.islink(os_path)
        with fileio.http_errors(path, "delete"):
            fileio.remove(os_path)
            if is_file:
                checkpoints.delete_all(os_path)

    # -- checkpoints -------------------------------------------------------------------

    async def _checkpoint_call(self, function: Any, path: str, *args: Any) -> Any:
        path = paths.normalize(path)
        await self.check_visible(path, 404, "use checkpoints of")
        return await asyncio.to_thread(function, self.root.os_path(path), path, *args)

    async def create_checkpoint(self, path: str) -> dict[str, Any]:
        return await self._checkpoint_call(checkpoints.create, path)

    async def list_checkpoints(self, path: str) -> list[dict[str, Any]]:
        return await self._checkpoint_call(lambda os_path, _path: checkpoints.listing(os_path), path)

    async def restore_checkpoint(self, checkpoint_id: str, path: str) -> None:
        await self._checkpoint_call(checkpoints.restore, path, checkpoint_id)

    async def delete_checkpoint(self, checkpoint_id: str, path: str) -> None:
        await self._checkpoint_call(checkpoints.delete, path, checkpoint_id)

    # -- raw bytes for /files/ ------------------------------------------------------------

    async def _file_info(self, path: str) -> FileInfo:
        _os_path, st = await asyncio.to_thread(self._stat, path)
        if not stat.S_ISREG(st.st_mode):
            raise web.HTTPError(404, f"No such file: {path!r}")
        etag = f"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}"
        return FileInfo(path=path, size=st.st_size, last_modified=st.st_mtime, etag=etag)

    async def read_chunks(self, path: str, start: int, end: int) -> AsyncGenerator[bytes, None]:
        os_path = self.root.os_path(path)
        with fileio.http_errors(path, "read"):
            f = await asyncio.to_thread(open, os_path, "rb")
        try:
            await asyncio.to_thread(f.seek, start)
            remaining = end - start
            while remaining > 0:
                block = await asyncio.to_thread(f.read, min(fileio.CHUNK_SIZE, remaining))
                if not block:
                    break
                remaining -= len(block)
                yield block
        finally:
            f.close()
