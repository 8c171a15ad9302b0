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
    requirements, and a name, page prefix or service someone else already
    has fail here (phase ``order``, see :mod:`.claims`).
``loaded``
    ``initialize_settings``, ``initialize_templates``,
    ``initialize_handlers``; routes mounted in the prefixes the app owns
    (see :mod:`.mount`); function extensions called; ``@hookimpl`` members
    registered with the server's hooks, in load order.

A bundled extension that provides a service an enabled extension outside
:mod:`jupyter_server_lite.bundled` also provides is ``replaced`` instead:
it steps aside after import, is never configured, and says for whom
(``replaced_by``).  It is not a failure.

An exception at any step fails that extension alone, keeping the exception,
its traceback, the phase and the time spent per phase in the record; an
extension whose requirement failed fails with ``requires X, which failed``.
With ``ServerApp.strict_extensions`` a failure stops the start instead
(:class:`ExtensionError`); with ``ServerApp.safe_mode`` nothing is loaded.

The records and the import step are :mod:`.record`; who gets which name,
prefix or service is :mod:`.claims`.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

from .application import ExtensionApp
from .claims import settle_claims
from .hooks import PROJECT_NAME
from .ordering import load_order
from .points import LOAD_FUNCTION
from .record import CONFIGURED, IMPORTED, LOADED, REPLACED, ExtensionRecord, check_extension, import_extension

if TYPE_CHECKING:
    from tornado.routing import Rule

    from ..serverapp import ServerApp

_IMPL_ATTR = PROJECT_NAME + "_impl"


class ExtensionError(Exception):
    """Extensions failed and the user asked for a strict start; the message lists them."""


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
        settle_claims(records, self.log)
        self.records = load_order(records)
        for record in self.records:
            self._configure(record)
        for record in self.records:
            self._load(record)
        self.records = [r for r in self.records if r.ok] + sorted(
            (r for r in self.records if not r.ok), key=lambda r: r.name
        )
        self._nest_prefixes()
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
        only: set[str] | None = None  # with load_other_extensions False: what the starter needs
        if starter is not None and not starter.apps[0].load_other_extensions:
            self.log.info(
                "%s does not load other extensions (load_other_extensions is False); service providers still load",
                starter.name,
            )
            only = set(self._required_by(starter, names))
            broken = {k: v for k, v in broken.items() if k in only}
        taken = {r.module for r in records}
        for name in sorted(set(names) | set(broken)):
            if name in taken:
                continue
            record = ExtensionRecord(module=name, enabled_by=_enabled_by(app.loaded_config, name))
            if name in broken:
                record.fail("enable", broken[name])
            else:
                import_extension(record)
                if only is not None and name not in only and not (record.ok and record.provides):
                    continue  # the server's services are not "other extensions": whoever provides them loads
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
            if needed is not None and needed.state == REPLACED:
                instead = ", ".join(sorted(set(needed.replaced_by.values())))
                record.fail("load", f"requires {needed.name}, which stepped aside for {instead}")
                return
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

    def _nest_prefixes(self) -> None:
        """The longest-prefix rule, applied once every extension is loaded (see :func:`.mount.exclude_nested`)."""
        from .mount import exclude_nested

        exclude_nested(self.rules(), self.serverapp.base_url)

    def _set_landing_page(self) -> None:
        """Point ``ServerApp.default_url`` (``/`` and the start-up URL) at the best landing page.

        ``default_url`` configured by the user wins; then the starter's landing
        page; then that of the loaded app with the highest ``frontend_priority``
        above 0 (the first in load order on a tie).  With none of these it stays
        ``/``, the core's landing page.
        """
        if "default_url" in self.serverapp.config.get("ServerApp", {}):
            return
        starter = self.starter
        url = starter.landing_url if starter is not None and starter.state == LOADED else ""
        if not url:
            best = 0
            for record in self.records:
                for app in record.apps if record.state == LOADED else ():
                    if app.frontend_priority > best and record.landing_of(app):
                        best, url = app.frontend_priority, record.landing_of(app)
        if url:
            self.serverapp.default_url = url


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
