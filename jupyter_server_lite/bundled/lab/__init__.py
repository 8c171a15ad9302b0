"""JupyterLab 4, served from the prebuilt ``jupyterlab-js`` assets: the ``lab`` extension.

Pages at ``/lab/...`` and ``/doc/...`` (:mod:`.pages`), the bundle at
``/static/lab/``, and the server side JupyterLab calls:

=================================  ==========================================
``/lab/api/settings``              plugin settings (:mod:`.settings`)
``/lab/api/workspaces``            saved layouts (:mod:`.workspaces`)
``/lab/api/translations``          language packs (:mod:`.translations`)
``/lab/api/themes``                theme files (:mod:`.files`)
``/lab/api/licenses``              third-party licenses (:mod:`.licenses`)
``/lab/api/listings``              the extension manager's (empty) lists
``/lab/extensions``                prebuilt lab extensions (:mod:`.files`)
``/lsp/status``                    no language servers (:mod:`.licenses`)
=================================  ==========================================

The assets are optional (``pip install "jupyter_server_lite[lab]"``) and
found through jupyter_core's data paths (:mod:`.assets`).  Without them the
extension still loads -- nothing failed -- but every Lab page says how to
install them, ``/`` stays the server's own landing page (which says the
same), and ``extension list`` shows ``not installed``: that is what
:meth:`LabApp.missing_assets` is for.

With the assets, ``frontend_priority`` makes ``/lab`` the server's front
page (above Notebook's ``/tree``).  Nothing heavy happens at start-up: the
labextension folders are scanned at the first page, json5 and jsonschema
are imported when a settings text needs them.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from jupyter_core.paths import jupyter_config_dir, jupyter_path
from traitlets import Bool, List, Unicode, default

from ...extension.application import ExtensionApp
from ...extension.mount import Mount
from .assets import (
    INSTALL_HINT,
    LAB_PACKAGE,
    AppInfo,
    LabExtensions,
    find_lab_app_dir,
    labextensions_paths,
    read_app_info,
)
from .files import AssetFilesHandler, extension_locator, themes_locator
from .licenses import LanguageServersHandler, LicensesHandler, ListingsHandler
from .pages import LabMissingAPIHandler, LabMissingHandler, LabPageHandler
from .settings import SettingsHandler, SettingsStore
from .translations import TranslationsHandler
from .workspaces import WorkspacesHandler, WorkspacesStore

#: A route's optional rest of the path, handed to the handler as ``rest``.
_REST = r"(?P<rest>/.*)?"


class LabApp(ExtensionApp):
    """The bundled JupyterLab frontend (see the package docstring)."""

    name = "lab"
    description = "JupyterLab 4 from the prebuilt jupyterlab-js assets, with its settings, workspaces and translations."
    page_prefixes = ("doc", "lsp")
    frontend_priority = 20  # above Notebook's: / goes to /lab when both are there

    user_settings_dir = Unicode(
        help="""Where the user's JupyterLab settings are kept (one JSON5 file per plugin).
        Default: $JUPYTERLAB_SETTINGS_DIR, else <jupyter config dir>/lab/user-settings,
        as with JupyterLab.""",
    ).tag(config=True)

    @default("user_settings_dir")
    def _default_user_settings_dir(self) -> str:
        return os.environ.get("JUPYTERLAB_SETTINGS_DIR") or os.path.join(jupyter_config_dir(), "lab", "user-settings")

    workspaces_dir = Unicode(
        help="""Where JupyterLab's workspaces (saved layouts) are kept. Default:
        $JUPYTERLAB_WORKSPACES_DIR, else <jupyter config dir>/lab/workspaces, as with JupyterLab.""",
    ).tag(config=True)

    @default("workspaces_dir")
    def _default_workspaces_dir(self) -> str:
        return os.environ.get("JUPYTERLAB_WORKSPACES_DIR") or os.path.join(jupyter_config_dir(), "lab", "workspaces")

    extra_labextensions_path = List(
        Unicode(),
        help="Folders searched for prebuilt lab extensions before the labextensions folder of every Jupyter data path.",
    ).tag(config=True)
    expose_app_in_browser = Bool(
        False, help="Expose the JupyterLab application object to scripts in the page as window.jupyterapp."
    ).tag(config=True)
    notebook_starts_kernel = Bool(True, help="Whether opening a notebook starts its kernel.").tag(config=True)
    disabled_extensions = List(
        Unicode(),
        [
            "@jupyterlab/extensionmanager-extension",  # installs extensions with pip/npm: not from this server
            "@jupyterlab/apputils-extension:announcements",  # the news feed (/lab/api/news): not served
        ],
        help="""Lab plugins (or whole extensions) the page does not load, on top of those disabled in
        labconfig/page_config.json files. By default the extension manager and the news feed,
        which this server does not serve.""",
    ).tag(config=True)

    @default("extension_url")
    def _default_extension_url(self) -> str:
        return "" if self.missing_assets() else "/lab"

    @default("static_paths")
    def _default_static_paths(self) -> list[str]:
        return [os.path.join(self.app_dir, "static")] if self.app_dir else []

    @default("template_paths")
    def _default_template_paths(self) -> list[str]:
        return ["templates"]

    @classmethod
    def missing_assets(cls) -> str:
        if find_lab_app_dir():
            return ""
        return (
            f"JupyterLab's assets ({LAB_PACKAGE}) are not installed: {INSTALL_HINT} "
            "brings JupyterLab and Notebook 7; without them, the server's own pages are at /dashboard/."
        )

    # -- what the handlers use --------------------------------------------------

    app_dir: str = ""
    app_info: AppInfo = AppInfo()
    labextensions: LabExtensions
    settings_store: SettingsStore
    workspaces_store: WorkspacesStore
    _store_ids: Any = None
    _asset_env: Any = None

    def next_store_id(self) -> int:
        """A number per page rendered (JupyterLab's ``store_id``)."""
        return next(self._store_ids)

    def render_asset_template(self, name: str, **namespace: Any) -> str:
        """Render a jinja2 template of the JupyterLab build (its ``static/index.html``)."""
        if self._asset_env is None:
            import jinja2  # start-up cost: jinja2, on the first page

            self._asset_env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(os.path.join(self.app_dir, "static")),
                autoescape=jinja2.select_autoescape(["html"]),
            )
        return str(self._asset_env.get_template(name).render(**namespace))

    # -- the override points -------------------------------------------------------

    def initialize_settings(self) -> None:
        self.app_dir = find_lab_app_dir()
        self._store_ids = itertools.count()
        self.labextensions = LabExtensions(labextensions_paths(self.extra_labextensions_path), self.log)
        if not self.app_dir:
            return
        self.app_info = read_app_info(self.app_dir, self.log)
        app_settings = [os.path.join(self.app_dir, "settings")]
        app_settings += [p for p in jupyter_path("lab", "settings") if p not in app_settings]
        self.settings_store = SettingsStore(
            os.path.join(self.app_dir, "schemas"), self.user_settings_dir, app_settings, self.labextensions, self.log
        )
        self.workspaces_store = WorkspacesStore(self.workspaces_dir, self.log)

    def initialize_handlers(self) -> None:
        if not self.app_dir:
            self.handlers.extend(
                [
                    Mount("lab/api", [(_REST, LabMissingAPIHandler)]),
                    (_REST, LabMissingHandler),
                    Mount("doc", [(_REST, LabMissingHandler)]),
                ]
            )
            return
        self.handlers.extend(
            [
                (_REST, LabPageHandler),
                Mount("doc", [(_REST, LabPageHandler, {"mode": "single-document"})]),
                Mount("lab/api/settings", [(r"(?P<plugin_id>/.*)?", SettingsHandler)]),
                Mount("lab/api/workspaces", [(r"(?P<name>/.*)?", WorkspacesHandler)]),
                Mount("lab/api/translations", [(r"(?P<code>/.*)?", TranslationsHandler)]),
                Mount("lab/api/themes", [(r"/(.*)", AssetFilesHandler, {"locate": themes_locator(self)})]),
                Mount("lab/api/licenses", [(_REST, LicensesHandler)]),
                Mount("lab/api/listings", [(r"/(.*)", ListingsHandler)]),
                Mount("lab/extensions", [(r"/(.*)", AssetFilesHandler, {"locate": extension_locator(self)})]),
                Mount("lsp", [(r"/status", LanguageServersHandler)]),
            ]
        )


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__, "app": LabApp}]
