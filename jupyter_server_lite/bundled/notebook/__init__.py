"""Notebook 7, served from the prebuilt ``notebook-frontend`` assets: the ``notebook`` extension.

Pages at jupyter_server + notebook's URLs (:mod:`.pages`): ``/tree[/<path>]``,
``/notebooks/<path>``, ``/edit/<path>``, ``/consoles/<path>``,
``/terminals/<name>`` and ``/custom/custom.css``; the bundle at
``/static/notebook/``.  Its settings, translations and workspaces are
JupyterLab's, served by the ``lab`` extension at ``/lab/api/...`` (Notebook 7
is JupyterLab's components in another shell), so it requires ``lab``.

``/terminals/websocket/...`` lies inside ``/terminals/`` and belongs to the
terminals service (the longest prefix wins), so a terminal page and its
websocket live side by side.

Its assets are optional like Lab's (``pip install "jupyter_server_lite[lab]"``);
without them the pages say how to install them (:meth:`NotebookApp.missing_assets`).
With them, ``/`` goes to ``/tree`` unless JupyterLab, whose
``frontend_priority`` is higher, is there too.
"""

from __future__ import annotations

import importlib.util
import os
from importlib.metadata import PackageNotFoundError, version
from typing import Any, cast

from traitlets import Bool, default

from ...extension.application import ExtensionApp
from ...extension.mount import Mount
from ..lab import LabApp
from ..lab.assets import INSTALL_HINT, find_lab_app_dir
from .pages import CustomCssHandler, NotebookMissingHandler, NotebookPageHandler

FRONTEND_PACKAGE = "notebook_frontend"
_PATH = r"(?P<path>/.*)?"


def frontend_dir() -> str:
    """The folder of the ``notebook_frontend`` package (not imported), ``""`` when it is not installed."""
    spec = importlib.util.find_spec(FRONTEND_PACKAGE)
    if spec is None or not spec.origin:
        return ""
    folder = os.path.dirname(os.path.abspath(spec.origin))
    return folder if os.path.isfile(os.path.join(folder, "templates", "tree.html")) else ""


class NotebookApp(ExtensionApp):
    """The bundled Notebook 7 frontend (see the package docstring)."""

    name = "notebook"
    description = "Notebook 7 from the prebuilt notebook-frontend assets, at /tree, /notebooks, /edit..."
    page_prefixes = ("tree", "notebooks", "edit", "consoles", "terminals", "custom")
    frontend_priority = 10
    requires = ["jupyter_server_lite.bundled.lab"]

    custom_css = Bool(True, help="Link /custom/custom.css (from <jupyter config dir>/custom/) in every page.").tag(
        config=True
    )
    expose_app_in_browser = Bool(
        False, help="Expose the Notebook application object to scripts in the page as window.jupyterapp."
    ).tag(config=True)

    @default("extension_url")
    def _default_extension_url(self) -> str:
        return "" if self.missing_assets() else "/tree"

    @default("static_paths")
    def _default_static_paths(self) -> list[str]:
        folder = frontend_dir()
        return [os.path.join(folder, "static")] if folder else []

    @default("template_paths")
    def _default_template_paths(self) -> list[str]:
        return [os.path.join(os.path.dirname(__file__), "..", "lab", "templates")]

    @classmethod
    def missing_assets(cls) -> str:
        if frontend_dir() and find_lab_app_dir():
            return ""
        return (
            "Notebook 7's assets (notebook-frontend, with jupyterlab-js) are not installed: "
            f"{INSTALL_HINT} brings JupyterLab and Notebook 7; without them, the server's own pages are at /dashboard/."
        )

    _asset_env: Any = None
    _frontend_version: str | None = None

    @property
    def frontend_version(self) -> str:
        """notebook-frontend's version (read from its metadata on the first page)."""
        if self._frontend_version is None:
            try:
                self._frontend_version = version("notebook-frontend")
            except PackageNotFoundError:
                self._frontend_version = ""
        return self._frontend_version

    @property
    def lab_app(self) -> LabApp:
        """The loaded ``lab`` extension, whose page config and APIs Notebook shares."""
        assert self.serverapp is not None
        record = self.serverapp.extension_manager.get("lab")
        app = next((a for a in record.apps if isinstance(a, LabApp)), None) if record is not None else None
        if app is None:
            raise RuntimeError("Notebook 7 needs the lab extension (its settings and translations)")
        return app

    def render_asset_template(self, name: str, **namespace: Any) -> str:
        """Render a notebook_frontend template (ours, which extend theirs, first)."""
        if self._asset_env is None:
            import jinja2  # start-up cost: jinja2, on the first page

            self._asset_env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(
                    [os.path.join(os.path.dirname(__file__), "templates"), os.path.join(frontend_dir(), "templates")]
                ),
                autoescape=jinja2.select_autoescape(["html"]),
            )
        return cast(str, self._asset_env.get_template(name).render(**namespace))

    def initialize_handlers(self) -> None:
        if self.missing_assets():
            self.handlers.extend(Mount(prefix, [(_PATH, NotebookMissingHandler)]) for prefix in self.page_prefixes)
            return
        pages = ("tree", "notebooks", "edit", "consoles", "terminals")
        self.handlers.extend(Mount(page, [(_PATH, NotebookPageHandler, {"page": page})]) for page in pages)
        self.handlers.append(Mount("custom", [(r"/custom\.css", CustomCssHandler)]))


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__, "app": NotebookApp}]
