"""Notebook 7's pages: ``/tree``, ``/notebooks``, ``/edit``, ``/consoles``, ``/terminals``, ``/custom/custom.css``.

Each page is one of notebook_frontend's templates rendered with the page
config Notebook 7 expects: JupyterLab's (same settings, translations and
workspaces APIs below ``/lab/api``, same prebuilt extensions) with
Notebook's name, version and ``fullStaticUrl`` (``/static/notebook``).

What a path names is checked with the contents service first, as Notebook
does, so a wrong URL gets a readable page rather than an empty editor:

* ``/tree/<folder>`` is the file browser; ``/tree/<notebook>`` redirects to
  ``/notebooks/<notebook>``, ``/tree/<other file>`` to ``/files/<file>``;
* ``/notebooks/<folder>`` redirects to ``/tree/<folder>``;
* a path that does not exist (or is hidden) is a 404 page, in each of
  ``/tree``, ``/notebooks`` and ``/edit``.

``/custom/custom.css`` is the user's ``<jupyter config dir>/custom/custom.css``,
empty when there is none (the pages always link it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from jupyter_core.paths import jupyter_config_dir
from tornado import web

from ...extension.handler import ExtensionHandler
from ...web.handlers import url_path_join
from ..lab.pageconfig import base_page_config

if TYPE_CHECKING:
    from . import NotebookApp


class NotebookPageHandler(ExtensionHandler):
    """Base of Notebook's pages: the page config and the template (route kwarg ``page``)."""

    def initialize(self, page: str) -> None:
        self.page = page

    @property
    def notebook(self) -> NotebookApp:
        return cast("NotebookApp", self.extension_app)

    def page_config(self) -> dict[str, Any]:
        app = self.notebook
        config = base_page_config(app.lab_app)
        config.update(
            appName="Jupyter Notebook",
            appNamespace="notebook",
            appVersion=app.frontend_version,
            fullStaticUrl=url_path_join(self.base_url, "static", app.name),
            frontendUrl=url_path_join(self.base_url, "/"),
            exposeAppInBrowser=app.expose_app_in_browser,
            mode="multiple-document",
            treePath="",
            store_id=app.lab_app.next_store_id(),
        )
        return config

    def render_page(self, **extra: Any) -> None:
        config = self.page_config()
        config.update(extra)
        self.xsrf_token  # noqa: B018 -- reading it sets the cookie @jupyterlab/services sends back
        template = "notebook_consoles.html" if self.page == "consoles" else f"{self.page}.html"
        self.finish(
            self.notebook.render_asset_template(
                template, page_config=config, base_url=self.base_url, ws_url="", custom_css=self.notebook.custom_css
            )
        )

    async def model(self, path: str) -> dict[str, Any] | None:
        """The contents model of ``path`` without content; None when there is no contents service.

        A missing or hidden path raises the contents service's 404.
        """
        try:
            manager = self.serverapp.contents_manager
        except RuntimeError:
            return None
        return await manager.get(path, content=False)

    def redirect_to(self, prefix: str, path: str) -> None:
        self.redirect(url_path_join(self.base_url, prefix, quote(path, safe="/")))

    async def get(self, path: str | None = None) -> None:
        path = (path or "").strip("/")
        if self.page in ("tree", "notebooks", "edit"):
            model = await self.model(path)
            kind = model["type"] if model else None
            if self.page == "tree" and kind == "notebook":
                return self.redirect_to("notebooks", path)
            if self.page == "tree" and kind == "file":
                return self.redirect_to("files", path)
            if self.page == "notebooks" and kind == "directory":
                return self.redirect_to("tree", path)
            if self.page == "edit" and kind == "directory":
                return self.redirect_to("tree", path)
        self.render_page(treePath=path) if self.page == "tree" else self.render_page()
        return None


class NotebookMissingHandler(ExtensionHandler):
    """Every Notebook page when its assets are not installed: how to install them."""

    def get(self, path: str | None = None) -> None:
        self.finish(
            self.render_template(
                "frontend_missing.html",
                frontend="Notebook 7",
                message=type(self.extension_app).missing_assets(),
                dashboard_url=self.base_url + "dashboard/",
            )
        )


class CustomCssHandler(ExtensionHandler):
    """``GET /custom/custom.css``: the user's custom CSS, empty when there is none."""

    def get(self) -> None:
        path = os.path.join(jupyter_config_dir(), "custom", "custom.css")
        self.set_header("Content-Type", "text/css; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache")
        try:
            with open(path, "rb") as f:
                self.finish(f.read())
        except FileNotFoundError:
            self.finish(b"")
        except OSError as err:
            raise web.HTTPError(404, f"Cannot read {path}: {err.strerror}") from None
