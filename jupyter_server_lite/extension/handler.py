"""Base handlers for extensions: pick one, and the behaviour (and a bare route's namespace) follows.

* :class:`ExtensionHandler` -- a page: HTML errors, anonymous visitors
  redirected to the login page; a bare route lands at ``/<name>/...``.
* :class:`ExtensionAPIHandler` -- an API: JSON bodies and JSON errors, 403
  for anonymous clients; a bare route lands at ``/extension/api/<name>/...``.

Inside a :class:`~.mount.Mount` (``/api/contents``, ``/lab/api/settings``,
``/tree``...) the base class still sets the behaviour; the Mount sets the
place.  A websocket puts tornado's ``WebSocketHandler`` first and either
base second; it is authenticated before the upgrade.

Both are the core's own handlers (``JupyterHandler`` / ``APIHandler``) plus
what an extension needs: its app (``self.extension_app``, handed over by
the mount, not found through a global; the server is ``self.serverapp``), its settings, ``static_url`` for
its own ``/static/<name>/`` files with a cache-busting version, ``url_for``
for the URL of one of its named routes (see :mod:`.urls`), and
``render_template`` from its jinja2 environment with the core's templates as
fallback (templates get ``url_for`` too).  Every route is authenticated unless the handler class sets
``allow_unauthenticated = True``.

A handler's own ``initialize(**kwargs)`` receives the route's kwargs only;
the extension app is taken out before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tornado import httputil, web

from ..web.handlers import APIHandler, JupyterHandler, url_path_join

if TYPE_CHECKING:
    from traitlets.config import Config

    from .application import ExtensionApp


class _ExtensionBound:
    """What both extension base handlers add to the core's; not for direct use."""

    extension_app: ExtensionApp
    settings: dict[str, Any]
    base_url: str

    def __init__(self, application: web.Application, request: httputil.HTTPServerRequest, **kwargs: Any) -> None:
        self.extension_app = kwargs.pop("extension_app")
        super().__init__(application, request, **kwargs)  # type: ignore[call-arg]  # a mixin: the JupyterHandler it is mixed into has it

    @property
    def extension_name(self) -> str:
        return self.extension_app.name

    @property
    def extension_settings(self) -> dict[str, Any]:
        """This extension's settings (``ExtensionApp.settings``, kept in the tornado settings)."""
        return self.settings["extension_settings"][self.extension_app.name]

    @property
    def config(self) -> Config:
        """The extension app's traitlets config."""
        return self.extension_app.config

    def static_url(self, path: str, include_host: bool | None = None, **kwargs: Any) -> str:
        """``/static/<name>/<path>?v=<hash>`` for a file of the extension.

        A path that none of the extension's ``static_paths`` has falls back to
        the core's static files (so a core template such as ``page.html``
        still finds its stylesheet when an extension page extends it).
        """
        app = self.extension_app
        version = app.static_version(path)
        if not version:
            return super().static_url(path, include_host, **kwargs)  # type: ignore[misc]  # a mixin: the JupyterHandler it is mixed into has it
        url = url_path_join(self.base_url, "static", app.name, path) + f"?v={version}"
        if include_host is None:
            include_host = getattr(self, "include_host", False)
        if include_host:
            request = self.request  # type: ignore[attr-defined]  # a mixin: the JupyterHandler it is mixed into has it
            url = f"{request.protocol}://{request.host}{url}"
        return url

    def url_for(self, name: str, *args: Any) -> str:
        """The URL path of this extension's route ``name``, ``base_url`` included (:meth:`.ExtensionApp.url_for`)."""
        return self.extension_app.url_for(name, *args)

    def render_template(self, name: str, **ns: Any) -> str:
        """Render ``name`` from the extension's templates, the core's as fallback."""
        app = self.extension_app
        env = app.jinja2_env or self.settings["jinja2_env"]
        namespace = {
            "base_url": self.base_url,
            "xsrf_form_html": self.xsrf_form_html,  # type: ignore[attr-defined]  # a mixin: the JupyterHandler it is mixed into has it
            "version": self.serverapp.version,  # type: ignore[attr-defined]  # a mixin: the JupyterHandler it is mixed into has it
            "static_url": self.static_url,
            "url_for": self.url_for,
            "extension_name": app.name,
            "extension_url": url_path_join(self.base_url, app.page_url),
        }
        namespace.update(ns)
        return env.get_template(name).render(**namespace)


class ExtensionHandler(_ExtensionBound, JupyterHandler):
    """Base of an extension's pages: at ``/<name>/...``, or wherever a Mount puts them."""


class ExtensionAPIHandler(_ExtensionBound, APIHandler):
    """Base of an extension's JSON APIs: at ``/extension/api/<name>/...``, or wherever a Mount puts them."""


__all__ = ["ExtensionAPIHandler", "ExtensionHandler"]
