"""Serving: what a started server owns, how it starts and stops, and the command line's loop.

:class:`Serving` is the listening part of one started server -- its HTTP
server, bound port, runtime file and idle watch -- made by
``ServerApp.start_server()`` and closed by ``stop_server()``::

    start  identity provider starts -> bind -> runtime file -> the kernel manager
           starts serving (warm pool; in gateway mode, a check that the gateway answers)
           -> start-up lines -> hooks ``server_started``
    stop   hooks ``server_stopping`` -> identity provider stops -> close sockets
           -> session store closes -> kernels shut down -> runtime file removed

:func:`serve_until_stopped` is ``jupyter server-lite``'s event loop around
them: SIGINT/SIGTERM (a second one acts at once), the browser, the stop.
A program that serves from its own loop calls ``start_server()`` and
``stop_server()`` itself and never needs this loop.
"""

from __future__ import annotations

import asyncio
import signal
import webbrowser
from typing import TYPE_CHECKING

from tornado import httpserver

from ._version import __version__
from .activity import Activity, IdleWatch
from .listen import bind_with_retries, tls_context
from .runtime import remove_runtime_file, runtime_file_path, write_runtime_file
from .web.logs import SHOWS_TOKEN

if TYPE_CHECKING:
    from .serverapp import ServerApp


class Serving:
    """The listening part of one started server (see the module docstring)."""

    def __init__(self, app: ServerApp) -> None:
        self.app = app
        self.http_server: httpserver.HTTPServer | None = None
        #: The port actually bound (``ServerApp.port`` may be 0 or taken).
        self.port = 0
        self.runtime_file = ""
        self.idle_watch: IdleWatch | None = None

    async def start(self) -> None:
        """Listen, write the runtime file and announce the server.

        Raises :class:`~.listen.StartupError` (with a message for the user)
        when the port, address or TLS files cannot be used, or the identity
        provider cannot start (JupyterHub unreachable).
        """
        app = self.app
        await app.identity_provider.start(app)
        self.http_server = httpserver.HTTPServer(
            app.web_app,
            ssl_options=tls_context(app.certfile, app.keyfile, app.client_ca),
            xheaders=bool(app.tornado_settings.get("xheaders")),
            max_body_size=app.max_body_size,  # our handlers check bodies before reading them (web/bodies.py)
            max_buffer_size=app.max_buffer_size,
            idle_connection_timeout=app.header_timeout,  # tornado's name for its header timeout
            body_timeout=app.body_timeout,
        )
        sockets = bind_with_retries(app.ip, app.port, app.port_retries, app.log)
        self.port = sockets[0].getsockname()[1]
        self.http_server.add_sockets(sockets)
        self.runtime_file = runtime_file_path(self.port, runtime_dir=app.runtime_dir)
        write_runtime_file(app.server_info(), self.runtime_file)
        app.activity = Activity(app.kernel_activity)  # "started" is when serving began, not when first asked
        app.kernel_manager.start_serving()
        if app.shutdown_no_activity_timeout > 0:
            self.idle_watch = IdleWatch(app.shutdown_no_activity_timeout, self.is_idle, app.request_stop, app.log)
        app.log.info(
            "Jupyter Server Lite %s is running at:\n%s",
            __version__,
            "\n".join(app.display_urls),
            extra={SHOWS_TOKEN: True},  # the one line that may show the token
        )
        if not app.identity_provider.auth_enabled:
            app.log.warning(
                "AUTHENTICATION IS OFF: no token and no password (IdentityProvider.token is empty). Anyone who "
                "can reach %s can run code as %s. Remove the empty token (from the command line or config files) "
                "to get a random one at every start, or set a password with `jupyter server-lite password`.",
                app.url,
                app.identity_provider.username,
            )

    def is_idle(self) -> bool:
        """No kernel, no connection, and no real use for ``shutdown_no_activity_timeout`` seconds."""
        app = self.app
        status = app.status_model()
        return not (status["kernels"] or status["connections"]) and (
            app.activity.idle_seconds() >= app.shutdown_no_activity_timeout
        )

    async def stop(self) -> None:
        """Stop listening and clean up what was started; safe to call twice, or after a failed start."""
        app = self.app
        if self.idle_watch is not None:
            self.idle_watch.stop()
            self.idle_watch = None
        if app.trait_has_value("identity_provider"):
            await app.identity_provider.stop()  # its last report to JupyterHub, its password-check thread
        if self.http_server is not None:
            self.http_server.stop()
            await self.http_server.close_all_connections()
            self.http_server = None
        await app.shutdown_managers()
        if self.runtime_file:
            remove_runtime_file(self.runtime_file)
            self.runtime_file = ""


async def serve_until_stopped(app: ServerApp) -> None:
    """Start ``app``, open the browser if asked, wait for a stop request, stop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _on_signal, app, sig)
    try:
        await app.start_server()
        if app.open_browser:
            _launch_browser(app)
        await app.stop_requested.wait()
    finally:
        await app.stop_server()


def _on_signal(app: ServerApp, sig: int) -> None:
    """First SIGINT/SIGTERM: a clean stop.  The handlers are then removed, so
    a second signal acts at once (a shutdown stuck on a kernel can be cut short)."""
    app.log.info("Received %s, shutting down (send it again to stop at once)", signal.Signals(sig).name)
    loop = asyncio.get_running_loop()
    for handled in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(handled)
    app.request_stop()


def _launch_browser(app: ServerApp) -> None:
    try:
        browser = webbrowser.get(app.browser or None)
    except webbrowser.Error as err:
        app.log.warning("No web browser found: %s. Open the URL above by hand.", err)
        return
    browser.open(app.display_url, new=2)
