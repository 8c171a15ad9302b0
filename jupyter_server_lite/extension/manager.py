"""From enabled names to mounted extensions, one isolated step at a time.

Each extension is one :class:`ExtensionRecord`, which moves through

    found -> imported -> configured -> loaded        (or ``failed``)

``found``
    named in ``ServerApp.jpserver_extensions`` (true), or registered on the
    server by a program (:meth:`ExtensionManager.register`).  Only enabled
    names are read: entry points are never scanned on the start path.  A
    malformed conf.d enabler fails its extension here (phase ``enable``).
``imported``
    its module imported and its extension points resolved and validated:
    ``_jupyter_server_extension_points()`` -> ``[{"module", "app"}]``
    (ExtensionApp classes) or ``_load_jupyter_server_extension(serverapp)``
    (a plain function extension).
``configured``
    in dependency order (``ExtensionApp.requires``, then by name): each app
    instantiated and configured; its ``hookspecs`` added.  Cycles, unknown
    requirements and duplicate names fail here (phase ``order``).
``loaded``
    ``initialize_settings``, ``initialize_templates``,
    ``initialize_handlers``; routes mounted in the namespace (see
    :mod:`.mount`); function extensions called; ``@hookimpl`` members
    registered with the server's hooks, in load order.

An exception at any step fails that extension alone, keeping the exception,
its traceback, the phase and the time spent per phase in the record; an
extension whose requirement failed fails with ``requires X, which failed``.
With ``ServerApp.strict_extensions`` a failure stops the start instead
(:class:`ExtensionError`); with ``ServerApp.safe_mode`` nothing is loaded.

Without a server, :func:`check_extension` runs the ``found -> imported``
steps for one module name -- what ``jupyter server-lite extension list``
and ``enable`` use to tell whether a name is an importable, valid
extension::

    check_extension(module: str) -> ExtensionRecord
        record.ok        True when it imported and validated
        record.state     "imported" or "failed"
        record.error     why not ("" when ok); record.phase, record.traceback
        record.name      the extension's name (its first app's), or the module
        record.version, record.description, record.requires, record.timings
        record.to_model() the JSON model of GET /api/extensions
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import time
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .application import ExtensionApp
from .hooks import PROJECT_NAME
from .ordering import load_order
from .points import LOAD_FUNCTION, ExtensionPoint, points_of, validate_point, version_of

if TYPE_CHECKING:
    from tornado.routing import Rule

    from ..serverapp import ServerApp

FOUND, IMPORTED, CONFIGURED, LOADED, FAILED = "found", "imported", "configured", "loaded", "failed"
_IMPL_ATTR = PROJECT_NAME + "_impl"


class ExtensionError(Exception):
    """Extensions failed and the user asked for a strict start; the message lists them."""


@dataclasses.dataclass
class ExtensionRecord:
    """The state of one extension: what the HTTP API and the CLI show."""

    module: str
    name: str = ""
    state: str = FOUND
    #: Where a failure happened: enable, import, order, configure or load.
    phase: str = ""
    error: str = ""
    traceback: str = ""
    version: str = ""
    description: str = ""
    requires: list[str] = dataclasses.field(default_factory=list)
    routes: list[str] = dataclasses.field(default_factory=list)
    #: Seconds spent per phase: import, configure, load.
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    #: How it was found: "config" (enabled by name), "registered" or "starter".
    source: str = "config"
    #: For "config": the file whose setting is in force, ``{"path", "level"}``.
    enabled_by: dict[str, str] | None = None
    points: list[ExtensionPoint] = dataclasses.field(default_factory=list, repr=False)
    rules: list[Rule] = dataclasses.field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.name = self.name or self.module

    @property
    def ok(self) -> bool:
        return self.state != FAILED

    @property
    def apps(self) -> list[ExtensionApp]:
        return [p.app for p in self.points if p.app is not None]

    @property
    def load_time(self) -> float:
        """Seconds from import to loaded (or to the failure)."""
        return sum(self.timings.values())

    @property
    def landing_url(self) -> str:
        """The first app's landing page below ``base_url``, ``""`` if none."""
        for app in self.apps:
            if app.landing_url and any(r.startswith(app.page_url.rstrip("/")) for r in self.routes):
                return app.landing_url
        return ""

    def fail(self, phase: str, error: BaseException | str) -> None:
        """Mark failed in ``phase``; an exception keeps its traceback."""
        self.state = FAILED
        self.phase = phase
        if isinstance(error, BaseException):
            self.error = f"{type(error).__name__}: {error}"
            self.traceback = "".join(traceback.format_exception(error))
        else:
            self.error = error

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[phase] = self.timings.get(phase, 0.0) + time.perf_counter() - start

    def to_model(self) -> dict[str, Any]:
        """The JSON model (times in milliseconds)."""
        return {
            "name": self.name,
            "module": self.module,
            "version": self.version,
            "description": self.description,
            "state": self.state,
            "phase": self.phase,
            "error": self.error,
            "traceback": self.traceback,
            "requires": list(self.requires),
            "routes": list(self.routes),
            "url": self.landing_url,
            "source": self.source,
            "enabled_by": self.enabled_by,
            "load_time_ms": round(1000 * self.load_time, 3),
            "timings_ms": {k: round(1000 * v, 3) for k, v in self.timings.items()},
        }


# -- import and validation (also used without a server) -----------------------


def check_extension(module: str) -> ExtensionRecord:
    """Import ``module`` and validate its extension points, without a server.

    Never raises for a bad extension: the returned record says what is wrong
    (``record.ok`` is False, ``record.error`` the reason).
    """
    record = ExtensionRecord(module=module)
    import_extension(record)
    return record


def import_extension(record: ExtensionRecord, obj: Any = None) -> None:
    """Import ``record.module`` (or take ``obj``), resolve and validate its points."""
    with record.timed("import"):
        try:
            points = points_of(obj if obj is not None else importlib.import_module(record.module))
            record.name = points[0].name if isinstance(points[0].name, str) and points[0].name else record.module
            for point in points:
                validate_point(point)
        except (Exception, SystemExit) as err:  # an extension must not end the server
            record.fail("import", err)
            return
    record.points = points
    record.state = IMPORTED
    first = points[0]
    record.requires = sorted({req for p in points if p.app_class for req in p.app_class.requires})
    record.description = next((p.app_class.description for p in points if p.app_class and p.app_class.description), "")
    record.version = version_of(first.module_obj or sys.modules.get(first.module))


# -- the manager ----------------------------------------------------------------


class ExtensionManager:
    """Finds, imports, configures and loads the extensions of one server."""

    def __init__(self, serverapp: ServerApp) -> None:
        self.serverapp = serverapp
        self.log = serverapp.log
        #: Every extension, in load order (failed ones last): what /api/extensions lists.
        self.records: list[ExtensionRecord] = []
        self._registered: list[tuple[Any, bool]] = []
        self._loaded = False

    def register(self, obj: Any, as_starter: bool = False) -> None:
        """Add an extension directly: an ExtensionApp class or instance, a module, or a module name.

        Registered extensions load with the enabled ones, without any conf.d
        file; must be called before the server initializes.
        """
        if self._loaded:
            raise RuntimeError("register extensions before ServerApp.initialize()")
        self._registered.append((obj, as_starter))

    # -- queries ------------------------------------------------------------------

    def get(self, name: str) -> ExtensionRecord | None:
        """The record of the extension called ``name`` or enabled as module ``name``."""
        return next((r for r in self.records if name in (r.name, r.module)), None)

    @property
    def starter(self) -> ExtensionRecord | None:
        return next((r for r in self.records if r.source == "starter"), None)

    def rules(self) -> list[Rule]:
        """The tornado rules of every loaded extension, in load order."""
        return [rule for r in self.records if r.state == LOADED for rule in r.rules]

    def tornado_settings(self) -> dict[str, Any]:
        """``{"extension_settings": {name: settings}}``: one key per loaded app."""
        return {
            "extension_settings": {app.name: app.settings for r in self.records if r.state == LOADED for app in r.apps}
        }

    def links(self) -> list[tuple[str, str]]:
        """``(name, landing page below base_url)`` of loaded extensions that have one."""
        return [(r.name, r.landing_url) for r in self.records if r.state == LOADED and r.landing_url]

    # -- the lifecycle --------------------------------------------------------------

    def load_all(self) -> None:
        """Run every extension through its lifecycle; raise only in strict mode."""
        self._loaded = True
        app = self.serverapp
        if app.safe_mode:
            enabled = sorted(n for n, on in app.jpserver_extensions.items() if on)
            self.log.info(
                "Safe mode: no extension loaded (%d enabled, %d registered)", len(enabled), len(self._registered)
            )
            return
        records = self._found()
        self._check_names(records)
        self.records = load_order(records)
        for record in self.records:
            self._configure(record)
        for record in self.records:
            self._load(record)
        self.records = [r for r in self.records if r.ok] + sorted(
            (r for r in self.records if not r.ok), key=lambda r: r.name
        )
        self._set_landing_page()
        for hook, plugin in app.hooks.unknown_hooks():
            self.log.warning("Extension %r implements hook %r, which no loaded extension declares", plugin, hook)
        for record in self.records:
            if not record.ok:
                self.log.error("Extension %s failed (%s): %s", record.name, record.phase, record.error)
                if record.traceback:
                    self.log.debug("Extension %s failed here:\n%s", record.name, record.traceback)
        failed = [r for r in self.records if not r.ok]
        if failed and app.strict_extensions:
            lines = "\n".join(f"  {r.name} ({r.phase}): {r.error}" for r in failed)
            raise ExtensionError(f"{len(failed)} extension(s) failed and ServerApp.strict_extensions is set:\n{lines}")

    def _found(self) -> list[ExtensionRecord]:
        """Records of registered extensions (starter first), then enabled names, imported."""
        app = self.serverapp
        records: list[ExtensionRecord] = []
        seen_classes: set[type] = set()
        for obj, as_starter in sorted(self._registered, key=lambda item: not item[1]):
            record = ExtensionRecord(module=_module_name(obj), source="starter" if as_starter else "registered")
            import_extension(record, obj=None if isinstance(obj, str) else obj)
            if record.ok and self._already_there(record, seen_classes):
                continue
            records.append(record)
            if as_starter and record.ok:
                self._configure(record)
        starter = next((r for r in records if r.source == "starter" and r.ok), None)
        names = sorted(n for n, on in app.jpserver_extensions.items() if on)
        broken = dict(getattr(app.loaded_config, "broken_enablers", {}) or {})
        if starter is not None and not starter.apps[0].load_other_extensions:
            self.log.info("%s does not load other extensions (load_other_extensions is False)", starter.name)
            names = self._required_by(starter, names)
            broken = {k: v for k, v in broken.items() if k in names}
        taken = {r.module for r in records}
        for name in sorted(set(names) | set(broken)):
            if name in taken:
                continue
            record = ExtensionRecord(module=name, enabled_by=_enabled_by(app.loaded_config, name))
            if name in broken:
                record.fail("enable", broken[name])
            else:
                import_extension(record)
                if record.ok and self._already_there(record, seen_classes):
                    continue
            records.append(record)
        return records

    @staticmethod
    def _already_there(record: ExtensionRecord, seen: set[type]) -> bool:
        """Whether every app of ``record`` is already provided (registered and enabled)."""
        classes = {p.app_class for p in record.points if p.app_class is not None}
        if classes and len(classes) == len(record.points) and classes <= seen:
            return True
        seen.update(classes)
        return False

    @staticmethod
    def _required_by(starter: ExtensionRecord, enabled: list[str]) -> list[str]:
        """The enabled names the starter needs, directly or through them."""
        wanted, queue = set(), list(starter.requires)
        while queue:
            name = queue.pop()
            if name in wanted or name not in enabled:
                continue
            wanted.add(name)
            record = check_extension(name)
            queue.extend(record.requires)
        return sorted(wanted)

    def _check_names(self, records: list[ExtensionRecord]) -> None:
        """Refuse a second extension with a name already taken, naming both."""
        owners: dict[str, ExtensionRecord] = {}
        for record in records:
            if not record.ok:
                continue
            for point in record.points:
                key = point.name.lower()
                other = owners.get(key)
                if other is not None and other is not record:
                    record.fail(
                        "order",
                        f"extension name {point.name!r} (module {record.module}) is already taken by module {other.module}",
                    )
                    break
                owners[key] = record

    def _configure(self, record: ExtensionRecord) -> None:
        if record.state != IMPORTED:
            return
        with record.timed("configure"):
            try:
                for point in record.points:
                    if point.app_class is None:
                        specs = getattr(point.module_obj, "hookspecs", None)
                    elif point.app is None:
                        point.app = point.app_class(log=self.log.getChild(point.app_class.name))
                        point.app.configure(self.serverapp)
                        specs = point.app_class.hookspecs
                    else:
                        point.app.serverapp = self.serverapp
                        specs = point.app_class.hookspecs
                    if specs is not None:
                        self.serverapp.hooks.add_hookspecs(specs)
            except (Exception, SystemExit) as err:  # an extension must not end the server
                record.fail("configure", err)
                return
        record.state = CONFIGURED

    def _load(self, record: ExtensionRecord) -> None:
        if record.state != CONFIGURED:
            return
        for req in record.requires:
            needed = self.get(req)
            if needed is not None and needed.state != LOADED:
                record.fail("load", f"requires {needed.name}, which failed")
                return
        with record.timed("load"):
            step = "load"
            try:
                from .mount import mount_handlers

                rules: list[Rule] = []
                routes: list[str] = []
                for point in record.points:
                    app = point.app
                    if app is None:
                        step = LOAD_FUNCTION
                        point.load(self.serverapp)  # type: ignore[misc]
                        continue
                    for step in ("initialize_settings", "initialize_templates", "initialize_handlers"):
                        getattr(app, step)()
                    step = "mounting routes"
                    more_rules, shown = mount_handlers(app, app.handlers, self.serverapp.base_url)
                    rules += more_rules
                    routes += shown
                step = "registering hooks"
                self._register_hooks(record)
            except (Exception, SystemExit) as err:  # an extension must not end the server
                record.fail("load", err)
                record.error = f"{step}: {record.error}"
                return
        record.rules, record.routes = rules, routes
        record.state = LOADED

    def _register_hooks(self, record: ExtensionRecord) -> None:
        hooks = self.serverapp.hooks
        registered: list[str] = []
        try:
            for point in record.points:
                plugin = hook_plugin(point.app) if point.app is not None else point.module_obj
                if plugin is None:
                    continue
                name = point.name
                hooks.register(plugin, name)
                registered.append(name)
        except Exception:
            for name in registered:
                hooks.unregister(name)
            raise

    def _set_landing_page(self) -> None:
        """With a starter, the server's start-up URL is its landing page unless configured."""
        starter = self.starter
        if starter is None or starter.state != LOADED or not starter.landing_url:
            return
        if "default_url" not in self.serverapp.config.get("ServerApp", {}):
            self.serverapp.default_url = starter.landing_url


def hook_plugin(app: ExtensionApp) -> types.SimpleNamespace | None:
    """The ``@hookimpl`` methods of ``app``, bound, as a plain object for pluggy.

    pluggy looks at every attribute of a plugin; an application's properties
    would compute config paths and more, so only the marked methods (first
    definition along the class's MRO) are handed over.
    """
    found: dict[str, Any] = {}
    seen: set[str] = set()
    for klass in type(app).__mro__:
        for attr, value in vars(klass).items():
            if attr in seen:
                continue
            seen.add(attr)
            func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            if callable(func) and hasattr(func, _IMPL_ATTR):
                found[attr] = getattr(app, attr)
    return types.SimpleNamespace(**found) if found else None


def _enabled_by(loaded_config: Any, name: str) -> dict[str, str] | None:
    sources = getattr(loaded_config, "provenance", {}).get(name)
    return {"path": sources[0].path, "level": sources[0].level} if sources else None


def _module_name(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"
