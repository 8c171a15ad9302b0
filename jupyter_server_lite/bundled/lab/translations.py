"""JupyterLab's translations API: ``/lab/api/translations[/<locale>]``.

Language packs are Python packages advertising a locale through the entry
point group ``jupyterlab.languagepack`` (``jupyterlab-language-pack-fr-FR``
names ``fr_FR``); a package's own strings come through ``jupyterlab.locale``.
Both are read when the browser asks, not at start-up.

* ``GET /lab/api/translations`` -> ``{"data": {locale: {"displayName",
  "nativeName"}}, "message": ""}``: English (always there) and every
  installed pack.
* ``GET /lab/api/translations/<locale>`` -> ``{"data": {domain: strings},
  "message": ""}``; ``default`` is the server's locale.  A real locale with
  no pack installed answers ``200`` with empty data and a message saying
  so, as jupyterlab_server does (JupyterLab then shows English).
* A locale that is not one (not in the C library's table of locale names,
  ``locale.locale_alias``) is a JSON ``400``.

Display names: jupyterlab_server asks babel; without it, a pack's locale
code is its name (``fr_FR``).
"""

from __future__ import annotations

import importlib.util
import json
import locale as _locale
import os
from importlib.metadata import entry_points
from typing import Any

from tornado import web
from tornado.ioloop import IOLoop

from ...extension.handler import ExtensionAPIHandler

LANGUAGE_PACK_GROUP = "jupyterlab.languagepack"
PACKAGE_LOCALE_GROUP = "jupyterlab.locale"
DEFAULT_LOCALE = "en"
#: JupyterLab's pseudo-language, used to check that a UI string is translatable.
PSEUDO_LANGUAGE = "ach_UG"


def server_locale() -> str:
    """The locale of the server process (``default``), ``en`` when it has none."""
    return _locale.getlocale()[0] or DEFAULT_LOCALE


def is_locale(code: str) -> bool:
    """Whether ``code`` names a locale (``en``, ``fr_FR``, ``pt_BR``...): a key of ``locale.locale_alias``."""
    return code == PSEUDO_LANGUAGE or code.replace("-", "_").lower() in _locale.locale_alias


def _entry_point_dirs(group: str) -> dict[str, str]:
    """Name -> package folder of each entry point of ``group`` (the module is imported to find it)."""
    found: dict[str, str] = {}
    for point in entry_points(group=group):
        spec = importlib.util.find_spec(point.value.split(":", 1)[0])
        if spec is not None and spec.origin:
            found[point.name] = os.path.dirname(spec.origin)
    return found


def language_packs() -> dict[str, Any]:
    """The listing: English and each installed pack."""
    data: dict[str, Any] = {DEFAULT_LOCALE: {"displayName": "English", "nativeName": "English"}}
    for code in sorted(_entry_point_dirs(LANGUAGE_PACK_GROUP)):
        if is_locale(code):
            data[code] = {"displayName": code, "nativeName": code}
    return {"data": data, "message": ""}


def language_pack(code: str) -> dict[str, Any]:
    """The strings of locale ``code`` by domain, from its pack and the packages' own locale files."""
    data: dict[str, Any] = {}
    pack = _entry_point_dirs(LANGUAGE_PACK_GROUP).get(code)
    if pack is not None:
        for folder, _dirs, files in os.walk(pack):
            for name in sorted(files):
                if name.endswith(".json"):
                    with open(os.path.join(folder, name), encoding="utf-8") as f:
                        data[name[: -len(".json")]] = json.load(f)
    for package, root in _entry_point_dirs(PACKAGE_LOCALE_GROUP).items():
        path = os.path.join(root, "locale", code, "LC_MESSAGES", f"{package}.json")
        if package not in data and os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                data[package] = json.load(f)
    if not data:
        return {"data": {}, "message": f"Language pack '{code}' not installed!"}
    return {"data": data, "message": ""}


class TranslationsHandler(ExtensionAPIHandler):
    """``GET /lab/api/translations[/<locale>]`` (see the module docstring)."""

    async def get(self, code: str | None = None) -> None:
        code = (code or "").strip("/")
        loop = IOLoop.current()
        if not code:
            self.finish_json(await loop.run_in_executor(None, language_packs))
            return
        if code == "default":
            code = server_locale()
        if not is_locale(code):
            raise web.HTTPError(400, f"Unknown locale {code!r}: expected a locale such as 'en' or 'fr_FR'")
        try:
            model = await loop.run_in_executor(None, language_pack, code)
        except (OSError, ValueError) as err:
            raise web.HTTPError(400, f"The language pack of {code!r} cannot be read: {err}") from None
        self.finish_json(model)
