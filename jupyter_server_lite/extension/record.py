"""One extension's record, and the import step that needs no server.

Every extension has exactly one :class:`ExtensionRecord`: its state
(``found``, ``imported``, ``configured``, ``loaded``, ``replaced`` or
``failed``), what it declares, what it mounted and how long each phase
took.  The HTTP API (``GET /api/extensions``), the CLI (``extension list``)
and the dashboard all read it; :mod:`.manager` moves it along.

Without a server, :func:`record_for` runs the ``found -> imported`` steps
for one entry of an :class:`~.plan.ExtensionPlan` -- the step a start takes
first, and all ``jupyter server-lite extension list`` takes -- and
:func:`check_extension` the same for a bare module name, which ``enable``
uses to tell whether a name is an importable, valid extension::

    check_extension(module: str) -> ExtensionRecord
        record.ok        True when it imported and validated
        record.state     "imported" or "failed"
        record.error     why not ("" when ok); record.phase, record.traceback
        record.name      the extension's name (its first app's), or the module
        record.version, record.description, record.requires, record.timings
        record.provides  the services its apps provide; record.prefixes, the
                         URL prefixes they own; record.bundled
        record.missing_assets  why its pages cannot be served (optional assets
                         not installed), "" when they can
        record.to_model() the JSON model of GET /api/extensions
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .. import bundled as _bundled
from .mount import url_prefixes
from .points import ExtensionPoint, points_of, validate_point, version_of

if TYPE_CHECKING:
    from tornado.routing import Rule

    from ..configfiles import EnablerSource
    from .application import ExtensionApp
    from .plan import PlannedExtension

FOUND, IMPORTED, CONFIGURED, LOADED, FAILED = "found", "imported", "configured", "loaded", "failed"
REPLACED = "replaced"


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
    #: The standard services its apps provide (``ExtensionApp.provides``).
    provides: list[str] = dataclasses.field(default_factory=list)
    #: Every URL prefix its apps own, below base_url (for people).
    prefixes: list[str] = dataclasses.field(default_factory=list)
    routes: list[str] = dataclasses.field(default_factory=list)
    #: Seconds spent per phase: import, configure, load.
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    #: How it was found: "config" (enabled by name), "registered" or "starter".
    source: str = "config"
    #: The enabler in force when it says true, ``{"path", "level", "directory"}`` (see :func:`enabler_model`).
    enabled_by: dict[str, str | None] | None = None
    #: Whether its module is one of jupyter_server_lite.bundled.BUNDLED_EXTENSIONS.
    bundled: bool = False
    #: For a bundled extension that stepped aside: service -> the extension now providing it.
    replaced_by: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Why it cannot serve its pages, its optional assets not installed (``ExtensionApp.missing_assets``); not a failure.
    missing_assets: str = ""
    points: list[ExtensionPoint] = dataclasses.field(default_factory=list, repr=False)
    rules: list[Rule] = dataclasses.field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.name = self.name or self.module
        self.bundled = self.bundled or self.module in _bundled.BUNDLED_EXTENSIONS

    @property
    def ok(self) -> bool:
        """Not failed: loaded, on its way, or replaced (stepping aside is no failure)."""
        return self.state != FAILED

    @property
    def apps(self) -> list[ExtensionApp]:
        return [p.app for p in self.points if p.app is not None]

    @property
    def load_time(self) -> float:
        """Seconds from import to loaded (or to the failure)."""
        return sum(self.timings.values())

    @property
    def app_classes(self) -> list[type[ExtensionApp]]:
        return [p.app_class for p in self.points if p.app_class is not None]

    @property
    def landing_url(self) -> str:
        """The first app's landing page below ``base_url``, ``""`` if none."""
        return next((url for app in self.apps if (url := self.landing_of(app))), "")

    def landing_of(self, app: ExtensionApp) -> str:
        """``app``'s landing page, if a route of this record serves its page prefix; else ``""``.

        An extension with no page there (an API-only one) has no landing page,
        whatever its ``extension_url`` says.
        """
        url = app.landing_url
        top = "/" + url.strip("/").split("/", 1)[0]
        if url and any(r.startswith(top) and r[len(top) : len(top) + 1] in ("", "/", "?", "(") for r in self.routes):
            return url
        return ""

    def step_aside(self, replaced_by: dict[str, str]) -> None:
        """A bundled provider makes way: ``replaced_by`` maps each service to its new provider."""
        self.state = REPLACED
        self.replaced_by = dict(replaced_by)

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
            "provides": list(self.provides),
            "prefixes": list(self.prefixes),
            "routes": list(self.routes),
            "url": self.landing_url,
            "source": self.source,
            "enabled_by": self.enabled_by,
            "bundled": self.bundled,
            "replaced_by": dict(self.replaced_by),
            "missing_assets": self.missing_assets,
            "load_time_ms": round(1000 * self.load_time, 3),
            "timings_ms": {k: round(1000 * v, 3) for k, v in self.timings.items()},
        }


# -- import and validation (also used without a server) -----------------------


def enabler_model(source: EnablerSource | None) -> dict[str, str | None] | None:
    """``{"path", "level", "directory"}`` of an enabler: the file, the level's name and its config folder.

    ``level`` is a name (user, sys-prefix, system, JUPYTER_CONFIG_PATH, other,
    --config, bundled, program, command line); ``directory`` is the folder for
    the folder levels, None for the others.
    """
    if source is None:
        return None
    return {"path": source.path, "level": source.level, "directory": source.directory}


def record_for(entry: PlannedExtension) -> ExtensionRecord:
    """The record of a planned extension after ``found -> imported``, without a server.

    An enabled-by-name extension whose own enabler file is unreadable fails
    here (phase ``enable``) without being imported.  Never raises.
    """
    record = ExtensionRecord(module=entry.module, source=entry.source, enabled_by=enabler_model(entry.enabled_by))
    if entry.broken and entry.source == "config":
        record.fail("enable", entry.broken)
    else:
        import_extension(record, obj=entry.obj)
    return record


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
    classes = record.app_classes
    record.provides = list(dict.fromkeys(s for cls in classes for s in cls.provides))
    record.prefixes = list(dict.fromkeys(p for cls in classes for p in url_prefixes(cls)))
    record.missing_assets = next((m for cls in classes if (m := cls.missing_assets())), "")
    record.description = next((p.app_class.description for p in points if p.app_class and p.app_class.description), "")
    record.version = version_of(first.module_obj or sys.modules.get(first.module))
