"""The extension plan: every extension a start considers, and where each one came from.

The config layer decides *what* to load; the manager (:mod:`.manager`) only
carries it out.  :func:`build_plan` turns the loaded config files
(:class:`~jupyter_server_lite.configfiles.LoadedConfig`), the enablers a
program or the command line gives, and the extensions a program registers
into one :class:`ExtensionPlan`.  A server start builds it in
``ServerApp.initialize``; ``jupyter server-lite extension list`` builds it
from the same files with the same function (:func:`read_plan`), so the two
cannot disagree.

Where an extension came from (:attr:`PlannedExtension.source`):

``starter``
    the extension ``jupyter <name>`` launched (``ExtensionApp.launch_instance``);
``registered``
    handed over by a program (``ServerApp.register_extension``);
``config``
    named in ``jpserver_extensions`` by an enabler at some level.

Which enabler is in force follows one order, highest first::

    command line > program > --config file > the config folders of
    jupyter_config_path() (first wins) > bundled

``program`` is the config a program built the ``ServerApp`` with; the
folders' order is jupyter_core's (``user`` and ``sys-prefix`` swap inside a
virtual environment, see :func:`~jupyter_server_lite.configfiles.env_level_first`);
at one folder, ``false`` beats ``true``.  A registered extension loads
whatever the enablers say; one that is also enabled by name is one entry,
which keeps the enabler that names it.

Nothing here imports an extension: a registered object's module is found
from the object itself (:func:`~.points.declaring_module`).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jupyter_core.paths import jupyter_config_path

from ..configfiles import EnablerSource, EnablerTypo, LoadedConfig, load_config_files, quiet_log, with_switches
from .points import declaring_module

#: The level of enablers in the config a program built the ServerApp with.
PROGRAM_LEVEL = "program"
#: The level of ``--ServerApp.jpserver_extensions=...`` on the command line.
COMMAND_LINE_LEVEL = "command line"

STARTER, REGISTERED, CONFIG = "starter", "registered", "config"


@dataclasses.dataclass(frozen=True)
class Registration:
    """An extension a program hands to the server: an ExtensionApp class or instance, a module, or a module name."""

    obj: Any
    as_starter: bool = False


@dataclasses.dataclass(frozen=True)
class PlannedExtension:
    """One extension of the plan: its module, how it was found, and what the config files say about it."""

    module: str
    #: ``starter``, ``registered`` or ``config`` (see the module docstring).
    source: str = CONFIG
    #: Every enabler naming it, the one in force first.
    enablers: tuple[EnablerSource, ...] = ()
    #: Why its own conf.d file (``<module>.json``) could not be read; ``""`` if it could.
    broken: str = ""
    #: conf.d files that meant to switch it but enable nothing (a near-miss key).
    typos: tuple[EnablerTypo, ...] = ()
    #: For a registered extension, the object handed over (None: import ``module``).
    obj: Any = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def in_force(self) -> EnablerSource | None:
        """The enabler that decides, or None when none names it."""
        return self.enablers[0] if self.enablers else None

    @property
    def enabled(self) -> bool:
        """Whether it is on: registered ones always, the others when the enabler in force says ``true``."""
        if self.source != CONFIG:
            return True
        return bool(self.in_force and self.in_force.enabled)

    @property
    def enabled_by(self) -> EnablerSource | None:
        """The enabler in force if it says ``true``: what ``enabled_by`` shows."""
        source = self.in_force
        return source if source is not None and source.enabled else None

    @property
    def to_load(self) -> bool:
        """Whether a start takes it up: enabled, or its enabler is unreadable (it then fails, phase ``enable``)."""
        return self.enabled or (self.source == CONFIG and bool(self.broken))


@dataclasses.dataclass(frozen=True)
class ExtensionPlan:
    """Every extension a start considers, registered ones first (the starter first of all), then by module."""

    extensions: tuple[PlannedExtension, ...] = ()
    #: ``ServerApp.safe_mode``: the plan is followed by loading nothing.
    safe_mode: bool = False
    #: Every conf.d file that enables nothing because of a near miss.
    typos: tuple[EnablerTypo, ...] = ()

    def get(self, module: str) -> PlannedExtension | None:
        return next((e for e in self.extensions if e.module == module), None)

    @property
    def starter(self) -> PlannedExtension | None:
        return next((e for e in self.extensions if e.source == STARTER), None)

    def to_load(self) -> list[PlannedExtension]:
        """The entries a start takes up, in plan order (see :attr:`PlannedExtension.to_load`)."""
        return [e for e in self.extensions if e.to_load]

    def switches(self) -> dict[str, bool]:
        """``{module: in-force value}`` for every module an enabler names: ``ServerApp.jpserver_extensions``."""
        return {e.module: e.in_force.enabled for e in self.extensions if e.in_force is not None}


def build_plan(
    loaded: LoadedConfig,
    *,
    registered: Iterable[Registration] = (),
    program: Mapping[str, bool] | None = None,
    command_line: Mapping[str, bool] | None = None,
    safe_mode: bool = False,
) -> ExtensionPlan:
    """The plan for ``loaded`` config files, plus a program's and the command line's enablers and registrations.

    ``program`` and ``command_line`` are ``jpserver_extensions`` mappings;
    each becomes a level above every file (see the module docstring).
    """
    enablers: dict[str, list[EnablerSource]] = {name: list(s) for name, s in loaded.provenance.items()}
    for level, given in ((PROGRAM_LEVEL, program), (COMMAND_LINE_LEVEL, command_line)):
        for name, enabled in (given or {}).items():
            enablers[name] = [EnablerSource(bool(enabled), level, level), *enablers.get(name, [])]
    typos: dict[str, list[EnablerTypo]] = {}
    for typo in loaded.enabler_typos:
        for name in typo.modules:
            typos.setdefault(name, []).append(typo)

    def planned(module: str, **kwargs: Any) -> PlannedExtension:
        return PlannedExtension(
            module,
            enablers=tuple(enablers.get(module, ())),
            broken=loaded.broken_enablers.get(module, ""),
            typos=tuple(typos.get(module, ())),
            **kwargs,
        )

    entries: list[PlannedExtension] = []
    for reg in sorted(registered, key=lambda r: not r.as_starter):  # the starter first, then in registration order
        module = registered_module(reg.obj)
        if any(e.module == module for e in entries):
            continue  # registered twice: once is enough
        source = STARTER if reg.as_starter else REGISTERED
        entries.append(planned(module, source=source, obj=None if isinstance(reg.obj, str) else reg.obj))
    taken = {e.module for e in entries}
    names = set(enablers) | set(loaded.broken_enablers) | set(typos)
    entries += [planned(module) for module in sorted(names - taken)]
    return ExtensionPlan(tuple(entries), safe_mode=safe_mode, typos=tuple(loaded.enabler_typos))


def enablers_in(config: Mapping[str, Any]) -> dict[str, bool]:
    """The enablers of a traitlets ``config``: its ``ServerApp.jpserver_extensions``, plus the bundled
    extensions one of jupyter_server's switches (``ServerApp.terminals_enabled``) turns on or off."""
    section = config.get("ServerApp", {}) if "ServerApp" in config else {}
    names = dict(section.get("jpserver_extensions", {}) or {}) if "jpserver_extensions" in section else {}
    return with_switches(names, section)


def read_plan(paths: Sequence[str] | None = None) -> ExtensionPlan:
    """The plan the config files alone make (what ``extension list`` shows), read quietly.

    ``paths`` defaults to ``jupyter_config_path()``, read now.  Raises
    :class:`~jupyter_server_lite.configfiles.ConfigFileError` for a malformed
    main config file, as a server start would.
    """
    return build_plan(load_config_files(jupyter_config_path() if paths is None else paths, log=quiet_log()))


def registered_module(obj: Any) -> str:
    """The module name a registered object stands for.

    A module name is itself; a module, its name.  An ExtensionApp class (or
    instance) stands for the extension module whose
    ``_jupyter_server_extension_points()`` lists it -- ``jsl_hello`` for
    ``jsl_hello.app.HelloApp`` -- so that a starter is found by its module
    (``GET /api/extensions/jsl_hello``) and keeps the enabler naming it; a
    class no extension module lists is ``"<module>:<qualname>"``.
    """
    if isinstance(obj, str):
        return obj
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    cls = obj if isinstance(obj, type) else type(obj)
    return declaring_module(cls) or f"{cls.__module__}:{cls.__qualname__}"


__all__ = [
    "COMMAND_LINE_LEVEL",
    "PROGRAM_LEVEL",
    "ExtensionPlan",
    "PlannedExtension",
    "Registration",
    "build_plan",
    "read_plan",
    "registered_module",
]
