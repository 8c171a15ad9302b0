"""Chunked uploads: ``chunk`` 1, 2, ... -1, assembled beside the target, committed at the end.

JupyterLab uploads a large file as a series of ``PUT`` requests whose
models carry ``chunk``: 1 for the first, counting up, -1 for the last.
Jupyter Server appends each chunk to the target file itself, so a failed
upload leaves a truncated file where the user's used to be.  Here the
chunks go to a hidden temporary file in the target's folder; the last one
commits it with the same atomic rename a save uses (:mod:`.fileio`), so the
target is the old file until the upload is complete, then the new one.

The order is checked: chunk 1 (re)starts an upload of a path; each later
chunk must be the next number, and -1 needs an upload in progress; anything
else is a ``400`` saying which chunk was expected.  An upload nobody
finishes is discarded when a new one of the same path starts, when it has
been idle for :data:`IDLE_SECONDS`, or when the server stops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time

from tornado import web

from . import fileio

#: An unfinished upload idle for this long is discarded (its temporary file removed).
IDLE_SECONDS = 3600.0


@dataclasses.dataclass
class Upload:
    tmp_path: str
    next_chunk: int = 2
    touched: float = dataclasses.field(default_factory=time.monotonic)


class Uploads:
    """The uploads in progress of one manager, by API path."""

    def __init__(self) -> None:
        self._active: dict[str, Upload] = {}

    def check(self, path: str, chunk: object) -> None:
        """Refuse a chunk that is not a valid number or not the expected one (``400``)."""
        if isinstance(chunk, bool) or not isinstance(chunk, int) or (chunk < 1 and chunk != -1):
            raise web.HTTPError(400, f"Field 'chunk' must be 1, 2, ... or -1 for the last, not {chunk!r}")
        if chunk == 1:
            return
        upload = self._active.get(path)
        if upload is None:
            raise web.HTTPError(
                400, f"Chunk {chunk} of {path!r} arrived, but no upload of it is in progress: send chunk 1 first"
            )
        if chunk != -1 and chunk != upload.next_chunk:
            raise web.HTTPError(
                400,
                f"Chunk {chunk} of {path!r} arrived out of order: expected chunk {upload.next_chunk} (or -1 for the last)",
            )

    def write(self, os_path: str, path: str, chunk: int, data: bytes) -> str:
        """Add ``data`` as ``chunk`` (checked already); blocking.  Returns the temporary file."""
        self.sweep()
        if chunk == 1:
            self.discard(path)
            fd, tmp_path = fileio.temporary_sibling(os.path.realpath(os_path), suffix=".upload")
            os.close(fd)
            self._active[path] = Upload(tmp_path)
        upload = self._active[path]
        try:
            with open(upload.tmp_path, "ab") as f:
                f.write(data)
                if chunk == -1:
                    f.flush()
                    os.fsync(f.fileno())
        except BaseException:
            self.discard(path)
            raise
        upload.touched = time.monotonic()
        if chunk != 1:
            upload.next_chunk += 1
        return upload.tmp_path

    def finish(self, os_path: str, path: str) -> None:
        """Commit the complete upload of ``path`` onto ``os_path``; blocking."""
        upload = self._active.pop(path)
        try:
            fileio.commit(upload.tmp_path, os.path.realpath(os_path))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(upload.tmp_path)
            raise

    def discard(self, path: str) -> None:
        upload = self._active.pop(path, None)
        if upload is not None:
            with contextlib.suppress(OSError):
                os.unlink(upload.tmp_path)

    def sweep(self) -> None:
        """Discard uploads idle for longer than :data:`IDLE_SECONDS`."""
        limit = time.monotonic() - IDLE_SECONDS
        for path in [p for p, u in self._active.items() if u.touched < limit]:
            self.discard(path)

    def discard_all(self) -> None:
        for path in list(self._active):
            self.discard(path)

    def moved(self, old_path: str) -> None:
        """``old_path`` was renamed: an upload to it or below it would commit to a stale place; drop it."""
        for path in [p for p in self._active if p == old_path or p.startswith(old_path + "/")]:
            self.discard(path)
