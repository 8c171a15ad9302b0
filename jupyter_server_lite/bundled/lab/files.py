"""Files JupyterLab loads besides its bundle: prebuilt lab extensions and themes.

* ``/lab/extensions/<name>/...``: the files of the prebuilt extension
  ``<name>`` (``@scope/name`` too), from the labextensions folder that has
  it first (:class:`~.assets.LabExtensions`); its ``package.json`` says
  which remote entry the page loads.
* ``/lab/api/themes/<package>/...``: theme CSS and images, from the
  ``themes/`` folders of prebuilt extensions first, then the application's
  own ``themes/``.

Public, like ``/static/lab/``: these are package assets, needed by the page
before anything else.  A path that resolves outside its folder is tornado's
403, a missing file a 404.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from tornado import web

from ...extension.handler import ExtensionHandler
from ...extension.mount import locate_static

#: Finds ``(root, file)`` for a request path, or None.
Locator = Callable[[str], "tuple[str, str] | None"]


class AssetFilesHandler(ExtensionHandler, web.StaticFileHandler):
    """Static files found by a locator function (route kwarg ``locate``)."""

    allow_unauthenticated = True

    def initialize(self, locate: Locator) -> None:  # type: ignore[override]  # route kwargs of this handler, not StaticFileHandler's
        self.locate = locate
        super().initialize(path=os.sep)

    async def get(self, path: str, include_body: bool = True) -> None:
        found = self.locate(path)
        if found is None:
            raise web.HTTPError(404, f"No file {path!r} here")
        self.root = found[0]
        await super().get(path, include_body)


def extension_locator(app: object) -> Locator:
    """Locate ``<name>/<file>`` in the folder of prebuilt extension ``<name>`` (``@scope/name`` too)."""

    def locate(path: str) -> tuple[str, str] | None:
        parts = path.split("/")
        name = "/".join(parts[:2]) if path.startswith("@") else parts[0]
        extension = app.labextensions.all().get(name)  # type: ignore[attr-defined]  # LabApp's
        if extension is None:
            return None
        return locate_static([extension.root], path)

    return locate


def themes_locator(app: object) -> Locator:
    """Locate a theme file in prebuilt extensions' ``themes/`` folders, then the application's."""

    def locate(path: str) -> tuple[str, str] | None:
        roots = [os.path.join(e.path, "themes") for e in app.labextensions.all().values()]  # type: ignore[attr-defined]  # LabApp's
        roots.append(os.path.join(app.app_dir, "themes"))  # type: ignore[attr-defined]  # LabApp's
        return locate_static([r for r in roots if os.path.isdir(r)], path)

    return locate
