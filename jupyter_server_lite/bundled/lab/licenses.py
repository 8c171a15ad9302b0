"""Third-party licenses (``/lab/api/licenses/``), the extension manager's listings (``/lab/api/listings/``)
and the language servers' status (``/lsp/status``).

Licenses: every bundle's ``third-party-licenses.json`` -- JupyterLab's own
(``static/``, under the application's name) and each prebuilt extension's
(``<extension>/static/``) -- as JupyterLab's *Help > Licenses* shows them.
Query: ``bundles`` (a regular expression on bundle names, default all),
``full_text=true`` (include each license's text), ``format`` (``json``,
``markdown`` or ``csv``), ``download=true`` (as an attachment).  Anything
else is a JSON ``400``.

Listings: the extension manager asks for its allow and block lists; this
server installs no extension from the browser, so both are empty.

Language servers: JupyterLab's LSP client asks ``/lsp/status`` (jupyter-lsp's
API) which language servers the server runs; here none, in that API's shape
(``{"version": 2, "sessions": {}, "specs": {}}``), so JupyterLab falls back
to its kernel-based completion without an error.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from typing import Any

from tornado import web

from ...extension.handler import ExtensionAPIHandler
from .assets import read_json_file

FORMATS = {"json": "application/json", "markdown": "text/markdown", "csv": "text/csv"}
LISTINGS_FILE = "@jupyterlab/extensionmanager-extension/listings.json"


def _packages(path: str) -> list[dict[str, Any]]:
    try:
        packages = read_json_file(path).get("packages", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [p for p in packages if isinstance(p, dict)]


def license_bundles(app: Any, pattern: re.Pattern[str], full_text: bool) -> dict[str, Any]:
    """``{bundle name: {"packages": [...]}}`` for the bundles whose name ``pattern`` matches."""
    sources = [(app.app_info.name, os.path.join(app.app_dir, "static", "third-party-licenses.json"))]
    sources += [
        (e.name, os.path.join(e.path, "static", "third-party-licenses.json")) for e in app.labextensions.all().values()
    ]
    bundles: dict[str, Any] = {}
    for name, path in sources:
        if not pattern.search(name) or not os.path.isfile(path):
            continue
        packages = _packages(path)
        if not full_text:
            packages = [{k: v for k, v in p.items() if k != "extractedText"} for p in packages]
        bundles[name] = {"packages": packages}
    return bundles


def as_markdown(bundles: dict[str, Any]) -> str:
    lines: list[str] = []
    for name, bundle in bundles.items():
        lines += [f"# {name}", ""]
        for package in bundle["packages"]:
            lines += [f"## {package.get('name', '')} (v{package.get('versionInfo', '')})", ""]
            lines += [f"License: {package.get('licenseId', '')}", ""]
            if package.get("extractedText"):
                lines += ["```", str(package["extractedText"]), "```", ""]
    return "\n".join(lines)


def as_csv(bundles: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["bundle", "name", "versionInfo", "licenseId", "extractedText"])
    for name, bundle in bundles.items():
        for p in bundle["packages"]:
            writer.writerow(
                [name, p.get("name", ""), p.get("versionInfo", ""), p.get("licenseId", ""), p.get("extractedText", "")]
            )
    return out.getvalue()


class LicensesHandler(ExtensionAPIHandler):
    """``GET /lab/api/licenses/`` (see the module docstring)."""

    def get(self, rest: str | None = None) -> None:
        if (rest or "").strip("/"):
            raise web.HTTPError(404, "The licenses are at /lab/api/licenses/ (with a query, not a path)")
        fmt = self.get_argument("format", "json")
        if fmt not in FORMATS:
            raise web.HTTPError(400, f"Unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
        try:
            pattern = re.compile(self.get_argument("bundles", ".*"))
        except re.error as err:
            raise web.HTTPError(400, f"The bundles pattern is not a regular expression: {err}") from None
        bundles = license_bundles(self.extension_app, pattern, self.get_argument("full_text", "") == "true")
        if fmt == "json":
            body = json.dumps({"bundles": bundles}, indent=2)
        else:
            body = as_markdown(bundles) if fmt == "markdown" else as_csv(bundles)
        self.set_header("Content-Type", f"{FORMATS[fmt]}; charset=UTF-8")
        if self.get_argument("download", "") in ("1", "true"):
            ext = {"json": "json", "markdown": "md", "csv": "csv"}[fmt]
            self.set_header("Content-Disposition", f'attachment; filename="third-party-licenses.{ext}"')
        self.finish(body)


class ListingsHandler(ExtensionAPIHandler):
    """``GET /lab/api/listings/@jupyterlab/extensionmanager-extension/listings.json``: empty lists."""

    def get(self, path: str) -> None:
        if path.strip("/") != LISTINGS_FILE:
            raise web.HTTPError(404, f"No listing {path!r}: the one listing is {LISTINGS_FILE}")
        empty: list[Any] = []
        self.finish_json(
            {
                "blocked_extensions_uris": empty,
                "allowed_extensions_uris": empty,
                "blocked_extensions": empty,
                "allowed_extensions": empty,
            }
        )


class LanguageServersHandler(ExtensionAPIHandler):
    """``GET /lsp/status``: no language servers (see the module docstring)."""

    def get(self) -> None:
        self.finish_json({"version": 2, "sessions": {}, "specs": {}})
