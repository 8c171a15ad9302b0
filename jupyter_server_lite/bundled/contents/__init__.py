"""The contents service: ``/api/contents``, files, notebooks and folders below ``root_dir``.

The bundled provider of the ``contents`` service (``provides =
("contents",)``), mounted at the service's standard path, wire-compatible
with Jupyter Server's contents API so JupyterLab's file browser and
``@jupyterlab/services`` work unchanged.  See ``docs/services.md``.

Three layers, each replaceable on its own:

* :class:`~.base.ContentsManager` -- the interface the handlers, ``/files/``
  and sessions talk to (``get``, ``save``, ``new``, ``new_untitled``,
  ``copy``, ``rename``, ``update``, ``delete``, ``exists``...,
  checkpoints, ``file_info``/``read_chunks``, ``add_listener``);
* :class:`~.filemanager.FileContentsManager` -- the folder on disk, the
  default ``ContentsApp.contents_manager_class``;
* :data:`~.handlers.ROUTES` -- the REST handlers, which any provider can
  mount over its own manager.

The active manager, whichever extension provides the service, is
``serverapp.contents_manager``.  This app also ties contents to sessions: a
rename moves the sessions of the renamed document (or of everything in a
renamed folder) to the new path.
"""

from __future__ import annotations

from typing import Any

from traitlets import Type, default

from ...extension.application import ExtensionApp
from ...extension.hooks import hookimpl
from ...extension.mount import Mount
from .base import ContentsManager
from .filemanager import FileContentsManager
from .handlers import ROUTES


class ContentsApp(ExtensionApp):
    """The bundled contents service."""

    name = "contents"
    description = "The contents service: files, notebooks and folders below the root directory (/api/contents)."
    provides = ("contents",)

    contents_manager_class = Type(
        FileContentsManager,
        klass=ContentsManager,
        help="""The contents manager: the folder on disk by default. Another class must
        subclass jupyter_server_lite.bundled.contents.base.ContentsManager.""",
    ).tag(config=True)

    contents_manager: ContentsManager

    @default("extension_url")
    def _default_extension_url(self) -> str:
        return ""  # an API, no landing page

    def initialize_settings(self) -> None:
        self.contents_manager = self.contents_manager_class(parent=self, log=self.log)
        self.contents_manager.add_listener(self._follow_renames)

    def initialize_handlers(self) -> None:
        self.handlers.append(Mount("api/contents", ROUTES))

    def _follow_renames(self, event: dict[str, str]) -> None:
        if event["action"] == "rename" and self.serverapp is not None:
            self.serverapp.session_manager.rename_path(event["source_path"], event["path"])

    @hookimpl
    def server_stopping(self) -> None:
        self.contents_manager.close()


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__, "app": ContentsApp}]


__all__ = ["ContentsApp", "ContentsManager", "FileContentsManager"]
