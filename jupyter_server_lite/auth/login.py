"""``/login`` and ``/logout`` pages.

A login attempt is checked off the event loop, and an address that keeps
failing waits longer and longer between attempts (:mod:`.throttle`).
"""

from __future__ import annotations

import math
import re
from urllib.parse import quote, urlparse

from ..web.handlers import JupyterHandler, url_path_join

#: Characters that never belong in a local ``next`` path: controls, space, backslash.
UNSAFE_IN_NEXT = re.compile(r"[\x00-\x20\x7f\\]")

#: Printable ASCII stays as it is in the redirect; anything else is percent-encoded.
_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))


class LoginHandler(JupyterHandler):
    """Password (or token) form; success sets the login cookie and follows ``next``."""

    allow_unauthenticated = True

    def get(self) -> None:
        if self.current_user is not None:
            self.redirect(self.next_url())
            return
        self.finish(self.render_template("login.html", next=self.next_url(), error=None))

    async def post(self) -> None:
        provider = self.identity_provider
        throttle = provider.login_throttle
        client = self.request.remote_ip or ""
        wait = math.ceil(throttle.retry_after(client))
        if wait:
            self.log.warning(
                "Login attempt from %s refused unchecked: it must wait %ds after failed ones", client, wait
            )
            self.set_header("Retry-After", str(wait))
            self.answer_form(429, f"Too many failed attempts: try again in {wait} seconds.")
            return
        if await throttle.run(provider.check_login, self.get_body_argument("password", "")):
            throttle.succeeded(client)
            provider.set_login_cookie(self)
            self.redirect(self.next_url())
            return
        failures, delay = throttle.failed(client)
        self.log.warning(
            "Failed login attempt from %s (%d in a row; the next is checked after %ds)", client, failures, delay
        )
        self.answer_form(401, "Invalid password or token.")

    def answer_form(self, status: int, error: str) -> None:
        self.set_status(status)
        self.finish(self.render_template("login.html", next=self.next_url(), error=error))

    def next_url(self) -> str:
        """Where to go after login: ``next``, made safe by :func:`local_next_url`."""
        return local_next_url(self.get_argument("next", ""), self.base_url)


def local_next_url(target: str, base_url: str) -> str:
    """Where to go after a login: ``target`` if it is a local path under ``base_url``,
    never another site; else ``base_url``.

    Non-ASCII characters (and other Unicode separators a browser might
    drop) are percent-encoded, so the ``Location`` means the same to every client.
    """
    # Browsers drop tabs and newlines and read "\\" as "/", so "/\t/evil"
    # and "/\\evil" would leave the site: refuse any such character.
    if not target or UNSAFE_IN_NEXT.search(target):
        return base_url
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or target.startswith("//") or not target.startswith(base_url):
        return base_url
    return quote(target, safe=_PRINTABLE_ASCII)  # a Location header is ASCII: /a/é is /a/%C3%A9


class LogoutHandler(JupyterHandler):
    """Clear the login cookie."""

    allow_unauthenticated = True

    def get(self) -> None:
        self.identity_provider.clear_login_cookie(self)
        self.finish(self.render_template("logout.html", login_url=url_path_join(self.base_url, "login")))


default_handlers = [
    (r"/login", LoginHandler),
    (r"/logout", LogoutHandler),
]
