"""The plugin manager and isolated hook calls.

pluggy stops a hook call at the first exception; a server must not, so
:meth:`HookRelay.call` runs each implementation on its own, logs a failure
with the name of the extension that raised it, and goes on.

Set ``JSL_TRACE_HOOKS=1`` to log every hook call with its implementations
and results (at INFO level) -- the quickest way to see why a hook did or did
not fire.
"""
from __future__ import annotations

import logging
import os
from typing import Any

import pluggy

from . import hooks


class HookRelay:
    """Owns the pluggy manager of one server."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.pm = pluggy.PluginManager(hooks.PROJECT_NAME)
        self.pm.add_hookspecs(hooks)
        self.trace = os.environ.get("JSL_TRACE_HOOKS", "") not in ("", "0")

    def register(self, plugin: object, name: str) -> None:
        """Register ``plugin`` (any object with ``@hookimpl`` members) as ``name``."""
        self.pm.register(plugin, name=name)

    def add_hookspecs(self, module_or_class: object) -> None:
        """Let an extension declare hooks of its own for others to implement."""
        self.pm.add_hookspecs(module_or_class)

    def call(self, name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of hook ``name``; ``[(plugin name, result)]``.

        Implementations run in pluggy's order (last registered first, then
        ``tryfirst``/``trylast``); one that raises is logged and skipped.
        """
        caller = getattr(self.pm.hook, name)
        results: list[tuple[str, Any]] = []
        for impl in reversed(caller.get_hookimpls()):
            args = {arg: kwargs[arg] for arg in impl.argnames if arg in kwargs}
            try:
                result = impl.function(**args)
            except Exception:
                self.log.exception("Hook %s of extension %r raised; the other implementations still run", name, impl.plugin_name)
                continue
            if self.trace:
                self.log.info("hook %s -> %s returned %r", name, impl.plugin_name, result)
            results.append((impl.plugin_name, result))
        if self.trace and not results:
            self.log.info("hook %s called with %s: no implementation answered", name, sorted(kwargs))
        return results
