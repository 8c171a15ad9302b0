"""``GET /files/<path>``: a file's raw bytes, streamed, for downloads, ``<img>`` tags and iframes.

The bytes come from the active contents manager (``serverapp.contents_manager``:
whichever extension provides the ``contents`` service), through
:meth:`~jupyter_server_lite.bundled.contents.base.ContentsManager.file_info`
and ``read_chunks``, so the same confinement and hidden-file rules hold as
for the API, and a 1 GB file passes through in 1 MiB blocks, never whole.

HTTP caching and ranges as tornado's ``StaticFileHandler`` does them, without
hashing the whole file for the ``ETag`` (it is derived from the file's
identity, size and modification time instead):

* ``ETag`` and ``Last-Modified``; ``If-None-Match`` / ``If-Modified-Since``
  answer ``304``; ``Cache-Control: no-cache`` (revalidate each time, as
  Jupyter Server);
* ``Range: bytes=a-b`` (one range) answers ``206`` with ``Content-Range``;
  an unsatisfiable one ``416``; several ranges, or a malformed header, get
  the whole file;
* ``?download=1`` (and every notebook) adds ``Content-Disposition:
  attachment`` with an RFC 5987 ``filename*`` for any name;
* ``Content-Security-Policy: sandbox allow-scripts``: an HTML or SVG file
  runs in an opaque origin and cannot use the server's cookies.

A cross-site request authenticated by cookie (``Sec-Fetch-Site:
cross-site``) is refused, so another site cannot embed a user's files.

Though outside ``/api``, it answers like the API, as kernelspec resources
do: its callers are clients, ``<img>`` tags and downloads, for whom a login
page is no answer -- a request without credentials is a JSON ``403`` (not a
redirect to the login page, as in Jupyter Server) and every error is JSON
``{"message", "reason"}``.
"""

from __future__ import annotations

import email.utils
import mimetypes
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tornado import iostream, web

from ...extension.handler import ExtensionAPIHandler

if TYPE_CHECKING:
    from ..contents.base import FileInfo

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def content_type(name: str) -> str:
    """The ``Content-Type`` of a file called ``name``, as Jupyter Server chooses it."""
    if name.endswith(".ipynb"):
        return "application/x-ipynb+json"
    mime, encoding = mimetypes.guess_type(name)
    if encoding == "gzip":
        return "application/gzip"
    if encoding is not None or mime is None:
        return "application/octet-stream"
    if mime == "text/plain":
        return "text/plain; charset=UTF-8"
    return mime


def attachment(name: str) -> str:
    """``Content-Disposition`` for downloading ``name``: an ASCII fallback and the exact UTF-8 name."""
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", name) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) of a single-range ``Range`` header; None for the whole file.

    Raises ``HTTPError(416)`` for a well-formed range that lies outside the file.
    """
    if not header:
        return None
    found = _RANGE.fullmatch(header.strip())
    if found is None:
        return None  # several ranges, another unit, garbage: the whole file, as tornado does
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        start, end = max(size - int(last), 0), size
    else:
        start = int(first)
        end = min(int(last) + 1, size) if last else size
        if last and int(last) < start:
            return None
    if start >= size or start >= end:
        raise web.HTTPError(416, f"Range {header!r} is outside the file ({size} bytes)")
    return start, end


class FilesHandler(ExtensionAPIHandler):
    """The raw bytes of one file; see the module docstring."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Security-Policy", "frame-ancestors 'self'; sandbox allow-scripts")

    async def prepare(self) -> None:
        await super().prepare()
        if self.request.headers.get("Sec-Fetch-Site") == "cross-site" and self.auth_method == "cookie":
            raise web.HTTPError(403, "Files are not served to other sites")

    async def head(self, path: str) -> None:
        await self.get(path, include_body=False)

    async def get(self, path: str, include_body: bool = True) -> None:
        try:
            cm = self.serverapp.contents_manager
        except RuntimeError as err:
            raise web.HTTPError(503, f"No contents service to read files from: {err}") from err
        info = await cm.file_info(path)
        name = info.path.rpartition("/")[2]
        self.set_header("Content-Type", content_type(name))
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("ETag", f'"{info.etag}"')
        self.set_header("Last-Modified", email.utils.formatdate(info.last_modified, usegmt=True))
        if self.get_query_argument("download", "0") not in ("0", "") or name.endswith(".ipynb"):
            self.set_header("Content-Disposition", attachment(name))
        if self._not_modified(info):
            self.set_status(304)
            self.finish()
            return
        self._size = info.size
        span = byte_range(self.request.headers.get("Range"), info.size)
        start, end = span if span is not None else (0, info.size)
        if span is not None:
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end - 1}/{info.size}")
        self.set_header("Content-Length", str(end - start))
        if not include_body:
            self.finish()
            return
        chunks = cm.read_chunks(info.path, start, end)
        try:
            async for block in chunks:
                self.write(block)
                await self.flush()  # the client's pace: at most one block waits in memory
        except iostream.StreamClosedError:
            return  # the client went away
        finally:
            await chunks.aclose()
        self.finish()

    _size: int | None = None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 416 and self._size is not None:
            self.set_header("Content-Range", f"bytes */{self._size}")  # after send_error cleared the headers
        super().write_error(status_code, **kwargs)

    def _not_modified(self, info: FileInfo) -> bool:
        match = self.request.headers.get("If-None-Match")
        if match is not None:
            tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
            return "*" in tags or f'"{info.etag}"' in tags
        since = self.request.headers.get("If-Modified-Since")
        if since:
            try:
                moment = email.utils.parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return False
            return int(info.last_modified) <= moment
        return False


#: The routes, relative to the service's prefix ``files``.
ROUTES: list[tuple[str, type]] = [(r"/(?P<path>.+)", FilesHandler)]
