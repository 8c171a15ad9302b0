"""The pages of JupyterHub mode's OAuth: ``/login``, ``/oauth_callback``, ``/logout``.

They replace the core's ``/login`` and ``/logout`` when the identity
provider is :class:`~.hub.HubIdentityProvider` (its ``routes()``), and are
core routes like them: ``oauth_callback`` is a reserved name.

The dance (OAuth 2 authorization code, with PKCE):

1. an anonymous visitor of a page is sent to ``/login?next=<page>`` (as in
   every mode); ``/login`` remembers ``next`` in a short-lived signed *state*
   cookie (HubOAuth's ``set_state_cookie``) and redirects to the Hub's
   authorize URL with that state;
2. the Hub logs the user in if needed, checks they may use this server (a
   user it does not let in sees the Hub's 403 there), and redirects to
   ``/oauth_callback?code=...&state=...``;
3. the callback checks that ``state`` is this browser's, trades the code for
   a token (HubOAuth's ``token_for_code``), checks the token's owner like
   every request, keeps the token in the OAuth cookie, sets the ``_xsrf``
   cookie and redirects to ``next``.

``/logout`` clears the OAuth cookie and goes on to the Hub's ``/hub/logout``,
which ends the Hub session too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from tornado import web
from tornado.httputil import url_concat

from ..web.handlers import JupyterHandler, url_path_join
from .login import local_next_url

if TYPE_CHECKING:
    from .hub import HubIdentityProvider


class HubPage(JupyterHandler):
    """A public page of the OAuth dance: HTML errors, the Hub provider at hand."""

    allow_unauthenticated = True

    @property
    def hub(self) -> HubIdentityProvider:
        return cast("HubIdentityProvider", self.identity_provider)


class HubLoginHandler(HubPage):
    """``GET /login?next=...``: to the Hub's authorize URL (or on to ``next`` when already in)."""

    def get(self) -> None:
        next_url = local_next_url(self.get_query_argument("next", ""), self.base_url)
        if self.current_user is not None:
            self.redirect(next_url)
            return
        hub_auth = self.hub.hub_auth
        params: dict[str, str] = {}
        remembered: dict[str, str] = {}
        if getattr(hub_auth, "pkce_enabled", False):  # jupyterhub 6 and later
            remembered["code_verifier"], params["code_challenge"], params["code_challenge_method"] = (
                hub_auth.generate_pkce_code_challenge()
            )
        params["state"] = hub_auth.set_state_cookie(self, next_url=next_url, **remembered)
        self.redirect(url_concat(hub_auth.login_url, params))


class HubOAuthCallbackHandler(HubPage):
    """``GET /oauth_callback?code=...&state=...``: finish the login the Hub approved."""

    async def get(self) -> None:
        hub_auth = self.hub.hub_auth
        error = self.get_query_argument("error", "")
        if error:
            description = self.get_query_argument("error_description", "") or error
            raise web.HTTPError(400, f"JupyterHub refused the login: {description}")
        code = self.get_query_argument("code", "")
        state = self.get_query_argument("state", "")
        if not code or not state:
            raise web.HTTPError(400, "An OAuth callback needs the code and state JupyterHub sends: log in again")
        cookie_state = self.get_signed_cookie(hub_auth.get_state_cookie_name(state))
        hub_auth.clear_oauth_state_cookies(self)
        if cookie_state is None or cookie_state.decode("ascii", "replace") != state:
            if self.current_user is not None:  # a stale callback (the back button) of a browser logged in already
                self.redirect(hub_auth.get_next_url(state))
                return
            raise web.HTTPError(403, "This login was not started by this browser (OAuth state mismatch): log in again")
        next_url = hub_auth.get_next_url(state)
        verifier = hub_auth.get_code_verifier(state) if hasattr(hub_auth, "get_code_verifier") else None
        hub_auth.clear_oauth_state(state)
        try:
            token = await hub_auth.token_for_code(code, sync=False, **({"code_verifier": verifier} if verifier else {}))
        except web.HTTPError as err:
            # HubOAuth says 500 both when the Hub refuses the code (a 4xx there)
            # and when it cannot be reached; its log line has the detail.
            unreachable = err.status_code != 500 or "connect" in (err.log_message or "")
            raise web.HTTPError(
                502 if unreachable else 400,
                "JupyterHub could not be asked to complete the login (see the server log)"
                if unreachable
                else "JupyterHub did not accept this login code: log in again",
            ) from err
        model = await self.hub.user_model(self, token)
        if model is None:
            raise web.HTTPError(502, "JupyterHub issued a token it does not know: log in again")
        self.hub.check_access(model)
        self.hub.set_token_cookie(self, token)
        self.xsrf_token  # noqa: B018 -- sets the _xsrf cookie that cookie-authenticated writes echo
        self.log.info("JupyterHub user %s logged in", model["name"])
        self.redirect(next_url)


class HubLogoutHandler(HubPage):
    """``GET /logout``: forget the OAuth cookie, then log out of the Hub too."""

    def get(self) -> None:
        hub_auth = self.hub.hub_auth
        self.hub.clear_login_cookie(self)
        self.redirect(hub_auth.hub_host + url_path_join(hub_auth.hub_prefix, "logout"))


default_handlers = [
    (r"/login", HubLoginHandler),
    (r"/oauth_callback", HubOAuthCallbackHandler),
    (r"/logout", HubLogoutHandler),
]
