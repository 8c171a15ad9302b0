"""From an extension plan to mounted extensions, one isolated step at a time.

The manager carries out an :class:`~.plan.ExtensionPlan` -- what to load,
decided by the config layer -- and is handed only what that takes: the
server's hooks, ``base_url``, strict mode, a log, and the server object,
which it never reads but passes to the extensions (``configure(serverapp)``,
``_load_jupyter_server_extension(serverapp)``).  :meth:`ExtensionManager.load_all`
returns an :class:`ExtensionLoad`: the records, the tornado rules and
settings, and the landing page it suggests, from which the server decides
its ``default_url``.

Each extension is one :class:`ExtensionRecord`, which moves through

    found -> imported -> configured -> loaded        (or ``failed``)

``found``
    an entry of the plan: enabled by name (an enabler in force says true),
    or registered on the server by a program (the starter first).  Only
    enabled names are read: entry points are never scanned on the start
    path.  A malformed conf.d enabler fails its extension here (phase
    ``enable``).
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
In strict mode (``ServerApp.strict_extensions``) a failure stops the start
instead (:class:`ExtensionError`); with the plan's ``safe_mode``
(``ServerApp.safe_mode``) nothing is loaded.
One INFO line sums the start up (``Extensions: 3 loaded (a, b, c), 1 failed
(d)``), after one ERROR line per failure.

The records and the import step are :mod:`.record`; who gets which name,
prefix or service is :mod:`.claims`.
"""

from __future__ import annotations

import dataclasses
import logging
import types
from typing import TYPE_CHECKING, Any

from .application import ExtensionApp
from .claims import settle_claims
from .hooks import PROJECT_NAME
from .mount import exclude_nested, mount_handlers
from .ordering import load_order
from .plan import CONFIG, STARTER
from .points import LOAD_FUNCTION
from .record import CONFIGURED, IMPORTED, LOADED, REPLACED, ExtensionRecord, check_extension, record_for

if TYPE_CHECKING:
    from tornado.routing import Rule

    from .plan import ExtensionPlan
    from .plugins import Hooks

_IMPL_ATTR = PROJECT_NAME + "_impl"


class ExtensionError(Exception):
    """Extensions failed and the user asked for a strict start; the message lists them."""


@dataclasses.dataclass(frozen=True)
class ExtensionLoad:
    """What :meth:`ExtensionManager.load_all` hands back to the server."""

    #: Every extension, in load order (failed ones last): what /api/extensions lists.
    records: list[ExtensionRecord]
    #: The tornado rules of every loaded extension, in load order.
    rules: list[Rule]
    #: ``{"extension_settings": {name: settings}}``: one key per loaded app.
    tornado_settings: dict[str, Any]
    #: The landing page it suggests for ``ServerApp.default_url`` (below base_url); ``""`` for none.
    landing_page: str


# -- the manager ----------------------------------------------------------------


class ExtensionManager:
    """Carries out one :class:`~.plan.ExtensionPlan`: imports, configures and loads its extensions.

    ``serverapp`` is only handed to the extensions; the manager reads nothing
    from it.  ``hooks`` gets the extensions' hookspecs and implementations;
    ``base_url`` prefixes every route; with ``strict`` a failure raises
    :class:`ExtensionError` once every extension has had its turn.
    """

    def __init__(
        self,
        plan: ExtensionPlan,
        *,
        serverapp: Any,
        hooks: Hooks,
        base_url: str,
        log: logging.Logger,
        strict: bool = False,
    ) -> None:
        self.plan = plan
        self.hooks = hooks
        self.base_url = base_url
        self.log = log
        self.strict = strict
        self._serverapp = serverapp
        #: Every extension, in load order (failed ones last), once :meth:`load_all` ran.
        self.records: list[ExtensionRecord] = []

    # -- queries ------------------------------------------------------------------

    def get(self, name: str) -> ExtensionRecord | None:
        """The record of the extension called ``name`` or enabled as module ``name``."""
        return next((r for r in self.records if name in (r.name, r.module)), None)

    @property
    def starter(self) -> ExtensionRecord | None:
        return next((r for r in self.records if r.source == STARTER), None)

    def provided(self, service: str, attribute: str, *, configured: bool = False) -> Any:
        """``attribute`` of the app that provides ``service`` (its contract: ``contents_manager``...).

        Only a loaded provider counts, or with ``configured`` one that is at
        least configured (an object others may use while they load).
        ``RuntimeError`` naming the service when there is none.
        """
        states = (CONFIGURED, LOADED) if configured else (LOADED,)
        for record in self.records:
            if record.state in states and service in record.provides:
                for app in record.apps:
                    if service in type(app).provides:
                        return getattr(app, attribute)
        raise RuntimeError(f"no {service} service: no loaded extension provides {service!r} (see docs/services.md)")

    def links(self) -> list[tuple[str, str]]:
        """``(name, landing page below base_url)`` of loaded extensions that have one."""
        return [(r.name, r.landing_url) for r in self.records if r.state == LOADED and r.landing_url]

    # -- the lifecycle --------------------------------------------------------------

    def load_all(self) -> ExtensionLoad:
        """Run every planned extension through its lifecycle; raise only in strict mode."""
        if self.plan.safe_mode:
            planned = self.plan.to_load()
            enabled = sum(e.source == CONFIG and e.enabled for e in planned)
            registered = sum(e.source != CONFIG for e in planned)
            self.log.info("Safe mode: no extension loaded (%d enabled, %d registered)", enabled, registered)
            return ExtensionLoad([], [], {"extension_settings": {}}, "")
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
        rules = [rule for r in self.records if r.state == LOADED for rule in r.rules]
        self._nest_prefixes(rules)
        for hook, plugin in self.hooks.unknown_hooks():
            self.log.warning("Extension %r implements hook %r, which no loaded extension declares", plugin, hook)
        for record in self.records:
            if not record.ok:
                self.log.error("Extension %s failed (%s): %s", record.name, record.phase, record.error)
                if record.traceback:
                    self.log.debug("Extension %s failed here:\n%s", record.name, record.traceback)
        self.log.info("%s", self.summary())
        failed = [r for r in self.records if not r.ok]
        if failed and self.strict:
            lines = "\n".join(f"  {r.name} ({r.phase}): {r.error}" for r in failed)
            raise ExtensionError(f"{len(failed)} extension(s) failed and ServerApp.strict_extensions is set:\n{lines}")
        settings = {app.name: app.settings for r in self.records if r.state == LOADED for app in r.apps}
        return ExtensionLoad(list(self.records), rules, {"extension_settings": settings}, self._landing_page())

    def summary(self) -> str:
        """The start-up line: ``Extensions: 2 loaded (a, b), 1 failed (c), 1 replaced (d, for e)``, by name."""
        loaded = [r.name for r in self.records if r.state == LOADED]
        failed = [r.name for r in self.records if not r.ok]
        replaced = [
            f"{r.name}, for {', '.join(sorted(set(r.replaced_by.values())))}"
            for r in self.records
            if r.state == REPLACED
        ]
        parts = [f"{len(loaded)} loaded" + (f" ({', '.join(loaded)})" if loaded else "")]
        parts += [f"{len(failed)} failed ({', '.join(failed)})"] if failed else []
        parts += [f"{len(replaced)} replaced ({'; '.join(replaced)})"] if replaced else []
        return "Extensions: " + ", ".join(parts)

    def _found(self) -> list[ExtensionRecord]:
        """Records of the plan's registered extensions (starter first), then of its enabled names, imported."""
        records: list[ExtensionRecord] = []
        owners: dict[type, ExtensionRecord] = {}
        planned = self.plan.to_load()
        for entry in (e for e in planned if e.source != CONFIG):
            record = record_for(entry)
            if record.ok and self._already_there(record, owners):
                continue
            records.append(record)
            if entry.source == STARTER and record.ok:
                self._configure(record)
        starter = next((r for r in records if r.source == STARTER and r.ok), None)
        by_name = [e for e in planned if e.source == CONFIG]
        only: set[str] | None = None  # with load_other_extensions False: what the starter needs
        if starter is not None and not starter.apps[0].load_other_extensions:
            self.log.info(
                "%s does not load other extensions (load_other_extensions is False); service providers still load",
                starter.name,
            )
            only = set(self._required_by(starter, [e.module for e in by_name if e.enabled]))
        for entry in by_name:
            if only is not None and entry.broken and entry.module not in only:
                continue
            record = record_for(entry)
            if only is not None and entry.module not in only and not (record.ok and record.provides):
                continue  # the server's services are not "other extensions": whoever provides them loads
            if record.ok and self._already_there(record, owners):
                continue
            records.append(record)
        return records

    @staticmethod
    def _already_there(record: ExtensionRecord, owners: dict[type, ExtensionRecord]) -> bool:
        """Whether every app of ``record`` is already another record's (registered, and enabled by name too).

        That record then is this extension: it takes the enabler naming it.
        """
        classes = {p.app_class for p in record.points if p.app_class is not None}
        if classes and len(classes) == len(record.points) and classes <= set(owners):
            owner = owners[next(iter(classes))]
            owner.enabled_by = owner.enabled_by or record.enabled_by
            return True
        for cls in classes:
            owners.setdefault(cls, record)
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
                        point.app.configure(self._serverapp)
                        specs = point.app_class.hookspecs
                    else:
                        point.app.serverapp = self._serverapp
                        specs = point.app_class.hookspecs
                    if specs is not None:
                        self.hooks.add_hookspecs(specs)
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
                rules: list[Rule] = []
                routes: list[str] = []
                for point in record.points:
                    app = point.app
                    if app is None:
                        step = LOAD_FUNCTION
                        point.load(self._serverapp)  # type: ignore[misc]  # a function point has load
                        continue
                    for step in ("initialize_settings", "initialize_templates", "initialize_handlers"):
                        getattr(app, step)()
                    step = "mounting routes"
                    mounted = mount_handlers(app, app.handlers, self.base_url)
                    app._route_urls = types.MappingProxyType(mounted.urls)
                    rules += mounted.rules
                    routes += mounted.routes
                step = "registering hooks"
                self._register_hooks(record)
            except (Exception, SystemExit) as err:  # an extension must not end the server
                record.fail("load", err)
                record.error = f"{step}: {record.error}"
                return
        record.rules, record.routes = rules, routes
        record.state = LOADED

    def _register_hooks(self, record: ExtensionRecord) -> None:
        registered: list[str] = []
        try:
            for point in record.points:
                plugin = hook_plugin(point.app) if point.app is not None else point.module_obj
                if plugin is None:
                    continue
                name = point.name
                self.hooks.register(plugin, name)
                registered.append(name)
        except Exception:
            for name in registered:
                self.hooks.unregister(name)
            raise

    def _nest_prefixes(self, rules: list[Rule]) -> None:
        """The longest-prefix rule, applied once every extension is loaded (see :func:`.mount.exclude_nested`)."""
        exclude_nested(rules, self.base_url)

    def _landing_page(self) -> str:
        """The landing page to suggest for ``ServerApp.default_url`` (``/`` and the start-up URL).

        The starter's landing page; else that of the loaded app with the
        highest ``frontend_priority`` above 0 (the first in load order on a
        tie); else ``""``.  The server decides: a ``default_url`` the user
        configured wins over any suggestion.
        """
        starter = self.starter
        url = starter.landing_url if starter is not None and starter.state == LOADED else ""
        if not url:
            best = 0
            for record in self.records:
                for app in record.apps if record.state == LOADED else ():
                    if app.frontend_priority > best and record.landing_of(app):
                        best, url = app.frontend_priority, record.landing_of(app)
        return url


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
