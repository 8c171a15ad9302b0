"""JupyterHub mode: the server as the single-user server a Hub spawns.

Selected by ``--hub``, or ``c.ServerApp.identity_provider_class =
"jupyter_server_lite.auth.hub.HubIdentityProvider"``; everything
Hub-specific is this identity provider and what it brings along, never a
branch in the handlers:

* **settings from the spawner's environment** (:meth:`HubIdentityProvider.server_config`):
  ``JUPYTERHUB_SERVICE_URL`` gives the address and port, ``JUPYTERHUB_SERVICE_PREFIX``
  the base_url, ``JUPYTERHUB_ROOT_DIR`` / ``JUPYTERHUB_DEFAULT_URL`` / the
  ``JUPYTERHUB_SSL_*`` files / ``JUPYTERHUB_DEBUG`` the rest -- above the config files,
  below the command line, as jupyterhub-singleuser does;
* **who is calling** (:meth:`HubIdentityProvider.get_user`): a Hub token -- in
  ``Authorization: token ...``, in ``?token=`` on a websocket (on any page too
  with ``JUPYTERHUB_ALLOW_TOKEN_IN_URL``), or the OAuth cookie the callback
  set -- that the Hub resolves to a user model (``HubOAuth``, which caches the
  answer ``cache_max_age`` seconds).  The caller is let in only when that model
  holds one of the access scopes the Hub names for this server
  (``JUPYTERHUB_OAUTH_ACCESS_SCOPES``: ``access:servers!server=<user>/<name>``,
  ``access:servers!user=<user>``); anyone else -- another user, an admin the
  Hub grants no ``access:servers`` -- gets a 403 naming them;
* **the pages of the OAuth dance** (:mod:`.hub_pages`): ``/login`` goes to the
  Hub's authorize URL, ``/oauth_callback`` trades the code for a token and
  sets the cookie, ``/logout`` clears it and goes on to the Hub's logout;
* **activity** (:mod:`.hub_activity`): the server's last real use is posted to
  ``JUPYTERHUB_ACTIVITY_URL`` every ``activity_interval`` seconds and once more
  at stop, so the Hub's idle culler sees it.

The server's own token is not used: the Hub's tokens and the OAuth cookie
are the credentials.  Cookie-authenticated writes still need the ``_xsrf``
value (set with the OAuth cookie), as everywhere.

This module imports nothing of ``jupyterhub``: its OAuth client pulls in
sqlalchemy and aiohttp (over a second here), so it is imported when the
provider is built -- which only Hub mode does.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import Any as AnyTrait
from traitlets import Float, Unicode, default
from traitlets.config import Config

from ..listen import StartupError
from ..traitdoc import computed_default
from . import hub_pages
from .hub_activity import ActivityReporter
from .identity import Identity, IdentityProvider, User

if TYPE_CHECKING:
    from tornado.web import RequestHandler

    from ..serverapp import ServerApp
    from ..web.application import Route
    from .hub_activity import ActivityReporter

#: What every JupyterHub spawner sets; without them this is not a Hub's server.
REQUIRED_ENVIRONMENT = ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JUPYTERHUB_CLIENT_ID", "JUPYTERHUB_SERVICE_URL")

#: Tries, and the wait before each retry, to reach the Hub at start (as jupyterhub-singleuser).
HUB_CHECK_WAITS = (1.0, 2.0, 4.0, 8.0)

#: Seconds the last activity report may take at stop (the spawner waits ~10 s before SIGTERM).
STOP_REPORT_TIMEOUT = 5.0


def hub_environment_config(environ: dict[str, str] | os._Environ[str]) -> Config:
    """The server settings a Hub's spawner asks for, from its environment.

    Raises :class:`StartupError` naming what is missing or malformed.
    """
    missing = [name for name in REQUIRED_ENVIRONMENT if not environ.get(name)]
    if missing:
        raise StartupError(
            f"JupyterHub mode needs the environment a JupyterHub spawner sets; missing: {', '.join(missing)} "
            "(is this server started by JupyterHub?)"
        )
    url = urlparse(environ["JUPYTERHUB_SERVICE_URL"])
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError as err:
        raise StartupError(f"JUPYTERHUB_SERVICE_URL={environ['JUPYTERHUB_SERVICE_URL']!r}: {err}") from err
    server: dict[str, Any] = {
        "ip": url.hostname or "",  # no host: every interface
        "port": port,
        "port_retries": 0,  # the Hub's proxy routes to this port and no other
        "base_url": environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/",
        "allow_remote_access": True,  # requests come through the Hub's proxy, under the public host name
        "open_browser": False,
    }
    if environ.get("JUPYTERHUB_ROOT_DIR"):
        server["root_dir"] = os.path.expanduser(environ["JUPYTERHUB_ROOT_DIR"])
    if environ.get("JUPYTERHUB_DEFAULT_URL"):
        server["default_url"] = environ["JUPYTERHUB_DEFAULT_URL"]
    if environ.get("JUPYTERHUB_SSL_CERTFILE"):  # the Hub's internal_ssl
        server["certfile"] = environ["JUPYTERHUB_SSL_CERTFILE"]
        server["keyfile"] = environ.get("JUPYTERHUB_SSL_KEYFILE", "")
        server["client_ca"] = environ.get("JUPYTERHUB_SSL_CLIENT_CA", "")
    if environ.get("JUPYTERHUB_DEBUG", "").lower() in ("1", "true", "yes"):
        server["log_level"] = "DEBUG"
    return Config({"ServerApp": server})


def user_of(model: dict[str, Any]) -> User:
    """The identity of a Hub user (or service) model; ``user_info`` fills in the names, as in jupyterhub-singleuser."""
    info = model.get("user_info") or {}
    known = {key: info[key] for key in ("name", "display_name", "initials", "avatar_url", "color") if info.get(key)}
    return User(username=model["name"], **known)


class HubIdentityProvider(IdentityProvider):
    """Identity from JupyterHub: its OAuth for browsers, its tokens for API clients."""

    activity_url = computed_default(
        Unicode(help="Where the server's last activity is posted (the Hub's users/<name>/activity API)."),
        "$JUPYTERHUB_ACTIVITY_URL",
    ).tag(config=True)

    @default("activity_url")
    def _default_activity_url(self) -> str:
        return os.environ.get("JUPYTERHUB_ACTIVITY_URL", "")

    activity_interval = computed_default(
        Float(
            min=0,
            help="""Seconds between two activity reports to the Hub (each one 10% sooner or later
            at random, so that many servers do not report at once); 0 reports none.""",
        ),
        "$JUPYTERHUB_ACTIVITY_INTERVAL, else 300",
    ).tag(config=True)

    @default("activity_interval")
    def _default_activity_interval(self) -> float:
        value = os.environ.get("JUPYTERHUB_ACTIVITY_INTERVAL", "")
        try:
            return float(value) if value else 300.0
        except ValueError:
            self.log.warning("JUPYTERHUB_ACTIVITY_INTERVAL=%r is not a number of seconds: using 300", value)
            return 300.0

    hub_auth = AnyTrait(
        help="The HubOAuth client (jupyterhub.services.auth), configured as HubOAuth.* and from the environment."
    )

    @default("hub_auth")
    def _default_hub_auth(self) -> Any:
        # start-up cost: jupyterhub (sqlalchemy, aiohttp), imported when a Hub-mode server builds this client
        from jupyterhub.services.auth import HubOAuth

        base_url = getattr(self.parent, "base_url", None)  # the server's, from JUPYTERHUB_SERVICE_PREFIX
        return HubOAuth(parent=self, **({"base_url": base_url} if base_url else {}))

    @default("username")
    def _default_username(self) -> str:
        return os.environ.get("JUPYTERHUB_USER", "") or super()._default_username()

    @default("token")
    def _default_token(self) -> str:
        return ""  # not used: the Hub's tokens are the credentials (a JUPYTER_TOKEN in the image is ignored)

    _reporter: ActivityReporter | None = None

    @property
    def auth_enabled(self) -> bool:
        return True

    @classmethod
    def server_config(cls) -> Config:
        return hub_environment_config(os.environ)

    def routes(self) -> list[Route]:
        return list(hub_pages.default_handlers)

    # -- who is calling ---------------------------------------------------------

    def get_user(self, handler: RequestHandler) -> Identity | Awaitable[Identity]:
        """The Hub's user for the first credential that names one (an awaitable), or
        ``(None, None)`` at once when none is presented."""
        presented = self._presented(handler)
        if not presented:
            return None, None
        return self._identify(handler, presented)

    def _presented(self, handler: RequestHandler) -> list[tuple[str, str]]:
        """``(token, method)`` of each credential the request carries, in the order they are tried."""
        hub_auth = self.hub_auth
        request = handler.request
        found = []
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip():
            found.append((value.strip(), "header"))
        websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        if websocket or hub_auth.allow_token_in_url:  # a browser's websocket cannot send a header
            query = handler.get_query_argument("token", "")
            if query:
                found.append((query, "query"))
        if not websocket or hub_auth.allow_websocket_cookie_auth:
            cookie = handler.get_signed_cookie(hub_auth.cookie_name)
            if cookie:
                found.append((cookie.decode("ascii", "replace"), "cookie"))
        return found

    async def _identify(self, handler: RequestHandler, presented: list[tuple[str, str]]) -> Identity:
        for token, method in presented:
            model = await self.user_model(handler, token)
            if model is None:
                if method == "cookie":  # expired or revoked at the Hub: the browser logs in again
                    self.clear_login_cookie(handler)
                continue
            self.check_access(model)
            if method == "query":
                self._keep_url_token(handler, token)
            return user_of(model), method
        return None, None

    async def user_model(self, handler: RequestHandler, token: str) -> dict[str, Any] | None:
        """The Hub's model of ``token``'s owner (with its ``scopes``), or ``None`` for a token it does not know.

        The Hub out of reach is a 502 (its reason is in the log, from HubOAuth).
        """
        try:
            return await self.hub_auth.user_for_token(
                token, session_id=self.hub_auth.get_session_id(handler), sync=False
            )
        except web.HTTPError as err:
            raise web.HTTPError(502, "Cannot check the credentials with JupyterHub (see the server log)") from err

    def check_access(self, model: dict[str, Any]) -> None:
        """Refuse (403) a Hub user or service that holds none of this server's access scopes."""
        hub_auth = self.hub_auth
        if not hub_auth.check_scopes(hub_auth.access_scopes, model):
            kind = model.get("kind", "user")
            raise web.HTTPError(
                403,
                f"{kind} {model.get('name')!r} may not use this server: JupyterHub grants it none of "
                f"{', '.join(sorted(hub_auth.access_scopes))}",
            )

    def _keep_url_token(self, handler: RequestHandler, token: str) -> None:
        """A page opened with ``?token=`` (JUPYTERHUB_ALLOW_TOKEN_IN_URL) keeps it in the
        cookie, so the next page needs no token; never from a websocket or a script's fetch."""
        headers = handler.request.headers
        if headers.get("Upgrade", "").lower() == "websocket":
            return
        if handler.request.method == "GET" and headers.get("Sec-Fetch-Mode", "navigate") == "navigate":
            self.set_token_cookie(handler, token)

    # -- the OAuth cookie -------------------------------------------------------

    def set_token_cookie(self, handler: RequestHandler, token: str) -> None:
        """Keep a Hub token in the signed cookie HubOAuth names for this server
        (its OAuth client id), below base_url, ``HttpOnly``, ``SameSite=Lax``,
        ``Secure`` when the browser speaks https; ``JUPYTERHUB_COOKIE_OPTIONS`` on top."""
        # start-up cost: jupyterhub (sqlalchemy, aiohttp), as for hub_auth
        from jupyterhub.utils import get_browser_protocol

        hub_auth = self.hub_auth
        options: dict[str, Any] = {"path": hub_auth.cookie_path, "httponly": True, "samesite": "Lax"}
        if get_browser_protocol(handler.request) == "https" or hub_auth.cookie_host_prefix_enabled:
            options["secure"] = True
        options.update(hub_auth.cookie_options)
        handler.set_signed_cookie(hub_auth.cookie_name, token, **options)

    def clear_login_cookie(self, handler: RequestHandler) -> None:
        hub_auth = self.hub_auth
        name = hub_auth.cookie_name
        if name.startswith("__Host-"):  # such a cookie is only cleared as it was set: secure, at /
            handler.clear_cookie(name, path="/", secure=True)
        else:
            handler.clear_cookie(name, path=hub_auth.cookie_path)

    # -- beside the server --------------------------------------------------------

    def ssl_options(self) -> Any:
        """The TLS context for requests to the Hub (internal_ssl), or None."""
        # start-up cost: jupyterhub (sqlalchemy, aiohttp), as for hub_auth
        from jupyterhub.utils import make_ssl_context

        hub_auth = self.hub_auth
        return make_ssl_context(hub_auth.keyfile, hub_auth.certfile, cafile=hub_auth.client_ca)

    async def start(self, serverapp: ServerApp) -> None:
        """Check the Hub answers (a clear StartupError if not), then start the activity reports."""
        hub_auth = self.hub_auth
        if not hub_auth.access_scopes:
            raise StartupError(
                "JupyterHub mode: no access scopes (JUPYTERHUB_OAUTH_ACCESS_SCOPES is empty), so nobody could use this server"
            )
        version = await self._hub_version()
        # start-up cost: jupyterhub (sqlalchemy, aiohttp), as for hub_auth
        from jupyterhub._version import __version__ as client_version

        # The Hub warns about a server whose answers do not say the jupyterhub it was built with.
        if serverapp.web_app is not None:
            settings = serverapp.web_app.settings
            settings["headers"] = {**settings.get("headers", {}), "X-JupyterHub-Version": client_version}
        self.log.info(
            "JupyterHub mode: serving %s for JupyterHub %s at %s (access: %s)",
            self.username,
            version,
            hub_auth.api_url,
            ", ".join(sorted(hub_auth.access_scopes)),
        )
        if not (self.activity_url and self.activity_interval):
            self.log.info("Not reporting activity to JupyterHub (no activity_url, or activity_interval 0)")
            return

        self._reporter = ActivityReporter(
            url=self.activity_url,
            token=hub_auth.api_token,
            server_name=os.environ.get("JUPYTERHUB_SERVER_NAME", ""),
            interval=self.activity_interval,
            last_activity=lambda: serverapp.activity.last_activity,
            ssl_options=self.ssl_options(),
            log=self.log,
        )
        self._reporter.start()

    async def _hub_version(self) -> str:
        """The Hub's version, from its API root; retried with backoff, then a StartupError."""
        url = self.hub_auth.api_url.rstrip("/") + "/"
        request = HTTPRequest(url, request_timeout=10, ssl_options=self.ssl_options())
        waits = list(HUB_CHECK_WAITS)
        while True:
            try:
                response = await AsyncHTTPClient().fetch(request)
            except (OSError, HTTPClientError) as err:
                if not waits:
                    raise StartupError(f"Cannot reach JupyterHub at {url}: {err}") from err
                self.log.warning("Cannot reach JupyterHub at %s: %s; trying again in %gs", url, err, waits[0])
                await asyncio.sleep(waits.pop(0))
            else:
                return response.headers.get("X-JupyterHub-Version") or str(json.loads(response.body).get("version"))

    async def stop(self) -> None:
        """Report the last activity (bounded), stop reporting, close the Hub client's connections."""
        await super().stop()
        if self._reporter is not None:
            await self._reporter.stop(timeout=STOP_REPORT_TIMEOUT)
            self._reporter = None
        if self.trait_has_value("hub_auth"):
            # start-up cost: jupyterhub (sqlalchemy, aiohttp), as for hub_auth
            from jupyterhub.httpclient import JupyterHubHTTPClient

            await JupyterHubHTTPClient.loop_instance().close()  # else aiohttp logs an unclosed session at exit
