"""Which route answered a request: the ``handler`` label of the request metrics.

A request is labelled by the *pattern* of the route that served it, never by
its path: paths are unbounded (every kernel id, every file name), and each
distinct label value is a series the server keeps in memory for good.  The
label is the pattern as the route table holds it, below ``base_url`` --
``/api/kernels/(?P<kernel_id>[^/]+)/?``, ``/api/contents(?P<path>/.*)?`` --
the same text ``GET /api/extensions`` shows as an extension's ``routes``.

Tornado does not tell a handler which rule matched it, so the table is read
once (:class:`RouteLabels`, built from the application's rules) and a
handler class served by one rule is looked up directly; for a class that
several rules serve (the core's static files, every extension's static
folder, the two API 404 catch-alls) the few rules of that class are matched
again against the request.  A handler outside the table -- tornado's default
handler, the HTML 404 for a path no route matches -- is labelled by its
class, as jupyter_server labels every request.
"""

from __future__ import annotations

import re
from typing import Any

from tornado import web
from tornado.routing import Matcher, PathMatches


def class_label(cls: type) -> str:
    """``module.Class``: jupyter_server's label, for a handler outside the route table."""
    return f"{cls.__module__}.{cls.__qualname__}"


def rule_label(matcher: Matcher, base_url: str) -> str | None:
    """A rule's pattern below ``base_url`` (the tornado ``$`` dropped); ``None`` for a matcher with no pattern."""
    # cycle: metrics.routes <-> extension.mount (through web.application)
    from ..extension.mount import NamespaceMatcher

    if isinstance(matcher, NamespaceMatcher):  # an extension's route: its prefix holds base_url, as mounted
        return matcher.prefix[len(base_url) - 1 :] + matcher.regex.pattern
    if isinstance(matcher, PathMatches):
        pattern = matcher.regex.pattern.removesuffix("$")
        escaped = re.escape(base_url)
        return "/" + pattern[len(escaped) :] if pattern.startswith(escaped) else pattern
    return None


def _leaf_rules(router: Any) -> list[Any]:
    """Every rule whose target is a handler class, nested routers opened."""
    out = []
    for rule in router.rules:
        if hasattr(rule.target, "rules"):
            out += _leaf_rules(rule.target)
        elif isinstance(rule.target, type):
            out.append(rule)
    return out


class RouteLabels:
    """The ``handler`` label of each request to one tornado application (see the module docstring)."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        base_url = app.settings.get("base_url", "/")
        by_class: dict[type, list[tuple[Matcher, str]]] = {}
        for rule in _leaf_rules(app.wildcard_router):
            label = rule_label(rule.matcher, base_url) or class_label(rule.target)
            by_class.setdefault(rule.target, []).append((rule.matcher, label))
        #: Handler classes one rule serves: their label.
        self._single = {cls: rules[0][1] for cls, rules in by_class.items() if len(rules) == 1}
        #: Handler classes several rules serve: (matcher, label) of each, in routing order.
        self._several = {cls: rules for cls, rules in by_class.items() if len(rules) > 1}

    def label(self, handler: web.RequestHandler) -> str:
        cls = type(handler)
        label = self._single.get(cls)
        if label is not None:
            return label
        for matcher, label in self._several.get(cls, ()):
            if matcher.match(handler.request) is not None:
                return label
        return class_label(cls)
