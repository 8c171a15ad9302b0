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
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import re
import traceback
from datetime import datetime
from http.client import responses
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload
from urllib.parse import urlparse

from tornado import web

from ..activity import isoformat

if TYPE_CHECKING:
    from ..auth.identity import IdentityProvider, User
    from ..serverapp import ServerApp

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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


class JupyterHandler(web.RequestHandler):
    """Base for pages: auth with a login redirect, security checks, HTML errors."""

    #: Set to True on a handler that must answer without credentials.
    allow_unauthenticated: ClassVar[bool] = False

    auth_method: str | None = None

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

    # -- identity ---------------------------------------------------------

    def get_current_user(self) -> User | None:
        user, method = self.identity_provider.get_user(self)
        self.auth_method = method
        return user

    def prepare(self) -> None:
        """Admit the request (:meth:`admit`), then check XSRF on unsafe methods."""
        self.admit()
        if self.request.method not in SAFE_METHODS:
            self.check_xsrf()
            self.serverapp.activity.touch()

    def admit(self) -> None:
        """Host, then Origin, then credentials; the first failure answers.

        A CORS preflight (OPTIONS) carries no credentials, so it passes on an
        allowed Origin alone.
        """
        self.check_host()
        self.check_cross_origin()
        if self.request.method == "OPTIONS":
            return
        if not self.allow_unauthenticated and self.current_user is None:
            self.refuse_anonymous()

    def refuse_anonymous(self) -> None:
        if self.request.method in ("GET", "HEAD"):
            login = url_path_join(self.base_url, "login")
            self.redirect(f"{login}?{web.urlencode({'next': self.request.uri})}")
            raise web.Finish()
        raise web.HTTPError(403, "Authentication required")

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
        self.current_user  # noqa: B018 -- identifying the request sets auth_method
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

    def options(self, *args: Any, **kwargs: Any) -> None:
        """Answer a CORS preflight for any route."""
        self.set_header("Access-Control-Allow-Headers", "accept, content-type, authorization, x-xsrftoken")
        self.set_header("Access-Control-Allow-Methods", "GET, PUT, POST, PATCH, DELETE, OPTIONS")
        self.set_status(204)
        self.finish()

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """A path segment that is not UTF-8 names no resource: a 404, where
        tornado would answer 400 for it.  Query and body arguments keep the 400."""
        try:
            return super().decode_argument(value, name)
        except web.HTTPError:
            if getattr(self, "path_kwargs", None) is None:  # tornado decodes the path before setting it
                raise web.HTTPError(404, f"Nothing at {self.request.path}: the path is not valid UTF-8") from None
            raise

    # -- responses --------------------------------------------------------

    #: The message of the HTTPError that ended this request, for the access log.
    error_message: str | None = None

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """An HTTPError is the request's answer, not a fault: the access log line
        carries its message, so it is not logged twice."""
        if isinstance(value, web.HTTPError):
            self.error_message = http_error_message(value)
            return
        super().log_exception(typ, value, tb)

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "frame-ancestors 'self'")

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
        reason, message = error_reason_and_message(self, status_code, kwargs.get("exc_info"))
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(self.render_template("error.html", status_code=status_code, reason=reason, message=message))


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
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as err:
            raise web.HTTPError(400, f"Request body is not valid JSON: {err}") from err

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
        reason, message = error_reason_and_message(self, status_code, kwargs.get("exc_info"))
        body: dict[str, Any] = {"message": message, "reason": reason}
        exc_info = kwargs.get("exc_info")
        if status_code >= 500 and exc_info and self.settings.get("serve_traceback"):
            body["traceback"] = "".join(traceback.format_exception(*exc_info))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class APINotFoundHandler(APIHandler):
    """The last route under ``/api/``: an unknown API path is a JSON 404.

    Credentials are still required (an anonymous caller learns nothing about
    which routes exist); the XSRF check is skipped because nothing is done.
    """

    def prepare(self) -> None:
        self.admit()
        raise web.HTTPError(404, f"No API route at {self.request.path}")


class PageNotFoundHandler(JupyterHandler):
    """Default handler for unknown pages (HTML 404), public so it never redirects."""

    allow_unauthenticated = True

    def prepare(self) -> None:
        self.admit()
        raise web.HTTPError(404)


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


def error_reason_and_message(handler: web.RequestHandler, status_code: int, exc_info: Any) -> tuple[str, str]:
    """Short reason phrase and human message for an error response."""
    reason = responses.get(status_code, "Unknown HTTP Error")
    message = reason
    if exc_info:
        exc = exc_info[1]
        if isinstance(exc, web.HTTPError):
            message = http_error_message(exc) or reason
            reason = exc.reason or reason
        else:
            message = "Internal server error: see the server log"
    return reason, message


def http_error_message(error: web.HTTPError) -> str | None:
    """The message of an HTTPError as written, ``%`` included.

    Tornado doubles every ``%`` of an argument-less message (it is a format
    string for the log), so ``/a%40b/`` would otherwise read ``/a%%40b/``.
    """
    if error.log_message is None:
        return None
    return error.log_message % error.args


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
