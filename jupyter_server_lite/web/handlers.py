"""Base handlers every route builds on.

Every handler is authenticated unless its class sets
``allow_unauthenticated = True``: opting out is a visible line in the code,
never an accident of forgetting a decorator.

Two families:

* :class:`JupyterHandler` serves pages: errors are HTML, an anonymous
  visitor is redirected to ``/login``.
* :class:`APIHandler` serves JSON: every error, including a 404 for an
  unknown route and a 400 for a malformed body, is
  ``{"message": ..., "reason": ...}``; an anonymous client gets a JSON 403.

Both admit a request in one order, the first failure answering (403):
``Host`` is local unless remote access is allowed (DNS rebinding), a
cross-origin ``Origin`` is allowed by ``allow_origin``/``allow_origin_pat``,
the caller has credentials (unless the route is public), and an unsafe
method that could have been forged (cookie-authenticated, or authentication
off) echoes the ``_xsrf`` cookie.  Tornado's own early XSRF check is
deferred to that last step, so an anonymous POST hears "authentication
required", not "XSRF".

Who the caller is, the identity provider says (``ServerApp.identity_provider``),
at the credentials step, once per request.  A provider that must ask
elsewhere (JupyterHub) answers with an awaitable, so :meth:`JupyterHandler.prepare`
is a coroutine; a subclass that extends it writes ``async def prepare(self):
await super().prepare()`` -- a plain ``def prepare`` is refused when the
class is made, since calling the coroutine without awaiting it would skip
the admission.

Bodies are streamed (see :mod:`.bodies`): all of that runs when the
headers are in, before a byte of the body is read, so a body the caller may
not send is never buffered.  By the time the HTTP method runs, an admitted
body is ``self.request.body`` with its form arguments parsed, as usual.

An anonymous ``OPTIONS`` gets the same answer on every path (a CORS
preflight carries no credentials), so it cannot tell a route from a
missing one; a ``405`` names the allowed methods in ``Allow``.  No error
body ever carries a traceback: the log has it.
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
import json
import logging
import re
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload
from urllib.parse import parse_qsl, urlencode, urlparse

from tornado import httputil, web

from ..activity import isoformat
from .bodies import RequestBody, has_body, is_form, too_large
from .errors import error_reason_and_message, http_error_message, loads_json

if TYPE_CHECKING:
    from ..auth.identity import IdentityProvider, User
    from ..serverapp import ServerApp

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: The methods a CORS preflight is told about (the same on every path).
CORS_METHODS = "GET, PUT, POST, PATCH, DELETE, OPTIONS"


def url_path_join(*pieces: str) -> str:
    """Join URL path pieces with exactly one ``/`` between them.

    Keeps a leading ``/`` of the first piece and a trailing ``/`` of the last.
    """
    initial = pieces[0].startswith("/") if pieces else False
    final = pieces[-1].endswith("/") if pieces else False
    stripped = [p.strip("/") for p in pieces]
    result = "/".join(p for p in stripped if p)
    if initial:
        result = "/" + result
    if final and not result.endswith("/"):
        result += "/"
    return result or "/"


@web.stream_request_body
class JupyterHandler(web.RequestHandler):
    """Base for pages: auth with a login redirect, security checks, HTML errors."""

    #: Set to True on a handler that must answer without credentials.
    allow_unauthenticated: ClassVar[bool] = False

    #: Largest body accepted from a caller without credentials, on a public
    #: route (the /login form). A public route that needs more says so here.
    max_anonymous_body_size: ClassVar[int] = 64 * 1024

    auth_method: str | None = None

    #: Why the path names nothing (not UTF-8, a NUL byte): a 404 once the request is admitted.
    path_error: str | None = None

    _admitted = False
    _body: RequestBody | None = None  # while it is being received
    _body_done = False
    _xsrf_after_body = False

    def __init__(self, application: web.Application, request: httputil.HTTPServerRequest, **kwargs: Any) -> None:
        super().__init__(application, request, **kwargs)
        # The body limits are enforced here (prepare, data_received), answering a
        # JSON 413. Tornado's check at the connection would answer a bare 400 and
        # close -- and, as it runs after an early refusal, write it after ours.
        set_limit = getattr(request.connection, "set_max_body_size", None)
        if set_limit is not None and getattr(type(self), "_stream_request_body", False):
            set_limit(sys.maxsize)

    @property
    def serverapp(self) -> ServerApp:
        return self.settings["serverapp"]

    @property
    def log(self) -> logging.Logger | logging.LoggerAdapter[Any]:  # tornado has none; the app's logger
        return self.serverapp.log

    @property
    def identity_provider(self) -> IdentityProvider:
        return self.serverapp.identity_provider

    @property
    def base_url(self) -> str:
        return self.settings.get("base_url", "/")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a subclass whose ``prepare`` is not a coroutine (see the module docstring)."""
        super().__init_subclass__(**kwargs)
        prepare = cls.__dict__.get("prepare")
        if prepare is not None and not inspect.iscoroutinefunction(prepare):
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__}.prepare must be a coroutine that awaits the base's: "
                "async def prepare(self): await super().prepare()"
            )

    # -- identity ---------------------------------------------------------

    def get_current_user(self) -> User | None:
        """Nobody until :meth:`admit` has asked the identity provider, which it
        does before any HTTP method runs (so only an error answered earlier,
        such as tornado's 405, sees ``None`` here)."""
        return None

    async def prepare(self) -> None:
        """Admit the request (:meth:`admit`), then make room for its body (:meth:`expect_body`).

        Runs when the headers are in, before the body is read.
        """
        await self.admit()
        self.expect_body()

    async def admit(self) -> None:
        """Host, then Origin, then credentials, then the path itself; the first failure answers.

        The credentials are the identity provider's to judge
        (``get_user``, which sets :attr:`current_user` and :attr:`auth_method`);
        only a provider that must ask elsewhere makes this wait.  An anonymous
        ``OPTIONS`` (a CORS preflight carries no credentials) passes on an
        allowed Origin alone and gets :meth:`answer_preflight`, the same on
        every path.
        """
        self.check_host()
        self.check_cross_origin()
        found = self.identity_provider.get_user(self)
        if not isinstance(found, tuple):  # an awaitable: the provider asks elsewhere (JupyterHub)
            found = await found
        self.current_user, self.auth_method = found
        if self.request.method == "OPTIONS" and self.current_user is None:
            self.answer_preflight()
            raise web.Finish()
        if not self.allow_unauthenticated and self.current_user is None:
            self.refuse_anonymous()
        if self.path_error is not None:
            raise web.HTTPError(404, f"Nothing at {self.request.path}: {self.path_error}")
        self._admitted = True

    def refuse_anonymous(self) -> None:
        """A page's GET goes to ``/login?next=<this page>`` (without a wrong ``token``,
        which would otherwise travel on into the login page's URL); else a 403."""
        if self.request.method in ("GET", "HEAD"):
            login = url_path_join(self.base_url, "login")
            kept = [(k, v) for k, v in parse_qsl(self.request.query, keep_blank_values=True) if k.lower() != "token"]
            target = f"{self.request.path}?{urlencode(kept)}" if kept else self.request.path
            self.redirect(f"{login}?{urlencode({'next': target})}")
            raise web.Finish()
        raise web.HTTPError(403, "Authentication required")

    # -- the body ---------------------------------------------------------------

    def expect_body(self) -> None:
        """Decide, before reading it, whether the declared body may come, and how much.

        An unsafe method without a body is checked for XSRF at once. A body
        on GET/HEAD/OPTIONS is a 400; one declared larger than the limit
        (``ServerApp.max_body_size``, or :attr:`max_anonymous_body_size`
        without credentials) a 413, before a byte is read. An admitted body
        is collected by :meth:`data_received`, and the HTTP method runs once
        it is complete, :meth:`body_received` first. The XSRF check waits for
        the body only when the ``_xsrf`` value may be in it (a form without
        an ``X-XSRFToken`` header).
        """
        headers = self.request.headers
        unsafe = self.request.method not in SAFE_METHODS
        if not has_body(headers):
            if unsafe:
                self.check_xsrf()
                self.serverapp.activity.touch()
            return
        name = self.request.method.lower()
        if not unsafe:
            raise web.HTTPError(400, f"A {self.request.method} request carries no body")
        if self.request.method not in self.allowed_methods():
            raise web.HTTPError(405)  # before reading a body nothing would read
        anonymous = self.current_user is None
        limit = self.max_anonymous_body_size if anonymous else self.serverapp.max_body_size
        length = headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise too_large(limit, anonymous)
        self._xsrf_after_body = is_form(headers) and not headers.get("X-XSRFToken")
        if not self._xsrf_after_body:
            self.check_xsrf()
        if anonymous:  # a public form is small: it need not take the whole body_timeout to arrive
            set_timeout = getattr(self.request.connection, "set_body_timeout", None)
            if set_timeout is not None:
                set_timeout(self.serverapp.header_timeout)
        self._body = RequestBody(limit, anonymous)
        method = getattr(self, name)

        @functools.wraps(method)
        def after_body(*args: Any, **kwargs: Any) -> Any:
            self.body_received()
            return method(*args, **kwargs)

        setattr(self, name, after_body)  # tornado looks the method up once the body is in

    def data_received(self, chunk: bytes) -> None:
        """Collect an admitted body; past its limit, answer 413 (tornado drops the rest)."""
        if self._body is None:  # refused already
            return
        if not self._body.add(chunk):
            error = too_large(self._body.limit, self._body.anonymous)
            self._body = None
            self.error_message = http_error_message(error)
            self.send_error(413, exc_info=(web.HTTPError, error, None))

    def body_received(self) -> None:
        """The body is in: it becomes ``request.body``; then a deferred XSRF check."""
        if self._body is not None:
            self._body.deliver(self.request)
            self._body = None
        self._body_done = True
        if self._xsrf_after_body:
            self.check_xsrf()
        self.serverapp.activity.touch()

    def check_xsrf_cookie(self) -> None:
        """Tornado calls this before :meth:`prepare`, when the caller is not known
        yet; :meth:`check_xsrf` runs from ``prepare`` instead, after the Host,
        Origin and credential checks have had their say."""

    def check_xsrf(self) -> None:
        """Refuse a forgeable unsafe request without the ``_xsrf`` value.

        A token in the header or the URL proves the caller knows the secret,
        so those requests are exempt.  Cookie-authenticated requests, and every
        request when authentication is disabled, can be forged by another site
        and must echo the ``_xsrf`` cookie (``X-XSRFToken`` header or ``_xsrf``
        form field).
        """
        if self.settings.get("disable_check_xsrf"):
            return
        if self.auth_method in ("header", "query"):
            return
        try:
            super().check_xsrf_cookie()
        except web.HTTPError as err:
            raise web.HTTPError(
                403, "XSRF check failed: send the _xsrf cookie value in an X-XSRFToken header (or an _xsrf form field)"
            ) from err

    # -- host and origin --------------------------------------------------

    def check_host(self) -> None:
        """Refuse a Host that is not local, unless remote access is allowed.

        A page from a malicious site can rebind its DNS name to 127.0.0.1; the
        browser then still sends that name as Host, which is what we catch.
        """
        if self.serverapp.allow_remote_access:
            return
        host = self.request.host_name
        if host_is_local(host, self.serverapp.local_hostnames):
            return
        raise web.HTTPError(
            403,
            f"Host {host!r} is not allowed: this server only answers to local host names (see ServerApp.allow_remote_access)",
        )

    def origin_allowed(self, origin: str | None) -> bool:
        """Whether a request from ``origin`` may be served (CORS and websockets)."""
        app = self.serverapp
        if not origin or app.allow_origin == "*":
            return True
        if urlparse(origin).netloc.lower() == (self.request.host or "").lower():
            return True  # same origin
        if app.allow_origin:
            return origin == app.allow_origin
        if app.allow_origin_pat:
            return re.fullmatch(app.allow_origin_pat, origin) is not None
        return False

    def check_cross_origin(self) -> None:
        origin = self.request.headers.get("Origin")
        if not self.origin_allowed(origin):
            raise web.HTTPError(
                403, f"Cross-origin request from {origin!r} is not allowed (see ServerApp.allow_origin)"
            )
        if origin and (self.serverapp.allow_origin or self.serverapp.allow_origin_pat):
            self.set_header("Access-Control-Allow-Origin", origin if self.serverapp.allow_origin != "*" else "*")
            self.set_header("Vary", "Origin")
            if self.serverapp.allow_credentials:
                self.set_header("Access-Control-Allow-Credentials", "true")

    def answer_preflight(self) -> None:
        """204 with the CORS methods and headers: the same for every path (pages and APIs alike)."""
        self.clear_header("Content-Type")  # no body, and an API's type would tell it from a page
        self.clear_header("Cache-Control")
        self.set_header("Access-Control-Allow-Headers", "accept, content-type, authorization, x-xsrftoken")
        self.set_header("Access-Control-Allow-Methods", CORS_METHODS)
        self.set_status(204)
        self.finish()

    def options(self, *args: Any, **kwargs: Any) -> None:
        """An authenticated ``OPTIONS``: the preflight answer, and ``Allow`` for this route."""
        self.set_header("Allow", ", ".join(self.allowed_methods()))
        self.answer_preflight()

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The methods this handler implements (tornado answers the others with 405)."""
        return [
            m
            for m in cls.SUPPORTED_METHODS
            if getattr(cls, m.lower(), None) is not getattr(web.RequestHandler, m.lower())
        ]

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """A path segment that is not UTF-8, or holds a NUL byte, names no resource.

        It becomes a 404 once the request is admitted (:attr:`path_error`),
        so a foreign Host or an anonymous caller is still told that first.
        Query and body arguments keep tornado's 400.
        """
        if getattr(self, "path_kwargs", None) is not None:  # tornado decodes the path before setting it
            return super().decode_argument(value, name)
        try:
            decoded = super().decode_argument(value, name)
        except web.HTTPError:
            self.path_error = "the path is not valid UTF-8"
            return ""
        if decoded is not None and "\x00" in decoded:  # None: an optional group that matched nothing
            self.path_error = "the path holds a NUL byte"
            return ""
        return decoded

    # -- responses --------------------------------------------------------

    #: The message of the HTTPError that ended this request, for the access log.
    error_message: str | None = None

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """An HTTPError is the request's answer, not a fault: the access log line
        carries its message, so it is not logged twice.  Anything else is
        tornado's "Uncaught exception" with the traceback (the URI's secrets
        masked by the log filter, :mod:`.logs`)."""
        if isinstance(value, web.HTTPError):
            self.error_message = http_error_message(value)
            return
        super().log_exception(typ, value, tb)

    def set_default_headers(self) -> None:
        """Every answer's headers; then ``tornado_settings["headers"]`` (Jupyter Server's
        setting: extra headers, or a replacement ``Content-Security-Policy``)."""
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "frame-ancestors 'self'")
        for name, value in self.settings.get("headers", {}).items():
            self.set_header(name, value)

    def render_template(self, name: str, **ns: Any) -> str:
        env = self.settings["jinja2_env"]
        namespace = {
            "base_url": self.base_url,
            "xsrf_form_html": self.xsrf_form_html,
            "version": self.serverapp.version,
            "static_url": self.static_url,
        }
        namespace.update(ns)
        return env.get_template(name).render(**namespace)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        reason, message = self.prepare_error(status_code, kwargs.get("exc_info"))
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(self.render_template("error.html", status_code=status_code, reason=reason, message=message))

    def prepare_error(self, status_code: int, exc_info: Any) -> tuple[str, str]:
        """The headers every error answer needs, then its reason and message.

        A 405 names the allowed methods (``Allow``): the route's own once the
        caller is admitted, else the methods tornado knows, as on every path.
        An answer sent before a declared body was read closes the connection
        (tornado drops the rest of the body, unread), and says so.
        """
        if status_code == 405:
            methods = self.allowed_methods() if self._admitted else list(self.SUPPORTED_METHODS)
            self.set_header("Allow", ", ".join(methods))
        if has_body(self.request.headers) and not self._body_done:
            self.set_header("Connection", "close")
        return error_reason_and_message(status_code, exc_info)


class APIHandler(JupyterHandler):
    """Base for JSON APIs: JSON errors and bodies, 403 instead of a login redirect."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")

    def refuse_anonymous(self) -> None:
        raise web.HTTPError(403, "Authentication required: send 'Authorization: token <token>'")

    def get_json_body(self) -> Any:
        """The request body as JSON; ``None`` when empty; a clear 400 when malformed."""
        body = self.request.body
        if not body:
            return None
        return loads_json(body, "Request body")

    def get_json_object(self) -> dict[str, Any]:
        """The request body as a JSON object (empty body: ``{}``)."""
        body = self.get_json_body()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise web.HTTPError(400, f"Request body must be a JSON object, not {type(body).__name__}")
        return body

    def finish_json(self, model: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(model, default=_json_default))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        reason, message = self.prepare_error(status_code, kwargs.get("exc_info"))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, "reason": reason}))


class APINotFoundHandler(APIHandler):
    """The last route under ``/api/``: an unknown API path is a JSON 404.

    Credentials are still required (an anonymous caller learns nothing about
    which routes exist); the XSRF check is skipped because nothing is done.
    """

    async def prepare(self) -> None:
        await self.admit()
        raise web.HTTPError(404, f"No API route at {self.request.path}")


class PageNotFoundHandler(JupyterHandler):
    """Default handler for unknown pages (HTML 404), public so it never redirects."""

    allow_unauthenticated = True

    async def prepare(self) -> None:
        await self.admit()
        raise web.HTTPError(404)


class StaticHandler(JupyterHandler, web.StaticFileHandler):
    """The core's static files (``/static/jupyter_server_lite/``, ``/favicon.ico``,
    ``/robots.txt``): public, with the Host check and the headers of every other
    route; a path outside the folder is tornado's 403, a NUL byte a 404."""

    allow_unauthenticated = True


_MISSING = object()


@overload
def string_field(
    body: dict[str, Any], key: str, *, required: Literal[True], nullable: bool = False, label: str = ""
) -> str: ...
@overload
def string_field(
    body: dict[str, Any], key: str, *, required: bool = False, nullable: bool = False, label: str = ""
) -> str | None: ...
def string_field(
    body: dict[str, Any], key: str, *, required: bool = False, nullable: bool = False, label: str = ""
) -> str | None:
    """``body[key]`` when it is a string; ``None`` when absent (or null, if ``nullable``).

    Anything else is a 400 naming the field (``label``, e.g. ``kernel.name``,
    for a nested one), so every API reports a bad body the same way.
    """
    label = label or key
    value = body.get(key, _MISSING)
    if value is _MISSING or (value is None and nullable):
        if required:
            raise web.HTTPError(400, f"Missing field in JSON data: {label}")
        return None
    if not isinstance(value, str):
        raise web.HTTPError(400, f"Field {label!r} must be a string, not {type(value).__name__}")
    return value


def host_is_local(host: str, local_hostnames: list[str]) -> bool:
    """Whether ``host`` names this machine: a loopback address or a listed name."""
    host = host.strip("[]").lower()
    loopback = _is_loopback_address(host)
    if loopback is not None:
        return loopback
    return host in {h.lower() for h in local_hostnames}


@functools.lru_cache(maxsize=256)
def _is_loopback_address(host: str) -> bool | None:
    """Whether an IP address is loopback; None for a name.  Cached: it runs on
    every request, and parsing the address was ~5% of a small one."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return None


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return isoformat(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")
