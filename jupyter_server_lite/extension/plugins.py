"""The plugin manager and isolated hook calls.

pluggy stops a hook call at the first exception; a server must not, so
:meth:`Hooks.call` runs each implementation on its own, logs a failure
with the name of the extension that raised it, and goes on.

Order is the load order of the extensions: implementations run in the order
they were registered (an extension registers when it loads), except that
``@hookimpl(tryfirst=True)`` ones run before and ``trylast=True`` ones after
the rest.  A ``firstresult`` hookspec stops at the first non-``None`` answer.
Hook wrappers are not supported: each implementation is one plain call.

Set ``JSL_TRACE_HOOKS=1`` to log every hook call with its implementations
and results (at INFO level) -- the quickest way to see why a hook did or did
not fire.
"""

from __future__ import annotations

import logging
import os
import types
from typing import Any

import pluggy

from . import hooks


class Hooks:
    """Owns the pluggy manager of one server."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.pm = pluggy.PluginManager(hooks.PROJECT_NAME)
        self.pm.add_hookspecs(hooks)
        self.trace = os.environ.get("JSL_TRACE_HOOKS", "") not in ("", "0")

    def register(self, plugin: object, name: str) -> None:
        """Register ``plugin`` (any object with ``@hookimpl`` members) as ``name``.

        Raises ``ValueError`` for a name already registered or a hook wrapper,
        and pluggy's ``PluginValidationError`` for an implementation whose
        arguments its hookspec does not offer; nothing stays registered then.
        """
        if self.pm.get_plugin(name) is not None:
            raise ValueError(f"a plugin named {name!r} is already registered")
        try:
            self.pm.register(plugin, name=name)
            for caller in self.pm.get_hookcallers(plugin) or []:
                for impl in caller.get_hookimpls():
                    if impl.plugin_name == name and (impl.wrapper or impl.hookwrapper):
                        raise ValueError(f"{name}: hook wrappers are not supported ({caller.name})")
        except Exception:
            self.unregister(name)
            raise

    def unregister(self, name: str) -> None:
        """Remove the plugin registered as ``name`` (no error when there is none)."""
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)

    def add_hookspecs(self, module_or_class: types.ModuleType | type) -> None:
        """Let an extension declare hooks of its own for others to implement."""
        self.pm.add_hookspecs(module_or_class)

    def unknown_hooks(self) -> list[tuple[str, str]]:
        """``(hook, plugin name)`` for implementations of hooks nobody declared (typos, mostly).

        ``@hookimpl(optionalhook=True)`` marks one that may legitimately lack a spec.
        """
        found = []
        for name, caller in sorted(vars(self.pm.hook).items()):
            if isinstance(caller, pluggy.HookCaller) and not caller.has_spec():
                found += [(name, impl.plugin_name) for impl in caller.get_hookimpls() if not impl.optionalhook]
        return found

    def call(self, name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of hook ``name``; ``[(plugin name, result)]``.

        A hook nobody implements (or declares) returns ``[]``; one that
        raises is logged with its extension's name and skipped.
        """
        caller = getattr(self.pm.hook, name, None)
        impls = caller.get_hookimpls() if caller is not None else []
        first_result = bool(caller is not None and caller.spec and caller.spec.opts.get("firstresult"))
        ordered = (
            [i for i in impls if i.tryfirst]
            + [i for i in impls if not (i.tryfirst or i.trylast)]
            + [i for i in impls if i.trylast]
        )
        results: list[tuple[str, Any]] = []
        for impl in ordered:
            args = {arg: kwargs[arg] for arg in impl.argnames if arg in kwargs}
            try:
                result = impl.function(**args)
            except Exception:
                self.log.exception(
                    "Hook %s of extension %r raised; the other implementations still run", name, impl.plugin_name
                )
                continue
            if self.trace:
                self.log.info("hook %s -> %s returned %r", name, impl.plugin_name, result)
            if first_result and result is None:
                continue
            results.append((impl.plugin_name, result))
            if first_result:
                break
        if self.trace and not results:
            self.log.info("hook %s called with %s: no implementation answered", name, sorted(kwargs))
        return results
