"""The config-sections service: ``/api/config/<section>``, frontend settings in JSON files.

Provides the standard ``config`` service, which JupyterLab's
``ConfigSection`` and Notebook 7 read and write (``notebook``, ``common``,
``tree``... any plain name).  Sections are stored as
``<jupyter_config_dir()>/serverconfig/<section>.json`` and read merged
across ``jupyter_config_path()`` (:mod:`.manager`).  The extension is called
``serverconfig``, after the folder it keeps; it has no traits of its own.
See ``docs/services.md``.
"""

from __future__ import annotations

from typing import Any

from jupyter_core.paths import jupyter_config_dir, jupyter_config_path

from ...extension.application import ExtensionApp
from ...extension.mount import Mount
from .handlers import ConfigSectionHandler
from .manager import ConfigSectionManager


class ConfigSectionsApp(ExtensionApp):
    """The bundled config-sections service (see the package docstring)."""

    name = "serverconfig"
    description = "Frontend config sections at /api/config/<section>, kept in serverconfig/ JSON files."
    provides = ("config",)

    _sections: ConfigSectionManager | None = None

    @property
    def sections(self) -> ConfigSectionManager:
        """The config sections (built by :meth:`initialize_settings`)."""
        if self._sections is None:
            raise RuntimeError("ConfigSectionsApp.sections does not exist before initialize_settings()")
        return self._sections

    def initialize_settings(self) -> None:
        # The folders as jupyter_core says at start-up ($JUPYTER_CONFIG_DIR and
        # friends), as the server's own config files were found.
        self._sections = ConfigSectionManager(jupyter_config_path(), jupyter_config_dir(), self.log)

    def initialize_handlers(self) -> None:
        # Any rest of the path is a section name, checked by the handler: a bad
        # one gets a precise 400 rather than the catch-all 404.
        self.handlers.append(Mount("api/config", [(r"/?(?P<section>.*)", ConfigSectionHandler)]))


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__, "app": ConfigSectionsApp}]
