"""``/login`` and ``/logout`` pages."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from ..web.handlers import JupyterHandler, url_path_join

#: Characters that never belong in a local ``next`` path: controls, space, backslash.
UNSAFE_IN_NEXT = re.compile(r"[\x00-\x20\x7f\\]")


class LoginHandler(JupyterHandler):
    """Password (or token) form; success sets the login cookie and follows ``next``."""

    allow_unauthenticated = True

    def get(self) -> None:
        if self.current_user is not None:
            self.redirect(self.next_url())
            return
        self.finish(self.render_template("login.html", next=self.next_url(), error=None))

    def post(self) -> None:
        if self.identity_provider.check_login(self.get_body_argument("password", "")):
            self.identity_provider.set_login_cookie(self)
            self.redirect(self.next_url())
            return
        self.log.warning("Failed login attempt from %s", self.request.remote_ip)
        self.set_status(401)
        self.finish(self.render_template("login.html", next=self.next_url(), error="Invalid password or token."))

    def next_url(self) -> str:
        """Where to go after login: a local path under base_url, never another site."""
        target = self.get_argument("next", "")
        # Browsers drop tabs and newlines and read "\\" as "/", so "/\t/evil"
        # and "/\\evil" would leave the site: refuse any such character.
        if not target or UNSAFE_IN_NEXT.search(target):
            return self.base_url
        parsed = urlparse(target)
        if parsed.scheme or parsed.netloc or target.startswith("//") or not target.startswith(self.base_url):
            return self.base_url
        return target


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
