"""Mounting an extension's routes inside the prefixes it owns, and nowhere else.

Every extension owns three URL namespaces below ``base_url``:

=========================  =============================================
``/<name>/...``            pages (handlers subclassing ExtensionHandler)
``/extension/api/<name>/`` APIs (handlers subclassing ExtensionAPIHandler)
``/static/<name>/...``     files from its ``static_paths``
=========================  =============================================

A bare route ``(pattern, Handler[, kwargs[, name]])`` goes to the first or
the second by its handler's base class; a ``name`` lets the extension build
the route's URL (``url_for``, see :mod:`.urls`).  An extension may own more: the
top-level *page prefixes* it declares (``page_prefixes = ("tree",)``) and
the paths of the standard services it *provides* (``provides =
("contents",)``, see :mod:`.services`).  :class:`Mount` is the one way to put
routes there -- or below its own name, for JSON APIs such as
``/lab/api/settings``: ``Mount("api/contents", [(pattern, Handler)])``.
Inside a Mount the handler's base class still decides how it behaves (HTML
or JSON errors, login redirect or 403), not where it is.  Patterns are
relative to the namespace or the Mount's prefix (``r"/items/(\\w+)"``).

Staying inside the prefix is a property of the matcher, not a check that a
clever pattern could get past: :class:`NamespaceMatcher` first compares the
request path with the prefix as a plain string and only then matches the
*rest* of the path against the extension's regular expression.  A pattern
such as ``"|/api/kernels"`` or ``")|(/api"`` can therefore only ever match
paths below the prefix.  Patterns that look like an attempt to leave it
anyway (``/..``, ``//host``, ``scheme://``) are refused with an error, so
the author learns early.

**Nested prefixes.** ``/terminals/websocket/`` (the terminals service) lies
inside ``/terminals/`` (Notebook's page prefix).  The rule: a path belongs
to the longest prefix that contains it, among every prefix something is
mounted at and every service path (provided or not).  Once every extension
is loaded, each matcher is told the prefixes strictly below its own
(:func:`exclude_nested`) and never answers there, whatever the load order.

Names are checked too: a name or page prefix must be a plain URL segment,
must not be one of :data:`RESERVED_NAMES` (the core's own top-level paths,
present and planned) nor the first segment of any core route, nor a
single-segment service path (``files``, ``nbconvert``: provide the service
instead).  Which extension gets a name, prefix or service when two want it
is :mod:`.claims`.  Core routes are registered before extension routes, so
even a mistake here could not shadow the core.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from tornado import web
from tornado.escape import url_unescape
from tornado.httputil import HTTPServerRequest
from tornado.routing import Matcher, Rule

from ..web.application import core_routes
from ..web.handlers import JupyterHandler, url_path_join
from .handler import ExtensionAPIHandler, ExtensionHandler
from .services import SERVICES, service_at, service_paths, top_level_services
from .urls import RouteURL, route_urls

if TYPE_CHECKING:
    from .application import ExtensionApp

#: Top-level names no extension may take as its name or a page prefix: the
#: core's paths (present and planned), and the two tornado serves at the root.
RESERVED_NAMES = frozenset(
    {
        "api",
        "static",
        "extension",
        "extensions",
        "login",
        "logout",
        "oauth_callback",  # JupyterHub mode's OAuth callback (auth/hub.py)
        "kernelspecs",
        "kernels",
        "sessions",
        "metrics",
        "jupyter_server_lite",  # the core's static files: /static/jupyter_server_lite/
        "favicon.ico",
        "robots.txt",
    }
)

NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_ESCAPE_HINTS = ("/..", "//", "://", "\\.\\.")

API_PREFIX = "extension/api"
STATIC_PREFIX = "static"


class MountError(ValueError):
    """A route, name, prefix or static path an extension may not have; the message says why."""


def core_names() -> frozenset[str]:
    """First path segments of every core route, plus :data:`RESERVED_NAMES`."""
    names = set(RESERVED_NAMES)
    for route in core_routes():
        first = route[0].lstrip("/").split("/", 1)[0]
        literal = re.match(r"[A-Za-z0-9_.-]+", first)
        if literal:
            names.add(literal.group(0))
    return frozenset(name.lower() for name in names)


def check_name(name: Any, what: str = "extension name") -> str:
    """Return ``name`` if it can be a top-level prefix; :class:`MountError` saying why not.

    ``what`` (``"extension name"``, ``"page prefix"``) starts the message.
    Reserved names are compared without case.
    """
    if not isinstance(name, str) or not name:
        raise MountError(f"an extension needs a non-empty string as its {what} (a URL segment), not {name!r}")
    if not NAME_PATTERN.fullmatch(name):
        raise MountError(f"{what} {name!r} is not a plain URL segment (letters, digits, '_', '-', '.')")
    if name.lower() in RESERVED_NAMES:
        raise MountError(f"{what} {name!r} is reserved for the core server")
    service = top_level_services().get(name.lower())
    if service is not None:
        raise MountError(
            f"{what} {name!r} is the path of the {service} service: provide the service instead (provides = ({service!r},))"
        )
    return name


def route_kind(handler: Any) -> str:
    """``"api"`` or ``"page"`` from the handler's base class; :class:`MountError` otherwise."""
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


def split_route(route: Any) -> tuple[str, type, dict[str, Any], str | None]:
    """``(pattern, handler, kwargs, name)`` of a route tuple, checked; :class:`MountError` otherwise."""
    if not isinstance(route, (tuple, list)) or len(route) not in (2, 3, 4):
        raise MountError(
            f"route {route!r} must be (pattern, handler class), (pattern, handler class, kwargs) "
            "or (pattern, handler class, kwargs, name)"
        )
    pattern, handler, *rest = route
    kwargs = rest[0] if rest else {}
    name = rest[1] if len(rest) > 1 else None
    if not isinstance(kwargs, dict):
        raise MountError(f"route {pattern!r}: handler kwargs must be a dict, not {type(kwargs).__name__}")
    if name is not None and (not isinstance(name, str) or not name):
        raise MountError(f"route {pattern!r}: its name must be a non-empty string, not {name!r}")
    if "extension_app" in kwargs:
        raise MountError(f"route {pattern!r}: 'extension_app' is set by the server, not by the route")
    check_pattern(pattern)
    route_kind(handler)
    return pattern, handler, kwargs, name


def named_routes(owner: str, routes: Sequence[Any], base_url: str = "/") -> dict[str, RouteURL]:
    """The named routes among ``routes`` (bare ones and Mounts' alike), checked as mounting checks them.

    Raises :class:`MountError` for a name given twice or a named pattern that
    no single URL stands for (see :mod:`.urls`).  A bare route's prefix needs
    its handler's namespace; ``owner`` is the extension's name.
    """
    named: list[tuple[str, str, str]] = []
    for prefix, route in _flatten(routes):
        pattern, handler, _kwargs, name = split_route(route)
        if name is not None:
            where = prefix if prefix is not None else namespace_prefix("/", route_kind(handler), owner)
            named.append((name, url_path_join(base_url, where), normalize_pattern(pattern)))
    try:
        return route_urls(named, owner)
    except ValueError as err:
        raise MountError(str(err)) from None


def _flatten(routes: Sequence[Any]) -> list[tuple[str | None, Any]]:
    """``(Mount prefix or None, route)`` for every route, Mounts opened."""
    out: list[tuple[str | None, Any]] = []
    for item in routes:
        if isinstance(item, Mount):
            out += [(item.prefix, route) for route in item.routes]
        else:
            out.append((None, item))
    return out


# -- Mount: routes in another prefix the extension owns ----------------------------


class Mount:
    """Routes placed below ``prefix`` (a path below ``base_url``) instead of the namespace.

    ``Mount("api/contents", [(r"(?P<path>/.*)?", ContentsHandler)])`` serves
    ``/api/contents`` and everything below it.  ``prefix`` must lie in a
    prefix the extension owns: its name (``"lab/api/settings"``), one of its
    ``page_prefixes`` (``"tree"``), or a path of a service it ``provides``;
    the manager refuses any other with a :class:`MountError` saying what it
    owns.  The routes are ``(pattern, handler[, kwargs[, name]])`` as usual, their
    patterns relative to ``prefix``; their handlers still subclass
    ExtensionHandler or ExtensionAPIHandler, which sets their behaviour only.
    """

    __slots__ = ("prefix", "routes")

    def __init__(self, prefix: str, routes: Sequence[Any]) -> None:
        if not isinstance(prefix, str):
            raise MountError(f"Mount prefix must be a string, not {prefix!r}")
        segments = prefix.strip("/").split("/")
        if not all(NAME_PATTERN.fullmatch(segment) for segment in segments):
            raise MountError(
                f"Mount prefix {prefix!r} must be a literal path of plain segments (letters, digits, '_', '-', '.')"
            )
        if isinstance(routes, (str, bytes)) or not isinstance(routes, Sequence):
            raise MountError(f"Mount({prefix!r}, routes): routes must be a list of (pattern, handler[, kwargs])")
        self.prefix = "/".join(segments)
        self.routes = tuple(routes)

    def __repr__(self) -> str:
        return f"Mount({self.prefix!r}, {list(self.routes)!r})"


def mount_prefixes(cls: type[ExtensionApp]) -> list[str]:
    """Where ``cls`` may Mount routes (or below): its name, its page prefixes, its services' paths."""
    return [cls.name, *cls.page_prefixes, *service_paths(cls.provides)]


def url_prefixes(cls: type[ExtensionApp]) -> list[str]:
    """Every URL prefix ``cls`` owns, below base_url, for people (records, ``extension list``)."""
    return [
        "/" + cls.name,
        "/" + API_PREFIX + "/" + cls.name,
        "/" + STATIC_PREFIX + "/" + cls.name,
        *("/" + p for p in cls.page_prefixes),
        *("/" + p for p in service_paths(cls.provides)),
    ]


def owned_summary(cls: type[ExtensionApp]) -> str:
    """What ``cls`` owns, in words: ``/lab (its name), /doc (a page prefix), /api/contents (the contents service)``."""
    parts = [f"/{cls.name} (its name)"]
    parts += [f"/{p} (a page prefix)" for p in cls.page_prefixes]
    parts += [f"/{path} (the {s} service)" for s in cls.provides for path in service_paths([s])]
    return ", ".join(parts)


def check_mount(cls: type[ExtensionApp], mount: Mount) -> None:
    """Refuse a Mount outside what ``cls`` owns, or inside a service's path it does not provide."""
    prefix = mount.prefix
    service = service_at(prefix)
    if service is not None and service not in cls.provides:
        raise MountError(
            f"Mount({prefix!r}): /{prefix} belongs to the {service} service, which {cls.name} does not provide"
        )
    if not any(prefix == owned or prefix.startswith(owned + "/") for owned in mount_prefixes(cls)):
        raise MountError(f"Mount({prefix!r}) is outside what {cls.name} owns: {owned_summary(cls)}")


def check_landing(app: ExtensionApp) -> None:
    """Refuse a landing page (``extension_url``) outside the app's name and page prefixes."""
    url = app.landing_url
    if not url:
        return
    top = url.strip("/").split("/", 1)[0].split("?", 1)[0]
    if top not in (app.name, *app.page_prefixes):
        pages = ", ".join("/" + p for p in (app.name, *app.page_prefixes))
        raise MountError(f"extension_url {app.extension_url!r} is not below a page prefix {app.name} owns ({pages})")


# -- matching ---------------------------------------------------------------------


class NamespaceMatcher(Matcher):
    """Matches a path equal to ``prefix`` or below it whose rest fully matches ``regex``.

    The prefix is compared as a string, so no regular expression can reach a
    path outside it; a path equal to or below one of ``excluded`` (longer
    prefixes that belong to other routes, see :func:`exclude_nested`) is
    not matched either.  Groups are URL-unquoted and passed to the handler
    as positional (or, when named, keyword) arguments, as tornado does.
    """

    def __init__(self, prefix: str, regex: re.Pattern[str]) -> None:
        self.prefix = prefix.rstrip("/")
        self.regex = regex
        self.excluded: tuple[str, ...] = ()

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        path = request.path or ""
        if not path.startswith(self.prefix):
            return None
        rest = path[len(self.prefix) :]
        if rest and not rest.startswith("/"):
            return None  # /myextfoo is not below /myext
        for nested in self.excluded:
            if path == nested or path.startswith(nested + "/"):
                return None
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
    return None if value is None else url_unescape(value, encoding=None, plus=False).decode()


def exclude_nested(rules: Iterable[Rule], base_url: str) -> None:
    """Apply the longest-prefix rule to the mounted ``rules`` of every loaded extension.

    The claimed prefixes are those of the rules themselves (namespaces,
    Mounts) and every service path below ``base_url``, provided or not.  Each
    matcher is told the claims strictly below its own prefix, whoever's, so
    that a path is answered only under the longest prefix containing it and
    the outcome does not depend on which extension loaded first.
    """
    matchers = [rule.matcher for rule in rules if isinstance(rule.matcher, NamespaceMatcher)]
    claims = {m.prefix for m in matchers}
    claims |= {url_path_join(base_url, path) for paths in SERVICES.values() for path in paths}
    for matcher in matchers:
        below = matcher.prefix + "/"
        matcher.excluded = tuple(sorted(c for c in claims if c.startswith(below)))


# -- mounting ---------------------------------------------------------------------


def namespace_prefix(base_url: str, kind: str, name: str) -> str:
    """The URL prefix of ``name``'s ``kind`` (``"api"``, ``"page"`` or ``"static"``) namespace."""
    if kind == "api":
        return url_path_join(base_url, API_PREFIX, name)
    if kind == "static":
        return url_path_join(base_url, STATIC_PREFIX, name)
    return url_path_join(base_url, name)


class Mounted(NamedTuple):
    """What :func:`mount_handlers` made of one app's routes."""

    rules: list[Rule]
    #: How each rule reads for people (the record's ``routes``).
    routes: list[str]
    #: The named routes, for ``url_for``.
    urls: dict[str, RouteURL]


def mount_handlers(app: ExtensionApp, routes: Sequence[Any], base_url: str) -> Mounted:
    """Tornado rules for ``app``'s routes, Mounts and static files, how each reads, and the named ones.

    Every handler receives the extension app (``extension_app``) on top of
    the route's own keyword arguments.  Raises :class:`MountError` for the
    first route or Mount that cannot be mounted, a route name given twice, a
    named route no URL stands for, or a landing page outside the app's
    pages; nothing is mounted then.
    """
    check_landing(app)
    rules: list[Rule] = []
    shown: list[str] = []

    def add(prefix: str | None, route: Any) -> None:
        pattern, handler, kwargs, _name = split_route(route)
        if prefix is None:  # a bare route: the handler's base class picks the namespace
            prefix = namespace_prefix("/", route_kind(handler), app.name)
        regex = check_pattern(pattern)
        matcher = NamespaceMatcher(url_path_join(base_url, prefix), regex)
        rules.append(Rule(matcher, handler, {**kwargs, "extension_app": app}))
        shown.append(url_path_join("/", prefix).rstrip("/") + normalize_pattern(pattern))

    for item in routes:
        if isinstance(item, Mount):
            check_mount(type(app), item)
    for prefix, route in _flatten(routes):
        add(prefix, route)
    urls = named_routes(app.name, routes, base_url)
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
    return Mounted(rules, shown, urls)


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

    def initialize(self, roots: list[str]) -> None:  # type: ignore[override]  # route kwargs of this handler, not StaticFileHandler's
        self.roots = roots
        super().initialize(path=roots[0])

    async def get(self, path: str, include_body: bool = True) -> None:
        located = locate_static(self.roots, path)
        if located is not None:
            self.root = located[0]
        await super().get(path, include_body)
