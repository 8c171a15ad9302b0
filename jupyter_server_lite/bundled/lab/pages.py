"""JupyterLab's pages: ``/lab[/tree/<path>][/workspaces/<name>]`` and ``/doc/...``.

Every such URL is the same page -- JupyterLab's ``index.html`` from the
application's ``static/`` folder, rendered with the page config -- with the
part of the URL after ``/lab`` telling the page what to open:

=====================================  ====================================
``/lab``                               the ``default`` workspace
``/lab/tree/<path>``                   ... with ``<path>`` open
``/lab/workspaces/<name>[/tree/<p>]``  workspace ``<name>`` (and ``<p>``)
``/doc/...``                           the same, single-document mode
=====================================  ====================================

A trailing slash redirects to the URL without it, as jupyterlab_server
does.  Any other path below ``/lab`` is JupyterLab's own "not found" page
(status 404, the page config's ``notFoundUrl`` set), which offers to go to
the launcher.  The APIs below ``/lab/api`` and ``/lab/extensions`` are
longer prefixes and never reach these handlers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from tornado import web

from ...extension.handler import ExtensionAPIHandler, ExtensionHandler
from .pageconfig import base_page_config

if TYPE_CHECKING:
    from . import LabApp

#: The rest of a Lab URL after ``/lab`` or ``/doc``.
_REST = re.compile(r"(?:/workspaces/(?P<workspace>[A-Za-z0-9_-]+))?(?:/tree(?P<tree>/.*)?)?")


class LabPageHandler(ExtensionHandler):
    """``GET /lab...`` (kwarg ``mode``: ``multiple-document``) and ``/doc...`` (``single-document``)."""

    def initialize(self, mode: str = "multiple-document") -> None:
        self.mode = mode

    @property
    def lab(self) -> LabApp:
        return cast("LabApp", self.extension_app)

    def get(self, rest: str | None = None) -> None:
        rest = rest or ""
        if rest.endswith("/") and rest != "/tree/":
            target = self.request.path.rstrip("/")
            self.redirect(target + (f"?{self.request.query}" if self.request.query else ""), permanent=True)
            return
        found = _REST.fullmatch(rest)
        config = self.page_config()
        if found is None:
            config["notFoundUrl"] = self.request.path
            self.set_status(404)
        else:
            config["workspace"] = found["workspace"] or "default"
            config["treePath"] = (found["tree"] or "").lstrip("/")
        self.finish(self.render_lab_page(config))

    def page_config(self) -> dict[str, Any]:
        config = base_page_config(self.lab)
        config.update(mode=self.mode, workspace="default", treePath="", store_id=self.lab.next_store_id())
        return config

    def render_lab_page(self, page_config: dict[str, Any]) -> str:
        """JupyterLab's ``index.html`` with ``page_config``; sets the ``_xsrf`` cookie the page echoes on writes."""
        self.xsrf_token  # noqa: B018 -- reading it sets the cookie @jupyterlab/services sends back
        return self.lab.render_asset_template(
            "index.html", page_config=page_config, base_url=self.base_url, ws_url="", custom_css=False
        )


class LabMissingHandler(ExtensionHandler):
    """Every Lab page when JupyterLab's assets are not installed: how to install them."""

    def get(self, rest: str | None = None) -> None:
        self.finish(
            self.render_template(
                "frontend_missing.html",
                frontend="JupyterLab",
                message=type(self.extension_app).missing_assets(),
                dashboard_url=self.base_url + "dashboard/",
            )
        )


class LabMissingAPIHandler(ExtensionAPIHandler):
    """``/lab/api/...`` without JupyterLab's assets: a JSON 404 saying how to install them."""

    async def prepare(self) -> None:
        await super().prepare()
        raise web.HTTPError(404, type(self.extension_app).missing_assets())
