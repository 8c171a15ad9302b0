"""The identity provider: maps a request to a user, or to nobody.

The token is, first found: ``IdentityProvider.token`` (config or
``--token``), the ``JUPYTER_TOKEN`` environment variable, the first line of
the file named by ``JUPYTER_TOKEN_FILE``, or a random one -- unless a
password is set, which then replaces the random token.  (The same order as
jupyter_server, so a fixed token need not be on the command line, where
``ps`` shows it.)

Three ways in, checked in this order:

1. ``Authorization: token <token>`` (or ``Bearer``) header (API clients);
2. ``?token=<token>`` in the URL (the link printed at start-up), after which
   a signed cookie is set so the token need not travel again;
3. the signed login cookie (set by ``?token=`` or by the ``/login`` form).

The method used is remembered on the handler (``"header"``, ``"query"``,
``"cookie"``, or ``"none"`` when authentication is off): the XSRF check
exempts only the token methods, because a forged cross-site request carries
cookies but can never carry the token.

The login cookie carries the user's name and a digest of the credentials
that issued it (an HMAC keyed by ``cookie_secret``): change the token or the
password and every cookie issued before is refused, even when
``cookie_secret`` is fixed to keep logins across restarts.

The provider is swappable (``ServerApp.identity_provider_class``); what a
subclass may change is the methods below the line "the provider's part in
the server": its routes (``/login``, ``/logout``...), settings it imposes on
the server, and what it runs beside the server while it serves.
:class:`~.hub.HubIdentityProvider` (JupyterHub's OAuth) is one.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import hmac
import os
import secrets
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from traitlets import Instance, Unicode, default
from traitlets.config import Config, LoggingConfigurable

from ..listen import StartupError
from ..traitdoc import computed_default
from .login import default_handlers
from .security import passwd_check
from .throttle import LoginThrottle

if TYPE_CHECKING:
    from tornado.web import RequestHandler

    from ..serverapp import ServerApp
    from ..web.application import Route

#: What :meth:`IdentityProvider.get_user` answers: ``(user, method)``.
Identity = tuple["User | None", "str | None"]


@dataclasses.dataclass(frozen=True)
class User:
    """The identity model of ``GET /api/me`` (field names as in Jupyter Server)."""

    username: str
    name: str = ""
    display_name: str = ""
    initials: str | None = None
    avatar_url: str | None = None
    color: str | None = None

    def to_model(self) -> dict[str, Any]:
        model = dataclasses.asdict(self)
        model["name"] = self.name or self.username
        model["display_name"] = self.display_name or model["name"]
        return model


class IdentityProvider(LoggingConfigurable):
    """Token and password authentication for a single-user server."""

    token = computed_default(
        Unicode(
            help="""Token that grants access. When not set: the JUPYTER_TOKEN environment
            variable, else the first line of the file JUPYTER_TOKEN_FILE names, else a random
            token made at every start (none when a password is set); only a random token is
            printed in the start-up URL. Setting it to an empty string turns authentication
            OFF: anyone who can reach the port can run code (the server then warns at every start).""",
        ),
        "a random token per start (none if a password is set)",
    ).tag(config=True)

    @default("token")
    def _default_token(self) -> str:
        from_env = os.environ.get("JUPYTER_TOKEN")
        if from_env:
            return from_env
        token_file = os.environ.get("JUPYTER_TOKEN_FILE")
        if token_file:
            return read_token_file(token_file)
        if self.hashed_password:
            return ""
        self._generated_token = secrets.token_hex(24)
        return self._generated_token

    _generated_token = ""

    @property
    def token_generated(self) -> bool:
        """Whether the token was made at random for this start (not configured)."""
        return bool(self.token) and self.token == self._generated_token

    hashed_password = Unicode(
        "",
        help="""Hashed password for the /login page, as made by
        `jupyter server-lite password` or `jupyter_server_lite.auth.passwd()`.""",
    ).tag(config=True)

    username = Unicode(help="The name of the single user of this server.").tag(config=True)

    login_throttle = Instance(LoginThrottle, (), help="Backoff for failed /login attempts; runs password checks.")

    @default("username")
    def _default_username(self) -> str:
        try:
            return getpass.getuser()
        except Exception:  # no passwd entry (containers): still a usable name
            return "jovyan"

    cookie_name = Unicode(
        "",
        help="""Name of the login cookie. By default jsl-auth-<port>, the port the
        server listens on: browsers share cookies across the ports of one host, so
        two servers there must not use the same name.""",
    ).tag(config=True)

    @property
    def auth_enabled(self) -> bool:
        return bool(self.token or self.hashed_password)

    @property
    def user(self) -> User:
        return User(username=self.username)

    def cookie_name_for(self, handler: RequestHandler) -> str:
        """The login cookie's name: configured, or from the listening port.

        The port comes from the server, not from the request's Host header,
        which a client (or a proxy in front) chooses.
        """
        if self.cookie_name:
            return self.cookie_name
        port = getattr(handler.settings.get("serverapp"), "actual_port", 0)
        return f"jsl-auth-{port}"

    def get_user(self, handler: RequestHandler) -> Identity | Awaitable[Identity]:
        """Identify the request: ``(user, method)``; ``(None, None)`` when anonymous.

        ``method`` is ``"header"``, ``"query"``, ``"cookie"`` or ``"none"``
        (authentication disabled).  A valid ``?token=`` also sets the cookie.
        A provider that must ask elsewhere returns an awaitable of the same
        pair (the handler awaits it); raising ``HTTPError(403)`` refuses a
        caller it knows but does not let in.
        """
        if not self.auth_enabled:
            return self.user, "none"
        header = handler.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer") and self._token_matches(value.strip()):
            return self.user, "header"
        query_token = handler.get_query_argument("token", "")
        if query_token and self._token_matches(query_token):
            self.set_login_cookie(handler)
            return self.user, "query"
        cookie = handler.get_signed_cookie(self.cookie_name_for(handler))
        if cookie is not None and hmac.compare_digest(cookie, self._cookie_value(handler).encode()):
            return self.user, "cookie"
        return None, None

    def _token_matches(self, candidate: str) -> bool:
        return bool(self.token) and hmac.compare_digest(candidate.encode(), self.token.encode())

    def _cookie_value(self, handler: RequestHandler) -> str:
        """The user, and a digest of the credentials now in force (see the module docstring).

        The signature (cookie_secret) makes the cookie unforgeable; the digest,
        keyed by the same secret so that it reveals nothing about a short token,
        makes it worthless once the token or the password changes.
        """
        key = str(handler.settings.get("cookie_secret", "")).encode()
        credentials = f"{self.token}\0{self.hashed_password}".encode()
        return f"{self.username}:{hmac.new(key, credentials, hashlib.sha256).hexdigest()[:32]}"

    def check_login(self, password: str) -> bool:
        """Whether a /login form submission is valid: the token, or the password.

        Slow (PBKDF2) when a password is set: call it through
        :attr:`login_throttle`, off the event loop.
        """
        if self._token_matches(password):
            return True
        return bool(self.hashed_password) and passwd_check(self.hashed_password, password)

    def set_login_cookie(self, handler: RequestHandler) -> None:
        handler.set_signed_cookie(
            self.cookie_name_for(handler),
            self._cookie_value(handler),
            expires_days=None,
            httponly=True,
            samesite="Lax",
            secure=handler.request.protocol == "https",
            path=handler.settings.get("base_url", "/"),
        )

    def clear_login_cookie(self, handler: RequestHandler) -> None:
        handler.clear_cookie(self.cookie_name_for(handler), path=handler.settings.get("base_url", "/"))

    # -- the provider's part in the server ------------------------------------

    def routes(self) -> list[Route]:
        """The pages this provider serves, relative to base_url: ``/login`` and ``/logout``.

        They are core routes (registered first; their first segments are
        reserved names, see ``extension/mount.py``).
        """
        return list(default_handlers)

    @classmethod
    def server_config(cls) -> Config:
        """Server settings this provider imposes: above every config file, below the
        command line.  None here; JupyterHub's provider takes the address, port
        and base_url from the Hub's environment.  Raises ``StartupError`` when
        they cannot be had."""
        return Config()

    async def start(self, serverapp: ServerApp) -> None:
        """The server is about to listen: start what runs beside it (nothing here).
        A ``StartupError`` stops the start."""

    async def stop(self) -> None:
        """The server stops: end what :meth:`start` began (here the password-check
        thread, which the first login made). Safe to call twice, or without a start."""
        self.login_throttle.close()


def read_token_file(path: str) -> str:
    """The token in ``path`` (its first line, without surrounding whitespace).

    A file that cannot be read, or holds no token, stops the start naming it:
    running without the token the user meant -- or without any -- is worse.
    """
    try:
        with open(path, encoding="utf-8") as f:
            token = f.readline(4096).strip()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise StartupError(f"Cannot read the token file {path} (JUPYTER_TOKEN_FILE): {reason}") from err
    if not token:
        raise StartupError(f"The token file {path} (JUPYTER_TOKEN_FILE) holds no token")
    return token
