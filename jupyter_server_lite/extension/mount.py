"""Mounting an extension's routes inside its namespace, and nowhere else.

Every extension owns three URL namespaces below ``base_url``:

=========================  =============================================
``/<name>/...``            pages (handlers subclassing ExtensionHandler)
``/extension/api/<name>/`` APIs (handlers subclassing ExtensionAPIHandler)
``/static/<name>/...``     files from its ``static_paths``
=========================  =============================================

The base class of a handler is the one way to say which namespace a route
belongs to.  Patterns are relative to the namespace (``r"/items/(\\w+)"``).

Staying inside the namespace is a property of the matcher, not a check
that a clever pattern could get past: :class:`NamespaceMatcher` first
compares the request path with the namespace prefix as a plain string and
only then matches the *rest* of the path against the extension's regular
expression.  A pattern such as ``"|/api/kernels"`` or ``")|(/api"`` can
therefore only ever match paths below the prefix.  Patterns that look like
an attempt to leave it anyway (``/..``, ``//host``, ``scheme://``) are
refused with an error, so the author learns early.

Names are checked too: a name must be a plain URL segment, must not be one
of :data:`RESERVED_NAMES` (the core's own top-level paths, present and
planned) nor the first segment of any core route, and must not already be
taken by another extension.  Core routes are registered before extension
routes, so even a mistake here could not shadow the core.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tornado import web
from tornado.httputil import HTTPServerRequest
from tornado.routing import Matcher, Rule

from ..web.handlers import JupyterHandler, url_path_join

if TYPE_CHECKING:
    from .application import ExtensionApp

#: Names no extension may take: the core's top-level paths, and a few the
#: Jupyter ecosystem uses for core services a client could expect here.
RESERVED_NAMES = frozenset(
    {
        "api",
        "static",
        "extension",
        "extensions",
        "login",
        "logout",
        "kernelspecs",
        "kernels",
        "sessions",
        "files",
        "nbconvert",
        "terminals",
        "custom",
        "metrics",
        "jupyter_server_lite",  # the core's static files: /static/jupyter_server_lite/
    }
)

NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_ESCAPE_HINTS = ("/..", "//", "://", "\\.\\.")

API_PREFIX = "extension/api"
STATIC_PREFIX = "static"


class MountError(ValueError):
    """A route, name or static path an extension may not have; the message says why."""


def core_names() -> frozenset[str]:
    """First path segments of every core route, plus :data:`RESERVED_NAMES`."""
    from ..web.application import core_routes

    names = set(RESERVED_NAMES)
    for route in core_routes():
        first = route[0].lstrip("/").split("/", 1)[0]
        literal = re.match(r"[A-Za-z0-9_.-]+", first)
        if literal:
            names.add(literal.group(0))
    return frozenset(name.lower() for name in names)


def check_name(name: Any, reserved: Iterable[str] = RESERVED_NAMES) -> str:
    """Return ``name`` if it can be a namespace; :class:`MountError` saying why not."""
    if not isinstance(name, str) or not name:
        raise MountError("an extension needs a non-empty string 'name' (its URL namespace)")
    if not NAME_PATTERN.fullmatch(name):
        raise MountError(f"extension name {name!r} is not a plain URL segment (letters, digits, '_', '-', '.')")
    if name.lower() in {r.lower() for r in reserved}:
        raise MountError(f"extension name {name!r} is reserved for the core server")
    return name


def route_kind(handler: Any) -> str:
    """``"api"`` or ``"page"`` from the handler's base class; :class:`MountError` otherwise."""
    from .handler import ExtensionAPIHandler, ExtensionHandler

    if isinstance(handler, type) and issubclass(handler, ExtensionAPIHandler):
        return "api"
    if isinstance(handler, type) and issubclass(handler, ExtensionHandler):
        return "page"
    shown = handler.__qualname__ if isinstance(handler, type) else repr(handler)
    raise MountError(f"handler {shown} must subclass ExtensionHandler (a page) or ExtensionAPIHandler (an API)")


def check_pattern(pattern: Any) -> re.Pattern[str]:
    """Compile a namespace-relative pattern, refusing ones that try to leave it."""
    if not isinstance(pattern, str):
        raise MountError(f"route pattern {pattern!r} must be a string")
    for hint in _ESCAPE_HINTS:
        if hint in pattern:
            raise MountError(
                f"route pattern {pattern!r} must stay inside the extension's namespace (contains {hint!r})"
            )
    try:
        return re.compile(normalize_pattern(pattern))
    except re.error as err:
        raise MountError(f"route pattern {pattern!r} is not a valid regular expression: {err}") from err


def normalize_pattern(pattern: str) -> str:
    """A leading ``/`` is implied: ``"items"`` means ``"/items"``.

    ``""`` and ``"/"`` both mean the namespace root, with or without the
    trailing slash (``/<name>`` and ``/<name>/``), the usual landing page.
    """
    if pattern in ("", "/"):
        return "/?"
    if not pattern.startswith(("/", "(", "^")):
        return "/" + pattern
    return pattern


class NamespaceMatcher(Matcher):
    """Matches a path equal to ``prefix`` or below it whose rest fully matches ``regex``.

    The prefix is compared as a string, so no regular expression can reach a
    path outside it.  Groups are URL-unquoted and passed to the handler as
    positional (or, when named, keyword) arguments, as tornado does.
    """

    def __init__(self, prefix: str, regex: re.Pattern[str]) -> None:
        self.prefix = prefix.rstrip("/")
        self.regex = regex

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        path = request.path or ""
        if not path.startswith(self.prefix):
            return None
        rest = path[len(self.prefix) :]
        if rest and not rest.startswith("/"):
            return None  # /myextfoo is not below /myext
        found = self.regex.fullmatch(rest)
        if found is None:
            return None
        if self.regex.groupindex:
            kwargs = {k: _unquote(v) for k, v in found.groupdict().items()}
            return {"path_args": [], "path_kwargs": kwargs}
        return {"path_args": [_unquote(v) for v in found.groups()], "path_kwargs": {}}

    def reverse(self, *args: Any) -> str | None:
        return None


def _unquote(value: str | None) -> str | None:
    from tornado.escape import url_unescape

    return None if value is None else url_unescape(value, encoding=None, plus=False).decode()


def namespace_prefix(base_url: str, kind: str, name: str) -> str:
    """The URL prefix of ``name``'s ``kind`` (``"api"``, ``"page"`` or ``"static"``) namespace."""
    if kind == "api":
        return url_path_join(base_url, API_PREFIX, name)
    if kind == "static":
        return url_path_join(base_url, STATIC_PREFIX, name)
    return url_path_join(base_url, name)


def mount_handlers(app: ExtensionApp, routes: Sequence[Any], base_url: str) -> tuple[list[Rule], list[str]]:
    """Tornado rules for ``app``'s routes and static files, and how each reads for people.

    Every handler receives the extension app (``extension_app``) on top of
    the route's own keyword arguments.  Raises :class:`MountError` for the
    first route that cannot be mounted; nothing is mounted then.
    """
    rules: list[Rule] = []
    shown: list[str] = []
    for route in routes:
        if not isinstance(route, (tuple, list)) or len(route) not in (2, 3):
            raise MountError(f"route {route!r} must be (pattern, handler class) or (pattern, handler class, kwargs)")
        pattern, handler, *rest = route
        kwargs = rest[0] if rest else {}
        if not isinstance(kwargs, dict):
            raise MountError(f"route {pattern!r}: handler kwargs must be a dict, not {type(kwargs).__name__}")
        if "extension_app" in kwargs:
            raise MountError(f"route {pattern!r}: 'extension_app' is set by the server, not by the route")
        regex = check_pattern(pattern)
        kind = route_kind(handler)
        prefix = namespace_prefix(base_url, kind, app.name)
        rules.append(Rule(NamespaceMatcher(prefix, regex), handler, {**kwargs, "extension_app": app}))
        shown.append(namespace_prefix("/", kind, app.name) + normalize_pattern(pattern))
    static_paths = app.resolved_paths(app.static_paths)
    if static_paths:
        for path in static_paths:
            if not os.path.isdir(path):
                raise MountError(f"static path {path} is not a directory")
        prefix = namespace_prefix(base_url, "static", app.name)
        rules.append(
            Rule(NamespaceMatcher(prefix, re.compile(r"/(.*)")), ExtensionStaticHandler, {"roots": static_paths})
        )
        shown.append(namespace_prefix("/", "static", app.name) + "/(.*)")
    return rules, shown


def locate_static(roots: Sequence[str], path: str) -> tuple[str, str] | None:
    """``(root, file)`` for ``path`` in the first of ``roots`` that has it, never outside them."""
    for root in roots:
        root = os.path.abspath(root)
        candidate = os.path.abspath(os.path.join(root, path))
        if candidate.startswith(root + os.sep) and os.path.isfile(candidate):
            return root, candidate
    return None


class ExtensionStaticHandler(JupyterHandler, web.StaticFileHandler):
    """Files from an extension's ``static_paths``, first folder first.

    Public, like the core's own ``/static/``: these are package assets, and a
    public page of the extension must be able to load them.  A path that
    resolves outside every folder (``../``) is refused with 403 by tornado's
    own confinement check; ``?v=<hash>`` (from ``static_url``) makes the
    response cacheable for a long time.
    """

    allow_unauthenticated = True

    def initialize(self, roots: list[str]) -> None:  # type: ignore[override]
        self.roots = roots
        super().initialize(path=roots[0])

    async def get(self, path: str, include_body: bool = True) -> None:
        located = locate_static(self.roots, path)
        if located is not None:
            self.root = located[0]
        await super().get(path, include_body)
