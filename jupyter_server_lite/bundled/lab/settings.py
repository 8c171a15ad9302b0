"""JupyterLab's settings API: ``/lab/api/settings[/<plugin id>]``.

A plugin's settings have three layers, as with jupyterlab_server:

1. its **schema**, ``<package>/<plugin>.json`` in the application's
   ``schemas/`` folder or in a prebuilt extension's
   ``<extension>/schemas/<package>/``; the schema's defaults are the
   settings nobody changed;
2. **overrides** of those defaults by the administrator:
   ``overrides.json`` (or ``.json5``, and ``overrides.d/*.json``) in the
   application settings folders (``<app_dir>/settings`` and every
   ``jupyter_path("lab", "settings")``), read once, on first use;
3. the **user's settings**, ``<user_settings_dir>/<package>/<plugin>.jupyterlab-settings``,
   JSON5 text kept exactly as the user wrote it (comments included).

``GET`` lists every plugin (``?ids_only=true``: just their ids) or returns
one; ``PUT {"raw": "<json5 text>"}`` checks the text against the plugin's
schema (JSON Schema draft 7, with ``jsonschema``, imported on the first
check) and stores it, answering ``204``.  Reading does not validate: the
browser validates every plugin's settings itself, and what the server
stores went through ``PUT``.  A plugin id is ``<package>:<plugin>``; an id
of any other shape, or one no schema has, is a JSON ``404``.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import tempfile
import threading
from datetime import datetime, timezone
from glob import escape as glob_escape
from glob import glob
from typing import TYPE_CHECKING, Any

from tornado import web
from tornado.ioloop import IOLoop

from ...extension.handler import ExtensionAPIHandler
from .assets import read_json_file
from .jsontext import loads, schema_problem

if TYPE_CHECKING:
    from .assets import LabExtensions

SETTINGS_EXTENSION = ".jupyterlab-settings"

#: ``<package>:<plugin>``, the package an npm name (``@scope/name`` or ``name``).
PLUGIN_ID = re.compile(r"(?P<package>(?:@[A-Za-z0-9_.~-]+/)?[A-Za-z0-9_.~-]+):(?P<plugin>[A-Za-z0-9_.~-]+)")


def parse_plugin_id(plugin_id: str) -> tuple[str, str]:
    """``(package, plugin)`` of an id; ``404`` for an id that is not ``<package>:<plugin>``."""
    found = PLUGIN_ID.fullmatch(plugin_id)
    if found is None or ".." in plugin_id or found["package"].startswith((".", "@.")):
        raise web.HTTPError(404, f"Schema not found: {plugin_id!r} is not a plugin id (<package>:<plugin>)")
    return found["package"], found["plugin"]


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat()


def merge(target: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Merge ``update`` into ``target`` recursively (dicts merged, anything else replaced)."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


class SettingsStore:
    """Schemas, overrides and user settings of one JupyterLab (see the module docstring)."""

    def __init__(
        self,
        schemas_dir: str,
        user_settings_dir: str,
        app_settings_dirs: list[str],
        labextensions: LabExtensions,
        log: logging.Logger,
    ) -> None:
        self.schemas_dir = schemas_dir
        self.user_settings_dir = user_settings_dir
        self.app_settings_dirs = app_settings_dirs
        self.labextensions = labextensions
        self.log = log
        self._overrides: dict[str, Any] | None = None
        self._schemas: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    # -- schemas ---------------------------------------------------------------

    def schema_paths(self) -> dict[str, tuple[str, str]]:
        """Every plugin id -> ``(schema file, folder of its package.json.orig)``; extensions' over the core's."""
        found: dict[str, tuple[str, str]] = {}
        for path in glob(os.path.join(glob_escape(self.schemas_dir), "**", "*.json"), recursive=True):
            relative = os.path.relpath(path, self.schemas_dir).replace(os.sep, "/")
            package, _, name = relative.rpartition("/")
            found[f"{package}:{name[: -len('.json')]}"] = (path, os.path.dirname(path))
        for extension in reversed(list(self.labextensions.all().values())):
            root = os.path.join(extension.path, "schemas")
            pattern = os.path.join(glob_escape(root), "**", "*.json")
            for path in glob(pattern, recursive=True):
                relative = os.path.relpath(path, root).replace(os.sep, "/")
                package, _, name = relative.rpartition("/")
                if package:
                    found[f"{package}:{name[: -len('.json')]}"] = (path, os.path.dirname(path))
        return found

    def _read_schema(self, path: str) -> dict[str, Any]:
        """The schema file, parsed once per change of its mtime."""
        mtime = os.stat(path).st_mtime
        with self._lock:
            cached = self._schemas.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        schema = read_json_file(path)
        if not isinstance(schema, dict):
            raise ValueError("a schema must be a JSON object")
        with self._lock:
            self._schemas[path] = (mtime, schema)
        return schema

    def schema(self, plugin_id: str, paths: dict[str, tuple[str, str]] | None = None) -> tuple[dict[str, Any], str]:
        """``(schema with the overrides applied, package version)``; ``404`` for an unknown plugin."""
        parse_plugin_id(plugin_id)
        paths = self.schema_paths() if paths is None else paths
        if plugin_id not in paths:
            raise web.HTTPError(404, f"Schema not found: no plugin {plugin_id!r}")
        path, folder = paths[plugin_id]
        try:
            schema = copy.deepcopy(self._read_schema(path))
        except (OSError, ValueError) as err:
            raise web.HTTPError(404, f"Schema of {plugin_id!r} cannot be read ({path}): {err}") from None
        override = self.overrides().get(plugin_id)
        if isinstance(override, dict):
            properties = schema.setdefault("properties", {})
            for key, value in override.items():
                prop = properties.setdefault(key, {})
                if isinstance(prop.get("default"), dict) and isinstance(value, dict):
                    merge(prop["default"], value)
                else:
                    prop["default"] = copy.deepcopy(value)
        return schema, _package_version(folder)

    # -- overrides ----------------------------------------------------------------

    def overrides(self) -> dict[str, Any]:
        """Administrator defaults by plugin id, from every application settings folder (read once).

        Lowest priority first: the folders in ``app_settings_dirs`` order from
        last to first, and in each ``overrides.d/*`` (sorted), then
        ``overrides.json``, then ``overrides.json5``.  A file that cannot be
        parsed is skipped with one WARNING naming it and the problem.
        """
        if self._overrides is None:
            overrides: dict[str, Any] = {}
            for folder in reversed(self.app_settings_dirs):
                files = sorted(glob(os.path.join(glob_escape(folder), "overrides.d", "*.json*")))
                files += [os.path.join(folder, "overrides.json"), os.path.join(folder, "overrides.json5")]
                for path in files:
                    if not os.path.isfile(path):
                        continue
                    try:
                        with open(path, encoding="utf-8") as f:
                            data = loads(f.read())
                        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
                            raise ValueError("expected an object of {plugin id: {setting: value}}")
                    except (OSError, ValueError) as err:
                        self.log.warning("Ignoring the JupyterLab settings overrides in %s: %s", path, err)
                        continue
                    for plugin_id, values in data.items():
                        merge(overrides.setdefault(plugin_id, {}), values)
            self._overrides = overrides
        return self._overrides

    # -- user settings ----------------------------------------------------------

    def user_path(self, plugin_id: str) -> str:
        package, plugin = parse_plugin_id(plugin_id)
        return os.path.join(self.user_settings_dir, *package.split("/"), plugin + SETTINGS_EXTENSION)

    def user(self, plugin_id: str) -> dict[str, Any]:
        """``raw`` (as written), ``settings`` (parsed), ``last_modified`` and ``created`` of the user's file.

        An absent file is ``{}`` with null times; one that cannot be parsed
        is ``{}`` too, with a ``warning`` naming the file (and one WARNING
        log line), so one broken file does not break JupyterLab.
        """
        path = self.user_path(plugin_id)
        model: dict[str, Any] = {"raw": "{}", "settings": {}, "last_modified": None, "created": None}
        try:
            stat = os.stat(path)
            with open(path, encoding="utf-8") as f:
                raw = f.read()
        except FileNotFoundError:
            return model
        except OSError as err:
            model["warning"] = f"Cannot read the settings of {plugin_id} ({path}): {err}"
            return model
        model["last_modified"], model["created"] = _iso(stat.st_mtime), _iso(stat.st_ctime)
        if not raw.strip():
            return model
        try:
            settings = loads(raw)
            if not isinstance(settings, dict):
                raise ValueError("settings must be a JSON object")
        except ValueError as err:
            model["warning"] = f"Failed loading the settings of {plugin_id} ({path}): {err}"
            return model
        model["raw"], model["settings"] = raw, settings
        return model

    # -- the API's answers --------------------------------------------------------

    def get(self, plugin_id: str, paths: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
        schema, version = self.schema(plugin_id, paths)
        user = self.user(plugin_id)
        warning = user.pop("warning", None)
        if warning:
            self.log.warning("%s", warning)
        return {"id": plugin_id, "schema": schema, "version": version, **user}

    def list(self, ids_only: bool = False) -> dict[str, Any]:
        """Every plugin, by id in reverse order (as jupyterlab_server sorts them)."""
        paths = self.schema_paths()
        ids = sorted(paths, reverse=True)
        if ids_only:
            return {"settings": [{"id": i} for i in ids]}
        items = []
        for plugin_id in ids:
            try:
                items.append(self.get(plugin_id, paths))
            except web.HTTPError as err:  # one unreadable schema must not hide the others
                self.log.warning("Skipping plugin %s in the settings list: %s", plugin_id, err.log_message)
        return {"settings": items}

    def save(self, plugin_id: str, raw: str) -> None:
        """Check ``raw`` against the plugin's schema and store it as written; ``400`` saying why not."""
        schema, _ = self.schema(plugin_id)
        try:
            settings = loads(raw) if raw.strip() else {}
        except ValueError as err:
            raise web.HTTPError(400, f"Settings of {plugin_id} are not valid JSON5: {err}") from None
        if not isinstance(settings, dict):
            raise web.HTTPError(400, f"Settings of {plugin_id} must be a JSON object, not {type(settings).__name__}")
        problem = schema_problem(schema, settings)
        if problem:
            raise web.HTTPError(400, f"Settings of {plugin_id} do not match its schema: {problem}")
        write_text_atomically(self.user_path(plugin_id), raw)


def _package_version(folder: str) -> str:
    try:
        return str(read_json_file(os.path.join(folder, "package.json.orig"))["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return "N/A"


def write_text_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it: never half a file."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class SettingsHandler(ExtensionAPIHandler):
    """``GET /lab/api/settings[/<id>]`` (``?ids_only=true``) and ``PUT /lab/api/settings/<id>``."""

    @property
    def store(self) -> SettingsStore:
        return self.extension_app.settings_store  # type: ignore[attr-defined]  # LabApp's

    def get(self, plugin_id: str | None = None) -> None:
        plugin_id = (plugin_id or "").strip("/")
        if plugin_id:
            self.finish_json(self.store.get(plugin_id))
        else:
            self.finish_json(self.store.list(ids_only=self.get_argument("ids_only", "") == "true"))

    async def put(self, plugin_id: str | None = None) -> None:
        plugin_id = (plugin_id or "").strip("/")
        if not plugin_id:
            raise web.HTTPError(405, "PUT needs a plugin id: /lab/api/settings/<package>:<plugin>")
        body = self.get_json_object()
        raw = body.get("raw")
        if not isinstance(raw, str):
            raise web.HTTPError(400, 'The body must be {"raw": "<the settings as JSON5 text>"}')
        # In a thread: the first check imports jsonschema (about 0.1 s), which must not stall the loop.
        await IOLoop.current().run_in_executor(None, self.store.save, plugin_id, raw)
        self.set_status(204)
        self.finish()
