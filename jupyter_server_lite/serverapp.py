"""ServerApp: configuration, command line, start and stop of one server.

The flow of a start (see ``ARCHITECTURE.md``)::

    initialize(argv)  parse CLI -> load config files -> core managers
                      -> extensions (find, import, configure) -> web app
    start_server()    bind -> runtime file -> hooks ``server_started``
    stop_server()     hooks ``server_stopping`` -> close sockets
                      -> shut down kernels -> remove runtime file

``initialize`` never needs a running event loop, so a program can build a
server, inspect it, and serve it from its own loop with ``await
start_server()``; ``start()`` is the command-line path that owns the loop
and stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import sys
import webbrowser
from copy import deepcopy
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from jupyter_core.application import JupyterApp
from tornado import httpserver, web
from tornado.log import LogFormatter
from traitlets import Bool, Dict, Instance, Integer, List, TraitError, Type, Unicode, default, validate

from ._version import __version__
from .activity import Activity, IdleWatch
from .auth.identity import IdentityProvider
from .cli import options as cli_options
from .configfiles import load_config_files
from .extension.manager import ExtensionManager
from .extension.plugins import Hooks
from .listen import bind_with_retries, tls_context
from .runtime import remove_runtime_file, runtime_file_path, write_runtime_file
from .services.kernels.manager import MappingKernelManager
from .services.kernels.websocket import KernelWebsocketManager
from .services.kernelspecs.manager import KernelSpecManager
from .services.sessions.manager import SessionManager
from .web.application import make_application
from .web.handlers import host_is_local, url_path_join


class ServerApp(JupyterApp):
    """A Jupyter server: kernels, kernelspecs and sessions, plus extensions."""

    name = "jupyter-server-lite"
    version = __version__
    description = """A small, fast, extensible Jupyter server.

    Serves Jupyter kernels, kernelspecs and sessions over the Jupyter Server
    REST API and kernel websocket; everything else is an extension."""
    examples = cli_options.examples
    aliases = cli_options.aliases
    flags = cli_options.flags
    subcommands = cli_options.subcommands
    #: Configurable classes shown by --help-all and written by --generate-config.
    classes = [IdentityProvider, KernelSpecManager, MappingKernelManager, KernelWebsocketManager, SessionManager]

    # tornado's formatter knows the %(color)s/%(end_color)s fields of log_format
    # (colour only on a terminal); traitlets' default formatter does not.
    _log_formatter_cls = LogFormatter  # type: ignore[assignment]  # a logging.Formatter all the same

    @default("log_format")
    def _default_log_format(self) -> str:
        return "%(color)s[%(levelname)1.1s %(asctime)s.%(msecs).03d %(name)s]%(end_color)s %(message)s"

    @default("log_datefmt")
    def _default_log_datefmt(self) -> str:
        return "%H:%M:%S"

    def get_default_logging_config(self) -> dict[str, Any]:
        """traitlets leaves the logger at DEBUG and filters in the handler, so every
        debug call (an access-log line per request) would still build a record;
        the logger itself takes log_level instead."""
        config = super().get_default_logging_config()
        for logger in config.get("loggers", {}).values():
            logger["level"] = logging.getLevelName(
                cast(int, self.log_level)
            )  # traitlets turns a level name into its number
        return config

    @property
    def config_file_name(self) -> str:  # type: ignore[override]
        return "jupyter_server_lite_config"

    # -- network ----------------------------------------------------------

    ip = Unicode("localhost", help="The IP address or host name the server listens on.").tag(config=True)

    @validate("ip")
    def _validate_ip(self, proposal: Any) -> str:
        return "" if proposal["value"] == "*" else proposal["value"]

    port = Integer(8888, min=0, max=65535, help="The port to listen on; 0 picks a free port.").tag(config=True)
    port_retries = Integer(
        50, min=0, help="How many following ports to try when the port is taken; 0 fails at once."
    ).tag(config=True)
    base_url = Unicode("/", help="The URL prefix of every route, for serving behind a proxy.").tag(config=True)

    @validate("base_url")
    def _validate_base_url(self, proposal: Any) -> str:
        return url_path_join("/", proposal["value"], "/")

    certfile = Unicode("", help="TLS certificate file: serve https when set (with keyfile).").tag(config=True)
    keyfile = Unicode("", help="TLS private key file for certfile.").tag(config=True)
    max_body_size = Integer(512 * 1024 * 1024, help="Largest request body accepted, in bytes.").tag(config=True)
    websocket_max_message_size = Integer(
        10 * 1024 * 1024,
        help="""Largest websocket message accepted from a client, in bytes (as in tornado and
        jupyter_server); a larger one closes the connection with code 1009.""",
    ).tag(config=True)
    max_buffer_size = Integer(
        512 * 1024 * 1024, help="Largest amount of incoming data buffered per connection, in bytes."
    ).tag(config=True)

    # -- security -----------------------------------------------------------

    allow_origin = Unicode(
        "", help="Origin allowed to make cross-origin requests (CORS); '*' allows any. Default: none."
    ).tag(config=True)
    allow_origin_pat = Unicode(
        "", help="Regular expression of origins allowed cross-origin; used if allow_origin is unset."
    ).tag(config=True)
    allow_credentials = Bool(False, help="Send Access-Control-Allow-Credentials: true to allowed origins.").tag(
        config=True
    )
    allow_remote_access = Bool(
        help="""Answer requests whose Host is not a local name. Off by default when
        listening on a loopback address (protects against DNS rebinding); on when
        listening on all interfaces or a non-loopback address."""
    ).tag(config=True)

    @default("allow_remote_access")
    def _default_allow_remote(self) -> bool:
        if self.ip in ("", "0.0.0.0", "::"):
            return True
        return not host_is_local(self.ip, self.local_hostnames)

    local_hostnames = List(
        Unicode(), ["localhost"], help="Host names taken as local by the Host check (loopback IPs always are)."
    ).tag(config=True)
    disable_check_xsrf = Bool(
        False, help="Disable the XSRF check for cookie-authenticated requests (not recommended)."
    ).tag(config=True)
    cookie_secret = Unicode(help="Secret that signs the login cookie; random per start by default.").tag(config=True)

    @default("cookie_secret")
    def _default_cookie_secret(self) -> str:
        return secrets.token_hex(32)

    # -- files and pages ----------------------------------------------------

    root_dir = Unicode(
        help="The directory kernels start in (with a session's path below it). Default: the current directory."
    ).tag(config=True)

    @default("root_dir")
    def _default_root_dir(self) -> str:
        return os.getcwd()

    @validate("root_dir")
    def _validate_root_dir(self, proposal: Any) -> str:
        value = os.path.abspath(os.path.expanduser(proposal["value"]))
        if not os.path.isdir(value):
            raise TraitError(f"ServerApp.root_dir: {value!r} is not a directory")
        return value

    open_browser = Bool(True, help="Open a browser at the landing page after start-up.").tag(config=True)
    browser = Unicode("", help="Browser command for webbrowser.get(); the system default when empty.").tag(config=True)
    default_url = Unicode("/", help="The path (below base_url) printed and opened at start-up.").tag(config=True)
    tornado_settings = Dict(help="Extra settings for the tornado Application.").tag(config=True)

    # -- lifetime -----------------------------------------------------------

    shutdown_no_activity_timeout = Integer(
        0,
        help="""Stop the server after this many seconds with no kernels, no connections and
        no state-changing request. 0 (the default) never stops.""",
    ).tag(config=True)

    # -- extensions -----------------------------------------------------------

    jpserver_extensions = Dict(
        Bool(),
        help="""Extensions to load: {"module": true|false}. Merged from every conf.d
        enabler file, config file and the command line; false disables.""",
    ).tag(config=True)
    safe_mode = Bool(False, help="Load no extension at all, for debugging the core.").tag(config=True)
    strict_extensions = Bool(False, help="Fail the start when an enabled extension fails to load.").tag(config=True)

    # -- swappable parts ----------------------------------------------------------

    identity_provider_class = Type(
        IdentityProvider, klass=IdentityProvider, help="The identity provider (authentication) class."
    ).tag(config=True)

    identity_provider = Instance(IdentityProvider)

    kernel_spec_manager_class = Type(
        "jupyter_server_lite.services.kernelspecs.manager.KernelSpecManager",
        klass="jupyter_server_lite.services.kernelspecs.manager.KernelSpecManager",
        help="The kernelspec manager class: finds the installed kernels (a subclass of the default).",
    ).tag(config=True)
    kernel_manager_class = Type(
        "jupyter_server_lite.services.kernels.manager.MappingKernelManager",
        klass="jupyter_server_lite.services.kernels.manager.MappingKernelManager",
        help="The kernel manager class: starts, tracks and stops kernels (a subclass of the default).",
    ).tag(config=True)
    session_manager_class = Type(
        "jupyter_server_lite.services.sessions.manager.SessionManager",
        klass="jupyter_server_lite.services.sessions.manager.SessionManager",
        help="The session manager class: binds documents to kernels, in sqlite3 (a subclass of the default).",
    ).tag(config=True)

    # The managers exist once initialize() has built them; asking earlier is a
    # mistake in the calling program, said as such rather than as None.
    _kernel_spec_manager: KernelSpecManager | None = None
    _kernel_manager: MappingKernelManager | None = None
    _session_manager: SessionManager | None = None
    _kernel_websocket_manager: KernelWebsocketManager | None = None

    @property
    def kernel_spec_manager(self) -> KernelSpecManager:
        """Finds the installed kernels (``kernel_spec_manager_class``)."""
        return _built(self._kernel_spec_manager, "kernel_spec_manager")

    @property
    def kernel_manager(self) -> MappingKernelManager:
        """Starts, tracks and stops kernels (``kernel_manager_class``)."""
        return _built(self._kernel_manager, "kernel_manager")

    @property
    def session_manager(self) -> SessionManager:
        """Binds documents to kernels (``session_manager_class``)."""
        return _built(self._session_manager, "session_manager")

    @property
    def kernel_websocket_manager(self) -> KernelWebsocketManager:
        """The kernel websockets' settings and every session's channels."""
        return _built(self._kernel_websocket_manager, "kernel_websocket_manager")

    hooks = Instance(Hooks, help="The plugin manager: extensions' hook implementations and calls.")

    @default("hooks")
    def _default_hooks(self) -> Hooks:
        return Hooks(self.log)

    def call_hook(self, name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call hook ``name`` with ``serverapp=self`` and ``kwargs``, failures isolated."""
        return self.hooks.call(name, serverapp=self, **kwargs)

    extension_manager = Instance(
        ExtensionManager, help="The extensions of this server: their records, routes and settings."
    )

    @default("extension_manager")
    def _default_extension_manager(self) -> ExtensionManager:
        return ExtensionManager(self)

    def register_extension(self, extension: Any, as_starter: bool = False) -> None:
        """Load ``extension`` (an ExtensionApp class or instance, a module, or a
        module name) with the enabled ones, without a conf.d file.  Call it
        before :meth:`initialize`; ``as_starter`` marks the one ``jupyter <name>`` launched
        (the *starter*: :attr:`ExtensionManager.starter` is its record)."""
        self.extension_manager.register(extension, as_starter=as_starter)

    activity = Instance(Activity)

    @default("activity")
    def _default_activity(self) -> Activity:
        return Activity(self._kernel_activity)

    def _kernel_activity(self) -> Any:
        """The latest kernel message (the kernel manager keeps it; read when asked)."""
        return self._kernel_manager.last_activity if self._kernel_manager is not None else None

    web_app = Instance(web.Application, allow_none=True)
    http_server = Instance(httpserver.HTTPServer, allow_none=True)
    started = Bool(False, help="Whether start_server() has finished.")
    loaded_config: Any = None

    # -- initialisation -----------------------------------------------------

    def initialize(self, argv: list[str] | None = None) -> None:
        """Parse the command line, load config and build everything that needs no loop."""
        if argv is None:
            argv = sys.argv[1:]
        self.parse_command_line(argv)
        if self.subapp is not None:
            return
        cl_config = deepcopy(self.config)
        self.init_logging_bridge()
        self.load_config_file()
        cli_extensions = cl_config.get("ServerApp", {}).get("jpserver_extensions")
        self.update_config(cl_config)
        if cli_extensions:
            merged = dict(self.loaded_config.extensions)
            merged.update(cli_extensions)
            self.jpserver_extensions = merged
        self.init_configurables()
        self.init_extensions()
        self.init_webapp()

    def init_logging_bridge(self) -> None:
        """Route tornado's and our modules' loggers through the application log."""
        for name in ("tornado", "jupyter_server_lite"):
            logger = logging.getLogger(name)
            logger.parent = self.log
            logger.propagate = True
            logger.setLevel(logging.NOTSET)

    def load_config_file(self, suppress_errors: bool = True) -> None:  # type: ignore[override]
        """Load every config file; a malformed one stops the start, naming the file."""
        self.loaded_config = load_config_files(
            self.config_file_paths, extra_file=self.config_file or None, log=self.log
        )
        self.update_config(self.loaded_config.config)

    def init_configurables(self) -> None:
        self.identity_provider = self.identity_provider_class(parent=self, log=self.log)
        self._kernel_spec_manager = self.kernel_spec_manager_class(parent=self, log=self.log)
        kernel_kwargs: dict[str, Any] = {"root_dir": self.root_dir}
        if "connection_dir" not in self.config.get("MappingKernelManager", {}):  # a configured one wins
            kernel_kwargs["connection_dir"] = self.runtime_dir
        self._kernel_manager = self.kernel_manager_class(
            parent=self, log=self.log, kernel_spec_manager=self.kernel_spec_manager, **kernel_kwargs
        )
        self._announced_kernels = {}
        self._kernel_manager.add_kernel_listener(self._on_kernel_event)
        self._kernel_websocket_manager = KernelWebsocketManager(
            parent=self, log=self.log, kernel_manager=self.kernel_manager
        )
        self._session_manager = self.session_manager_class(
            parent=self, log=self.log, kernel_manager=self.kernel_manager
        )

    #: Kernels announced by kernel_started (id -> kernelspec name), so kernel_stopped pairs with it.
    _announced_kernels: dict[str, str]

    def _on_kernel_event(self, event: str, kernel_id: str) -> None:
        """The kernel manager's events become activity and the kernel hooks.

        ``kernel_started`` fires when a kernel first answers; ``kernel_stopped``
        only for a kernel that had ``kernel_started`` (one that never answered
        gets neither).
        """
        self.activity.touch()
        announced = self._announced_kernels
        if event == "started":
            name = announced[kernel_id] = self.kernel_manager.get_kernel(kernel_id).kernel_name
            self.call_hook("kernel_started", kernel_id=kernel_id, kernel_name=name)
        elif event == "shutdown" and kernel_id in announced:
            self.call_hook("kernel_stopped", kernel_id=kernel_id, kernel_name=announced.pop(kernel_id))

    def init_extensions(self) -> None:
        """Import, configure and load the extensions (see extension/manager.py); in
        strict mode a failure raises :class:`ExtensionError`."""
        self.extension_manager.load_all()

    def init_webapp(self) -> None:
        manager = self.extension_manager
        self.web_app = make_application(self, manager.rules(), manager.tornado_settings())

    # -- serving ------------------------------------------------------------

    @property
    def actual_port(self) -> int:
        return self._bound_port

    _bound_port = 0
    _runtime_file = ""

    def _bind(self) -> list[socket.socket]:
        """Listening sockets for ip/port (see :mod:`.listen`)."""
        return bind_with_retries(self.ip, self.port, self.port_retries, self.log)

    async def start_server(self) -> None:
        """Listen, write the runtime file and announce the server (needs a running loop).

        Raises :class:`StartupError` (with a message for the user) when the
        port, address or TLS files cannot be used.
        """
        self.http_server = httpserver.HTTPServer(
            self.web_app,
            ssl_options=tls_context(self.certfile, self.keyfile),
            xheaders=bool(self.tornado_settings.get("xheaders")),
            max_body_size=self.max_body_size,
            max_buffer_size=self.max_buffer_size,
        )
        sockets = self._bind()
        self._bound_port = sockets[0].getsockname()[1]
        self.http_server.add_sockets(sockets)
        self._runtime_file = runtime_file_path(self._bound_port, runtime_dir=self.runtime_dir)
        write_runtime_file(self.server_info(), self._runtime_file)
        self.activity = Activity(self._kernel_activity)  # "started" is when serving began, not when first asked
        self.kernel_manager.pool.open()
        self.started = True
        self.stop_requested.clear()
        if self.shutdown_no_activity_timeout > 0:
            self._idle_watch = IdleWatch(self.shutdown_no_activity_timeout, self._is_idle, self.request_stop, self.log)
        self.log.info("Jupyter Server Lite %s is running at:\n%s", __version__, "\n".join(self.display_urls))
        self.call_hook("server_started")

    _idle_watch: IdleWatch | None = None

    def _is_idle(self) -> bool:
        status = self.status_model()
        return not (status["kernels"] or status["connections"]) and (
            self.activity.idle_seconds() >= self.shutdown_no_activity_timeout
        )

    async def stop_server(self) -> None:
        """Stop serving and clean up; safe to call twice."""
        if self._idle_watch is not None:
            self._idle_watch.stop()
            self._idle_watch = None
        if self.started:
            self.call_hook("server_stopping")
        if self.http_server is not None:
            self.http_server.stop()
            await self.http_server.close_all_connections()
            self.http_server = None
        if self._session_manager is not None:
            self._session_manager.close()  # first: a session file keeps the rows of the kernels stopped below
        if self._kernel_manager is not None:
            await self._kernel_manager.shutdown_all()
        if self._runtime_file:
            remove_runtime_file(self._runtime_file)
            self._runtime_file = ""
        self.started = False

    def start(self) -> None:
        """Command-line start: own the event loop until SIGINT/SIGTERM."""
        if self.subapp is not None:
            self.subapp.start()
            return
        if self.generate_config:
            self.write_default_config()
            return
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            await self.start_server()
            if self.open_browser:
                self._launch_browser()
            await self.stop_requested.wait()
        finally:
            await self.stop_server()

    def _on_signal(self, sig: int) -> None:
        """First SIGINT/SIGTERM: a clean stop.  The handlers are then removed, so
        a second signal acts at once (a shutdown stuck on a kernel can be cut short)."""
        self.log.info("Received %s, shutting down (send it again to stop at once)", signal.Signals(sig).name)
        loop = asyncio.get_running_loop()
        for handled in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(handled)
        self.request_stop()

    stop_requested = Instance(
        asyncio.Event,
        (),
        help="""Set when the server should stop (signal, idle timeout, request_stop()).
        start() waits for it; a program serving with start_server() may too.""",
    )

    def request_stop(self) -> None:
        """Ask the server to stop: start() then runs stop_server() and returns."""
        self.stop_requested.set()

    # -- information --------------------------------------------------------

    @property
    def connection_host(self) -> str:
        if self.ip in ("", "0.0.0.0", "::"):
            return socket.gethostname()
        return f"[{self.ip}]" if ":" in self.ip else self.ip

    @property
    def url(self) -> str:
        scheme = "https" if self.certfile else "http"
        return f"{scheme}://{self.connection_host}:{self.actual_port}{self.base_url}"

    @property
    def display_url(self) -> str:
        """The start-up URL, the one place a token may be printed."""
        return self._with_token(self.url + self.default_url.lstrip("/"))

    @property
    def display_urls(self) -> list[str]:
        """The start-up URLs: on every interface, the loopback one too."""
        urls = [self.display_url]
        if self.ip in ("", "0.0.0.0", "::"):
            scheme = "https" if self.certfile else "http"
            urls.append(
                self._with_token(
                    f"{scheme}://127.0.0.1:{self.actual_port}{self.base_url}{self.default_url.lstrip('/')}"
                )
            )
        return urls

    def _with_token(self, url: str) -> str:
        token = self.identity_provider.token
        return f"{url}?{urlencode({'token': token})}" if token else url

    def server_info(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "port": self.actual_port,
            "pid": os.getpid(),
            "token": self.identity_provider.token,
            "base_url": self.base_url,
            "root_dir": self.root_dir,
            "secure": bool(self.certfile),
            "password": bool(self.identity_provider.hashed_password),
            "version": __version__,
        }

    def status_model(self) -> dict[str, Any]:
        model: dict[str, Any] = {}
        for _plugin, fields in self.call_hook("status_fields"):
            if isinstance(fields, dict):
                model.update(fields)
        model.update(
            {
                "started": self.activity.started,
                "last_activity": self.activity.last_activity,
                "connections": self._kernel_manager.total_connections if self._kernel_manager is not None else 0,
                "kernels": len(self._kernel_manager) if self._kernel_manager is not None else 0,
            }
        )
        return model

    def extension_links(self) -> list[tuple[str, str]]:
        """(name, URL) of each loaded extension's landing page, for the landing page."""
        return [(name, url_path_join(self.base_url, url)) for name, url in self.extension_manager.links()]

    def _launch_browser(self) -> None:
        try:
            browser = webbrowser.get(self.browser or None)
        except webbrowser.Error as err:
            self.log.warning("No web browser found: %s. Open the URL above by hand.", err)
            return
        browser.open(self.display_url, new=2)


_T = TypeVar("_T")


def _built(part: _T | None, name: str) -> _T:
    if part is None:
        raise RuntimeError(f"ServerApp.{name} does not exist yet: call initialize() first")
    return part
