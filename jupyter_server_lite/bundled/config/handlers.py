"""``/api/config/<section>``: read (``GET``), replace (``PUT``) and update (``PATCH``) a config section.

As jupyter_server serves it: ``GET`` and ``PATCH`` answer the merged
section, ``PUT`` answers 204.  A name that is not a plain file name
(empty, ``..``, ``a/b``, a leading dot) and a body that is not a JSON object
are JSON 400s; a section whose own file is broken cannot be updated (409)
but can be replaced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from tornado import web

from ...extension.handler import ExtensionAPIHandler
from .manager import SectionError, SectionFileError, check_section_name

if TYPE_CHECKING:
    from . import ConfigSectionsApp
    from .manager import ConfigSectionManager


class ConfigSectionHandler(ExtensionAPIHandler):
    """One config section (see the module docstring)."""

    @property
    def sections(self) -> ConfigSectionManager:
        return cast("ConfigSectionsApp", self.extension_app).sections

    def section_name(self, name: str) -> str:
        try:
            return check_section_name(name)
        except SectionError as err:
            raise web.HTTPError(400, str(err)) from None

    def body(self) -> dict[str, Any]:
        body = self.get_json_body()
        if not isinstance(body, dict):
            shown = "an empty body" if body is None else type(body).__name__
            raise web.HTTPError(400, f"A config section must be a JSON object, not {shown}")
        return body

    def get(self, section: str) -> None:
        self.finish_json(self.sections.get(self.section_name(section)))

    def put(self, section: str) -> None:
        name, data = self.section_name(section), self.body()
        try:
            self.sections.set(name, data)
        except SectionError as err:
            raise web.HTTPError(400, str(err)) from None
        self.set_status(204)
        self.finish()

    def patch(self, section: str) -> None:
        name, changes = self.section_name(section), self.body()
        try:
            self.finish_json(self.sections.update(name, changes))
        except SectionError as err:
            raise web.HTTPError(400, str(err)) from None
        except SectionFileError as err:
            raise web.HTTPError(409, str(err)) from None
