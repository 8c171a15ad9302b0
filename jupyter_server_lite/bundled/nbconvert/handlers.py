"""``/api/nbconvert`` and ``/nbconvert/<format>[/<path>]``: exporters and conversions, as Jupyter Server serves them.

* ``GET /api/nbconvert``: ``{name: {"output_mimetype": ...}}`` for every
  exporter nbconvert has (what JupyterLab's "Save and Export Notebook As"
  menu lists); computed once, in a thread, and kept.
* ``GET /nbconvert/<format>/<path>``: the notebook at ``path``, read through
  ``serverapp.contents_manager`` (whichever extension provides contents),
  converted; ``?download=true`` adds ``Content-Disposition: attachment``
  (``<name>.<ext>``), ``?sanitize_html=true|false`` sets the HTML
  exporter's ``sanitize_html``.
* ``POST /nbconvert/<format>`` with ``{"content": <notebook>[, "name"]}``:
  that notebook, converted.

An export with extra files (the images of a markdown export) is one zip
(``application/zip``, as an attachment).  Output carries
``Content-Security-Policy: sandbox allow-scripts``, so exported HTML runs
in an opaque origin and cannot act as the server's.  Conversions run in a
worker thread, never on the event loop.

As for ``/files/``, a cross-site request authenticated by cookie
(``Sec-Fetch-Site: cross-site``) is refused, so another site cannot embed a
user's notebooks, and errors are JSON: ``400`` for an unknown format, a file
that is not a notebook, or a notebook that is not valid (not JSON, or
breaking the nbformat schema); ``404`` for a missing one; ``503`` when
nbconvert is not installed (the message says how to install it) or no
extension provides contents; ``500`` (logged with its traceback) when
nbconvert itself fails on a valid notebook -- a PDF without LaTeX, say.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tornado import web

from ...extension.handler import ExtensionAPIHandler
from ...web.handlers import url_path_join
from ..contents.filemanager import FileContentsManager
from ..files.handlers import attachment
from . import convert

if TYPE_CHECKING:
    from . import NbconvertApp

#: ``datetime.strftime`` format of the ``modified_date`` templates show (``May 26, 2024``).
DATE_FORMAT = "%B %d, %Y" if sys.platform == "win32" else "%B %-d, %Y"


class NbconvertHandler(ExtensionAPIHandler):
    """What every nbconvert route shares: nbconvert loaded off the loop, its errors as HTTP errors."""

    @property
    def nbconvert_app(self) -> NbconvertApp:
        return self.extension_app  # type: ignore[return-value]  # mounted by NbconvertApp only

    async def prepare(self) -> None:
        await super().prepare()
        if self.request.headers.get("Sec-Fetch-Site") == "cross-site" and self.auth_method == "cookie":
            raise web.HTTPError(403, "Notebooks are not converted for other sites")

    async def formats(self) -> dict[str, str]:
        """The exporters, by name; ``503`` when nbconvert is missing."""
        try:
            return await self.nbconvert_app.export_formats()
        except convert.NbconvertMissing as err:
            raise web.HTTPError(503, str(err)) from err

    async def exporter(self, format: str) -> Any:
        formats = await self.formats()
        if format not in formats:
            raise web.HTTPError(400, f"Unknown format {format!r}: nbconvert exports to {', '.join(sorted(formats))}")
        sanitize = self.get_query_argument("sanitize_html", None)
        return await asyncio.to_thread(
            convert.make_exporter,
            format,
            self.serverapp.config,
            self.log,
            None if sanitize is None else sanitize.lower() == "true",
        )

    async def export(self, format: str, exporter: Any, content: Any, name: str, resources: dict[str, Any]) -> None:
        """Convert in a thread and send the output (or the zip of it and its files)."""
        try:
            output, resources = await asyncio.to_thread(convert.convert, exporter, content, resources)
        except convert.NotebookInvalid as err:
            raise web.HTTPError(400, f"Notebook {name!r} is not valid: {err}") from err
        except Exception as err:
            self.log.exception("nbconvert failed to export %s to %s", name, format)
            raise web.HTTPError(500, f"nbconvert failed to export {name!r} to {format}: {err}") from err
        self.set_header("Content-Security-Policy", "frame-ancestors 'self'; sandbox allow-scripts")
        archive = convert.zip_outputs(name, output, resources)
        if archive is not None:
            self.set_header("Content-Type", "application/zip")
            self.set_header("Content-Disposition", attachment(os.path.splitext(name)[0] + ".zip"))
            self.finish(archive)
            return
        if self.get_query_argument("download", "false").lower() == "true":
            self.set_header("Content-Disposition", attachment(convert.output_name(name, resources)))
        mimetype = exporter.output_mimetype or "text/plain"
        self.set_header("Content-Type", f"{mimetype}; charset=utf-8" if isinstance(output, str) else mimetype)
        self.finish(output)


class ExportFormatsHandler(NbconvertHandler):
    """``GET /api/nbconvert``: the exporters and their MIME types."""

    async def get(self) -> None:
        formats = await self.formats()
        self.finish_json({name: {"output_mimetype": mimetype} for name, mimetype in formats.items()})


class ConvertFileHandler(NbconvertHandler):
    """``GET /nbconvert/<format>/<path>``: a notebook of the contents service, converted."""

    async def get(self, format: str, path: str) -> None:
        exporter = await self.exporter(format)
        try:
            contents = self.serverapp.contents_manager
        except RuntimeError as err:
            raise web.HTTPError(503, f"No contents service to read notebooks from: {err}") from err
        model = await contents.get(path, content=True)
        if model["type"] != "notebook":
            files = url_path_join(self.base_url, "files", quote(model["path"]))
            raise web.HTTPError(400, f"{model['path']!r} is not a notebook, which nbconvert needs (its bytes: {files})")
        name = model["name"]
        if model.get("message"):
            raise web.HTTPError(400, f"Notebook {name!r} is not valid: {model['message']}")
        modified = datetime.fromisoformat(model["last_modified"].replace("Z", "+00:00"))
        self.set_header("Last-Modified", email.utils.format_datetime(modified, usegmt=True))
        metadata = {"name": os.path.splitext(name)[0], "modified_date": modified.strftime(DATE_FORMAT)}
        folder = _folder_on_disk(contents, model["path"])
        if folder is not None:
            metadata["path"] = folder  # where exporters find the files a notebook links to
        await self.export(format, exporter, model["content"], name, {"metadata": metadata})


class ConvertPostHandler(NbconvertHandler):
    """``POST /nbconvert/<format>``: the notebook in the body, converted."""

    async def post(self, format: str) -> None:
        body = self.get_json_object()
        if "content" not in body:
            raise web.HTTPError(400, "Missing field in JSON data: content (the notebook)")
        name = body.get("name", "notebook.ipynb")
        if not isinstance(name, str) or not name:
            raise web.HTTPError(400, "Field 'name' must be a non-empty string (the notebook's file name)")
        exporter = await self.exporter(format)
        await self.export(format, exporter, body["content"], name, {"metadata": {"name": os.path.splitext(name)[0]}})


def _folder_on_disk(contents: Any, path: str) -> str | None:
    """The folder of ``path`` on disk, when the contents live on this disk (the bundled manager)."""
    if not isinstance(contents, FileContentsManager):
        return None
    return os.path.dirname(contents.root.os_path(path))


#: The routes, relative to the service's prefix ``api/nbconvert``.
API_ROUTES: list[tuple[str, type]] = [("", ExportFormatsHandler)]
#: The routes, relative to the service's prefix ``nbconvert``.
CONVERT_ROUTES: list[tuple[str, type]] = [
    (r"/(?P<format>[^/]+)", ConvertPostHandler),
    (r"/(?P<format>[^/]+)/(?P<path>.+)", ConvertFileHandler),
]
