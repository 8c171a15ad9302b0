"""Extension points: what a module offers the server, resolved and validated.

A module enabled as an extension offers one or more *points*:

* ``_jupyter_server_extension_points()`` -> ``[{"module": ..., "app": MyApp}]``:
  an ExtensionApp subclass per point (or, without ``"app"``, a module with a
  load function);
* ``_load_jupyter_server_extension(serverapp)``: the module is itself one
  plain function point.

A program may also hand over an ExtensionApp class or instance directly.
Validation here is what can be checked without a server -- the app's name,
its ``requires``, ``provides`` and ``page_prefixes``, the routes and Mounts
its class declares -- so that ``extension list`` and ``enable`` catch the
same mistakes the server would.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import types
from collections.abc import Callable
from typing import Any

from .application import ExtensionApp
from .mount import Mount, check_mount, check_name, named_routes, split_route
from .services import check_provides

POINTS_FUNCTION = "_jupyter_server_extension_points"
LOAD_FUNCTION = "_load_jupyter_server_extension"


@dataclasses.dataclass
class ExtensionPoint:
    """One thing an extension module loads: an ExtensionApp, or a load function."""

    module: str
    app_class: type[ExtensionApp] | None = None
    app: ExtensionApp | None = None
    load: Callable[[Any], Any] | None = None
    module_obj: types.ModuleType | None = None

    @property
    def name(self) -> str:
        return self.app_class.name if self.app_class is not None else self.module


def points_of(obj: Any) -> list[ExtensionPoint]:
    if isinstance(obj, ExtensionApp):
        return [
            ExtensionPoint(type(obj).__module__, type(obj), app=obj, module_obj=sys.modules.get(type(obj).__module__))
        ]
    if isinstance(obj, type) and issubclass(obj, ExtensionApp):
        return [ExtensionPoint(obj.__module__, obj, module_obj=sys.modules.get(obj.__module__))]
    if not isinstance(obj, types.ModuleType):
        raise TypeError(f"{obj!r} is not an extension: give an ExtensionApp class or instance, or a module")
    if hasattr(obj, POINTS_FUNCTION):
        declared = getattr(obj, POINTS_FUNCTION)()
        if not isinstance(declared, (list, tuple)) or not declared:
            raise TypeError(f"{obj.__name__}.{POINTS_FUNCTION}() must return a non-empty list of dicts")
        return [point_from_dict(obj, item) for item in declared]
    if hasattr(obj, LOAD_FUNCTION):
        return [ExtensionPoint(obj.__name__, load=getattr(obj, LOAD_FUNCTION), module_obj=obj)]
    raise TypeError(
        f"module {obj.__name__} is not an extension: it has neither {POINTS_FUNCTION}() nor {LOAD_FUNCTION}(serverapp)"
    )


def point_from_dict(module: types.ModuleType, item: Any) -> ExtensionPoint:
    if not isinstance(item, dict) or not isinstance(item.get("module"), str):
        raise TypeError(
            f"{module.__name__}.{POINTS_FUNCTION}(): each point must be a dict with a 'module' string, not {item!r}"
        )
    app = item.get("app")
    if app is not None:
        if not (isinstance(app, type) and issubclass(app, ExtensionApp)):
            raise TypeError(
                f"{module.__name__}.{POINTS_FUNCTION}(): 'app' must be an ExtensionApp subclass, not {app!r}"
            )
        return ExtensionPoint(item["module"], app, module_obj=sys.modules.get(app.__module__))
    target = module if item["module"] == module.__name__ else importlib.import_module(item["module"])
    load = getattr(target, LOAD_FUNCTION, None)
    if not callable(load):
        raise TypeError(f"extension point {item['module']} has no 'app' and no {LOAD_FUNCTION}(serverapp)")
    return ExtensionPoint(item["module"], load=load, module_obj=target)


def validate_point(point: ExtensionPoint) -> None:
    """Check what the app class declares: name, requires, provides, page prefixes, routes and their names."""
    cls = point.app_class
    if cls is None:
        return
    check_name(cls.name)
    owner = cls.__qualname__
    if not isinstance(cls.requires, (list, tuple)) or not all(isinstance(r, str) for r in cls.requires):
        raise TypeError(f"{owner}.requires must be a list of extension names")
    check_provides(cls.provides, owner)
    prefixes = cls.page_prefixes
    if isinstance(prefixes, str) or not isinstance(prefixes, (list, tuple)):
        raise TypeError(f"{owner}.page_prefixes must be a tuple of URL segments, not {prefixes!r}")
    seen = {cls.name.lower()}
    for prefix in prefixes:
        check_name(prefix, "page prefix")
        if prefix.lower() in seen:
            raise TypeError(f"{owner}.page_prefixes: {prefix!r} is named twice (or is the extension's name)")
        seen.add(prefix.lower())
    if not isinstance(cls.frontend_priority, int) or isinstance(cls.frontend_priority, bool):
        raise TypeError(f"{owner}.frontend_priority must be an integer, not {cls.frontend_priority!r}")
    declared = cls.__dict__.get("handlers")
    if isinstance(declared, (list, tuple)):
        for route in declared:
            if isinstance(route, Mount):
                check_mount(cls, route)
                for inner in route.routes:
                    split_route(inner)
            else:
                split_route(route)
        named_routes(cls.name, declared)


def declaring_module(cls: type) -> str | None:
    """The extension module whose only point is ``cls``, looked up from ``cls.__module__`` upwards.

    ``jsl_hello.app.HelloApp`` -> ``"jsl_hello"`` when ``jsl_hello``'s
    ``_jupyter_server_extension_points()`` is ``[{"app": HelloApp, ...}]``.
    Only modules already imported are asked (the class's own are).  None when
    no module lists it, when the one that does lists other points too (the
    class then stands for itself, not for the whole module), or when asking
    fails.
    """
    parts = cls.__module__.split(".")
    for end in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:end]))
        declare = getattr(module, POINTS_FUNCTION, None) if module is not None else None
        if module is None or not callable(declare):
            continue
        try:
            declared = declare()
        except Exception:  # an extension's own bug shows when it loads, with its traceback
            return None
        if isinstance(declared, (list, tuple)) and any(isinstance(p, dict) and p.get("app") is cls for p in declared):
            return module.__name__ if len(declared) == 1 else None
    return None


def version_of(module: types.ModuleType | None) -> str:
    if module is None:
        return ""
    version = getattr(module, "__version__", None)
    if not version:
        top = sys.modules.get(module.__name__.partition(".")[0])
        version = getattr(top, "__version__", None)
    return str(version) if version else ""
