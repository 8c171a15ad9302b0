"""Assembling the tornado Application: core routes, extension routes, fallbacks.

Route order is the contract:

1. core routes (the identity provider's pages -- login, logout, JupyterHub's
   OAuth callback --, status, kernelspecs, kernels, sessions, metrics, pages);
2. routes mounted by extensions, each confined to a prefix its extension
   owns (its namespaces, page prefixes, the paths of the services it
   provides) and kept out of every longer prefix mounted or reserved for a
   service, so their order among themselves does not matter
   (``extension/mount.py``);
3. catch-alls: any other ``/api/...`` or ``/extension/api/...`` path is a
   JSON 404 (``/api/contents`` too when nobody provides contents), any other
   page an HTML 404.

Every pattern is written relative to ``/`` and joined to ``base_url`` here,
once, so no module has to think about the prefix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tornado import web
from tornado.routing import Rule

from ..auth import login
from ..metrics import handler as metrics
from ..services import extensions, openapi, status
from ..services.kernels import handlers as kernels
from ..services.kernels import websocket as kernel_websocket
from ..services.kernelspecs import handlers as kernelspecs
from ..services.sessions import handlers as sessions
from . import pages
from .handlers import APINotFoundHandler, PageNotFoundHandler, StaticHandler, url_path_join
from .logs import log_request

if TYPE_CHECKING:
    import jinja2

    from ..serverapp import ServerApp

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
CORE_TEMPLATE_PATH = os.path.join(PACKAGE_ROOT, "templates")
CORE_STATIC_PATH = os.path.join(PACKAGE_ROOT, "static")

Route = tuple[str, type, dict[str, Any]] | tuple[str, type]


def core_routes(auth_routes: Iterable[Route] = login.default_handlers) -> list[Route]:
    """The core's routes, in routing order: each module's ``default_handlers``, the
    authentication pages first (``auth_routes``: the identity provider's, see
    ``IdentityProvider.routes``)."""
    return [
        *auth_routes,
        *status.default_handlers,
        *kernelspecs.default_handlers,
        *kernels.default_handlers,
        *kernel_websocket.default_handlers,
        *openapi.default_handlers,
        *sessions.default_handlers,
        *extensions.default_handlers,
        *metrics.default_handlers,
        *pages.default_handlers,
    ]


def prefix_routes(base_url: str, routes: Iterable[Route]) -> list[Route]:
    """Join every pattern to ``base_url``; patterns keep their regex groups.

    ``base_url`` is a literal path, not a pattern: its regex characters
    (``/a+b/``, ``/v1.0/``) are escaped.
    """
    prefix = re.escape(base_url)
    out: list[Route] = []
    for route in routes:
        pattern, *rest = route
        out.append((url_path_join(prefix, pattern.lstrip("/")), *rest))  # a tuple of 2 or 3
    return out


class _LazyJinjaEnv:
    """Stands in for a ``jinja2.Environment`` and builds it on first use.

    Importing jinja2 costs ~10 ms and ~2 MiB, on the start path of every
    server and extension with templates; a server that never renders a page
    need not pay it.  Reading or setting any attribute (``get_template``,
    ``loader``, ``globals``...) builds the real environment and forwards.
    """

    def __init__(self, paths: list[str]) -> None:
        object.__setattr__(self, "_paths", paths)
        object.__setattr__(self, "_env", None)

    def _build(self) -> jinja2.Environment:
        if self._env is None:
            import jinja2  # start-up cost: jinja2, on the first page rendered

            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(self._paths), autoescape=jinja2.select_autoescape(["html", "xml"])
            )
            object.__setattr__(self, "_env", env)
        return self._env

    def __getattr__(self, name: str) -> Any:
        return getattr(self._build(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._build(), name, value)


def make_jinja_env(extra_paths: Iterable[str] = ()) -> jinja2.Environment:
    """A jinja2 environment: ``extra_paths`` first, the core templates as fallback (built on first use)."""
    return _LazyJinjaEnv([*extra_paths, CORE_TEMPLATE_PATH])  # type: ignore[return-value]  # a proxy that builds the Environment on first use


def make_application(
    serverapp: ServerApp, extra_routes: Iterable[Route | Rule] = (), settings: dict[str, Any] | None = None
) -> web.Application:
    """Build the tornado Application for ``serverapp``.

    ``extra_routes`` come after the core's: ``(pattern, handler[, kwargs])``
    tuples are joined to ``base_url``; tornado ``Rule`` objects are extension
    routes mounted already (``extension/mount.py``), whose matchers hold the
    full prefix and cannot match outside it, so they are used as they are.
    """
    base_url = serverapp.base_url
    extra = list(extra_routes)
    core = core_routes(serverapp.identity_provider.routes())
    routes: list[Any] = prefix_routes(base_url, [*core, *(r for r in extra if not isinstance(r, Rule))])
    routes += [r for r in extra if isinstance(r, Rule)]
    routes += prefix_routes(base_url, [(r"/api/.*", APINotFoundHandler), (r"/extension/api/.*", APINotFoundHandler)])
    app_settings: dict[str, Any] = {
        "serverapp": serverapp,
        "base_url": base_url,
        "cookie_secret": serverapp.cookie_secret,
        "xsrf_cookies": True,
        "xsrf_cookie_kwargs": {"path": base_url, "samesite": "Lax", "secure": bool(serverapp.certfile)},
        "disable_check_xsrf": serverapp.disable_check_xsrf,
        "jinja2_env": make_jinja_env(),
        "static_path": CORE_STATIC_PATH,
        "static_handler_class": StaticHandler,
        "static_url_prefix": url_path_join(base_url, "static", "jupyter_server_lite") + "/",
        "default_handler_class": PageNotFoundHandler,
        "log_function": serverapp.metrics.log_function(log_request),  # the access log, then the request metrics
        "websocket_max_message_size": serverapp.websocket_max_message_size,
    }
    app_settings.update(serverapp.tornado_settings)
    app_settings.update(settings or {})
    # No traceback in any HTTP body, whatever the settings say (tornado_settings'
    # "debug" would turn it on): the log has it, an anonymous caller must not.
    app_settings["serve_traceback"] = False
    return web.Application(routes, **app_settings)
