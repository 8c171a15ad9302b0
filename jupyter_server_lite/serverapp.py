"""ServerApp: the configuration of one server and the order in which it is built.

The flow of a start (see ``docs/architecture.md``)::

    initialize(argv)  parse CLI -> load config files -> identity provider's
                      settings (JupyterHub's environment) -> extension plan
                      -> core managers -> extensions (import, configure,
                      load; see extension/plan.py, manager.py) -> metrics -> web app
    start_server()    listen, runtime file, start-up lines (lifecycle.Serving)
                      -> hooks ``server_started``
    stop_server()     hooks ``server_stopping`` -> stop listening, sessions,
                      kernels, runtime file (lifecycle.Serving)

``initialize`` never needs a running event loop, so a program can build a
server, inspect it, and serve it from its own loop with ``await
start_server()``; ``start()`` is the command-line path that owns the loop
and stops on SIGINT/SIGTERM (:func:`.lifecycle.serve_until_stopped`).  Where
the server can be reached is :mod:`.addresses`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
from copy import deepcopy
from typing import TYPE_CHECKING, Any, TypeVar, cast

from jupyter_core.application import JupyterApp
from tornado import httpserver, web
from tornado.log import LogFormatter
from traitlets import (
    Bool,
    Dict,
    Enum,
    Float,
    Instance,
    Integer,
    List,
    TraitError,
    Type,
    Unicode,
    default,
    observe,
    validate,
)
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from . import addresses
from ._version import __version__
from .activity import Activity
from .auth.identity import IdentityProvider
from .cli import options as cli_options
from .configfiles import load_config_files
from .extension.manager import ExtensionLoad, ExtensionManager
from .extension.plan import ExtensionPlan, Registration, build_plan, enablers_in
from .extension.plugins import Hooks
from .lifecycle import Serving, serve_until_stopped
from .metrics import ServerMetrics
from .services.kernels.manager import MappingKernelManager
from .services.kernels.websocket import KernelWebsocketManager
from .services.kernelspecs.manager import KernelSpecManager
from .services.sessions.manager import SessionManager
from .services.status import status_model
from .traitdoc import computed_default
from .web.application import make_application
from .web.handlers import host_is_local, url_path_join
from .web.logs import add_redaction_to_logging_config, install_redaction

if TYPE_CHECKING:
    from .bundled.contents.base import ContentsManager
    from .bundled.events.logger import EventLogger
    from .gateway.client import GatewayClient


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
    #: Configurable classes shown by --help-all and written by --generate-config. Not the
    #: alternatives a flag selects (--hub's HubIdentityProvider): with exactly one subclass
    #: here, traitlets would move the --token alias onto it.
    classes = [
        IdentityProvider,
        KernelSpecManager,
        MappingKernelManager,
        KernelWebsocketManager,
        SessionManager,
    ]
    #: The configurable classes of the modes configuration turns on (gateway mode), by import
    #: string: imported for --help-all, --generate-config, the configuration reference and
    #: ``migrate``, and when the mode is on -- never on the start-up path otherwise.  (The
    #: classes these name by default, such as gateway mode's managers, come with them.)
    mode_classes = ("jupyter_server_lite.gateway.client.GatewayClient",)

    def _with_mode_classes(self) -> None:
        self.classes = [*self.classes, *(c for c in map(import_item, self.mode_classes) if c not in self.classes)]

    def emit_help(self, classes: bool = False) -> Any:
        """traitlets' help, gateway mode's settings (``--gateway-url``'s class) included."""
        self._with_mode_classes()
        return super().emit_help(classes)

    def generate_config_file(self, classes: Any = None) -> str:
        """traitlets' config file, with gateway mode's settings too."""
        self._with_mode_classes()
        return super().generate_config_file(classes)

    # -- logging ---------------------------------------------------------------
    # Declared again here with the server's defaults as static values, so that
    # --help, --help-all and --generate-config show the defaults a server uses
    # (traitlets' Application declares WARN and its own format).

    log_level = Enum(
        (0, 10, 20, 30, 40, 50, "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"),
        logging.INFO,
        help="""Log level, by value or name: DEBUG (10), INFO (20, the default), WARN (30),
        ERROR (40), CRITICAL (50). At DEBUG every request gets an access-log line;
        tracebacks are logged, never sent in a response, at any level.""",
    ).tag(config=True)
    log_format = Unicode(
        "%(color)s[%(levelname)1.1s %(asctime)s.%(msecs).03d %(name)s]%(end_color)s %(message)s",
        help="""Format of the human log lines (logging's %-style fields); %(color)s and
        %(end_color)s mark the part coloured on a terminal. Not used with log_json.""",
    ).tag(config=True)
    log_datefmt = Unicode("%H:%M:%S", help="Format of %(asctime)s in log_format (time.strftime).").tag(config=True)
    log_json = Bool(
        False,
        help="""Log one JSON object per line instead of human lines, for log collectors:
        time (ISO 8601, UTC), level, logger and message, plus for access-log lines method,
        path (the token redacted), status, duration_ms and remote_ip (see docs/running.md).""",
    ).tag(config=True)

    # tornado's formatter knows the %(color)s/%(end_color)s fields of log_format
    # (colour only on a terminal); traitlets' default formatter does not.
    _log_formatter_cls = LogFormatter  # type: ignore[assignment]  # a logging.Formatter all the same

    @observe("log_json")
    def _log_json_changed(self, change: Any) -> None:
        self._configure_logging()

    def get_default_logging_config(self) -> dict[str, Any]:
        """traitlets leaves the logger at DEBUG and filters in the handler, so every
        debug call (an access-log line per request) would still build a record;
        the logger itself takes log_level instead.  With ``log_json`` the console
        handler writes JSON lines (:mod:`.jsonlog`)."""
        config = super().get_default_logging_config()
        for logger in config.get("loggers", {}).values():
            logger["level"] = logging.getLevelName(
                cast(int, self.log_level)
            )  # traitlets turns a level name into its number
        if self.log_json:
            config["formatters"]["console"] = {"class": "jupyter_server_lite.jsonlog.JSONFormatter"}
        add_redaction_to_logging_config(config)  # rebuilt handlers keep masking secrets
        return config

    @property
    def config_file_name(self) -> str:  # type: ignore[override]  # an attribute in JupyterApp, fixed here
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
    base_url = Unicode(
        "/",
        help="""The URL prefix of every route, for serving behind a proxy; stored with a leading
        and a trailing /, and spelled as browsers send it: what they percent-encode in a path
        (space, non-ASCII, " < > ` { } ? #, a % that starts no escape) is stored encoded, so
        "/my lab/" is "/my%20lab/"; escapes already there are kept. A backslash is refused
        (browsers read it as /). Taken literally, not as a pattern.""",
    ).tag(config=True)

    @validate("base_url")
    def _validate_base_url(self, proposal: Any) -> str:
        value = proposal["value"]
        if "\\" in value:
            raise TraitError(f"ServerApp.base_url: {value!r} holds a backslash, which browsers read as '/'")
        return url_path_join("/", addresses.encode_url_path(value), "/")

    certfile = Unicode("", help="TLS certificate file: serve https when set (with keyfile).").tag(config=True)
    keyfile = Unicode("", help="TLS private key file for certfile.").tag(config=True)
    client_ca = Unicode(
        "",
        help="""Certificate authority file (PEM) for mutual TLS: with certfile, every client must
        present a certificate it signed (JupyterHub's internal_ssl sets it). Empty: no client
        certificate is asked for.""",
    ).tag(config=True)
    max_body_size = Integer(
        512 * 1024 * 1024,
        help="""Largest request body accepted, in bytes. A larger body is
        refused with a 413 (JSON from the API) before it is read, and the connection closed.
        Without credentials the limit is 64 KiB, on the public routes that take a body (the
        /login form); the other routes refuse any body without credentials.""",
    ).tag(config=True)
    websocket_max_message_size = Integer(
        10 * 1024 * 1024,
        help="""Largest websocket message accepted from a client, in bytes (as in tornado and
        jupyter_server); a larger one closes the connection with code 1009.""",
    ).tag(config=True)
    max_buffer_size = Integer(
        512 * 1024 * 1024, help="Largest amount of incoming data buffered per connection, in bytes."
    ).tag(config=True)
    header_timeout = Float(
        60.0,
        min=0.01,
        help="""Seconds a connection has to send the headers of a request, counted from its
        opening or from the end of its previous request (so it is also how long an idle
        kept-alive connection stays open). Past it the connection is closed, without a log
        line: half-sent requests cannot hold file descriptors for long.""",
    ).tag(config=True)
    body_timeout = Float(
        600.0,
        min=0.01,
        help="""Seconds a request body has to arrive once its headers are in; past it the
        connection is closed. A caller without credentials gets header_timeout instead.""",
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
    allow_remote_access = computed_default(
        Bool(
            help="""Answer requests whose Host is not a local name. Off by default when
            listening on a loopback address (protects against DNS rebinding); on when
            listening on all interfaces or a non-loopback address."""
        ),
        "False when ip is a loopback address or one of local_hostnames, else True",
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
    cookie_secret = computed_default(
        Unicode(help="Secret that signs the login cookie; random per start by default."), "random, made at every start"
    ).tag(config=True)

    @default("cookie_secret")
    def _default_cookie_secret(self) -> str:
        return secrets.token_hex(32)

    # -- files and pages ----------------------------------------------------

    root_dir = computed_default(
        Unicode(help="The directory kernels start in (with a session's path below it); ~ is expanded."),
        "the current directory",
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
    default_url = Unicode(
        "/",
        help="""The path below base_url that / redirects to, printed and opened at start-up.
        Unless set, the starter's landing page or the loaded frontend's (highest
        frontend_priority), else / itself: the core's landing page.""",
    ).tag(config=True)
    tornado_settings = Dict(help="Extra settings for the tornado Application.").tag(config=True)

    # -- lifetime -----------------------------------------------------------

    shutdown_no_activity_timeout = Integer(
        0,
        help="""Stop the server after this many seconds with no kernels, no connections and
        no state-changing request. 0 (the default) never stops.""",
    ).tag(config=True)

    # -- metrics ---------------------------------------------------------------

    authenticate_prometheus = Bool(
        True,
        help="""Require credentials (the token, or the login cookie) for GET /metrics, as for
        every other route. False lets a Prometheus server that cannot send a token scrape
        anonymously: whoever reaches the port then sees the counts /metrics shows (kernels,
        extensions, requests by route), never a path, a token or any content.""",
    ).tag(config=True)
    record_http_request_metrics = Bool(
        True,
        help="""Record the http_request_duration_seconds histogram of /metrics: a series per
        method, route pattern and status code seen, each with 17 buckets. False stops
        recording requests; the other metrics stay.""",
    ).tag(config=True)

    # -- extensions -----------------------------------------------------------

    jpserver_extensions = Dict(
        Bool(),
        help="""Extensions to load: {"module": true|false}. Merged name by name from every
        conf.d enabler file, config file, the program's config and the command line
        (higher levels win; at one folder false wins); false disables.""",
    ).tag(config=True)
    terminals_enabled = Bool(
        True,
        help="""Serve terminals (jupyter_server's switch, kept for existing config). False is
        the same as an enabler false for jupyter_server_lite.bundled.terminals, at the
        level that sets it: the bundled terminals service is not loaded.""",
    ).tag(config=True)
    safe_mode = Bool(False, help="Load no extension at all, for debugging the core.").tag(config=True)
    strict_extensions = Bool(False, help="Fail the start when an enabled extension fails to load.").tag(config=True)

    # -- swappable parts ----------------------------------------------------------

    identity_provider_class = Type(
        IdentityProvider, klass=IdentityProvider, help="The identity provider (authentication) class."
    ).tag(config=True)

    identity_provider = Instance(IdentityProvider)

    kernel_spec_manager_class = computed_default(
        Type(
            "jupyter_server_lite.services.kernelspecs.manager.KernelSpecManager",
            klass="jupyter_server_lite.services.kernelspecs.manager.KernelSpecManager",
            help="""The kernelspec manager class: finds the installed kernels (a subclass of
            jupyter_server_lite.services.kernelspecs.manager.KernelSpecManager). In gateway
            mode (GatewayClient.url set) GatewayClient.kernel_spec_manager_class.""",
        ),
        "jupyter_server_lite.services.kernelspecs.manager.KernelSpecManager; "
        "GatewayClient.kernel_spec_manager_class when GatewayClient.url is set",
    ).tag(config=True)
    kernel_manager_class = computed_default(
        Type(
            "jupyter_server_lite.services.kernels.manager.MappingKernelManager",
            klass="jupyter_server_lite.services.kernels.manager.MappingKernelManager",
            help="""The kernel manager class: starts, tracks and stops kernels (a subclass of
            jupyter_server_lite.services.kernels.manager.MappingKernelManager). In gateway
            mode (GatewayClient.url set) GatewayClient.kernel_manager_class.""",
        ),
        "jupyter_server_lite.services.kernels.manager.MappingKernelManager; "
        "GatewayClient.kernel_manager_class when GatewayClient.url is set",
    ).tag(config=True)

    @default("kernel_spec_manager_class")
    def _default_kernel_spec_manager_class(self) -> Any:
        gateway = self.gateway_client
        if gateway is not None:
            return gateway.kernel_spec_manager_class
        return "jupyter_server_lite.services.kernelspecs.manager.KernelSpecManager"

    @default("kernel_manager_class")
    def _default_kernel_manager_class(self) -> Any:
        gateway = self.gateway_client
        if gateway is not None:
            return gateway.kernel_manager_class
        return "jupyter_server_lite.services.kernels.manager.MappingKernelManager"

    _gateway_client: Any = None

    @property
    def gateway_client(self) -> GatewayClient | None:
        """The gateway's settings when gateway mode is on (``GatewayClient.url`` or
        ``JUPYTER_GATEWAY_URL`` set), else None; the gateway package is imported only then."""
        if self._gateway_client is None and _gateway_url(self.config):
            from .gateway.client import GatewayClient  # start-up cost: gateway mode's package, loaded in that mode only

            self._gateway_client = GatewayClient(parent=self, log=self.log)
        return cast("GatewayClient | None", self._gateway_client)

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
    _metrics: ServerMetrics | None = None

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

    @property
    def metrics(self) -> ServerMetrics:
        """What ``/metrics`` reports, counted while the server runs (see metrics/)."""
        return _built(self._metrics, "metrics")

    @property
    def contents_manager(self) -> ContentsManager:
        """The contents manager of the extension that provides the ``contents`` service.

        The bundled one (files below ``root_dir``) unless another provider
        replaced it.  ``RuntimeError`` when no loaded extension provides the
        service (it is disabled, or its provider failed): callers that can
        do without contents (sessions) never ask.
        """
        return cast("ContentsManager", self.extension_manager.provided("contents", "contents_manager"))

    @property
    def event_logger(self) -> EventLogger:
        """The event bus of the extension that provides the ``events`` service.

        Extensions register schemas and emit there, as with Jupyter Server
        (``serverapp.event_logger.emit(schema_id=..., data=...)``); it exists
        from the moment that extension is configured, so other extensions
        may use it while they load.  ``RuntimeError`` when no extension
        provides ``events`` (it is disabled, or its provider failed).
        """
        return cast("EventLogger", self.extension_manager.provided("events", "event_logger", configured=True))

    hooks = Instance(Hooks, help="The plugin manager: extensions' hook implementations and calls.")

    @default("hooks")
    def _default_hooks(self) -> Hooks:
        return Hooks(self.log)

    def call_hook(self, name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call hook ``name`` with ``serverapp=self`` and ``kwargs``, failures isolated."""
        return self.hooks.call(name, serverapp=self, **kwargs)

    registered_extensions = List(
        Instance(Registration), help="Extensions a program handed over (register_extension), in order."
    )
    #: ``ServerApp`` config of the starter (``ExtensionApp.serverapp_config``), applied
    #: below every config file: the files and the command line win.
    starter_defaults: Config | None = None
    #: What initialize() decided to load (see extension/plan.py); None before.
    extension_plan: ExtensionPlan | None = None
    _extension_manager: ExtensionManager | None = None
    _extensions: ExtensionLoad | None = None

    @property
    def extension_manager(self) -> ExtensionManager:
        """The extensions of this server: their records (``records``, ``get(name)``, ``starter``)."""
        return _built(self._extension_manager, "extension_manager")

    def register_extension(self, extension: Any, as_starter: bool = False) -> None:
        """Load ``extension`` (an ExtensionApp class or instance, a module, or a
        module name) with the enabled ones, without a conf.d file.  Call it
        before :meth:`initialize`; ``as_starter`` marks the one ``jupyter <name>`` launched
        (the *starter*: :attr:`ExtensionManager.starter` is its record)."""
        if self.extension_plan is not None:
            raise RuntimeError("register extensions before ServerApp.initialize()")
        self.registered_extensions = [*self.registered_extensions, Registration(extension, as_starter)]

    activity = Instance(Activity)

    @default("activity")
    def _default_activity(self) -> Activity:
        return Activity(self.kernel_activity)

    def kernel_activity(self) -> Any:
        """The latest kernel message (the kernel manager keeps it; read when asked)."""
        return self._kernel_manager.last_activity if self._kernel_manager is not None else None

    web_app = Instance(web.Application, allow_none=True)
    started = Bool(False, help="Whether start_server() has finished.")
    loaded_config: Any = None

    # -- initialisation -----------------------------------------------------

    def initialize(self, argv: list[str] | None = None) -> None:
        """Parse the command line, load config and build everything that needs no loop."""
        if argv is None:
            argv = sys.argv[1:]
        program_config = deepcopy(self.config)  # what a program built the server with
        self.parse_command_line(argv)
        if self.subapp is not None:
            return
        cli_options.refuse_positional(self.extra_args)
        cl_config = deepcopy(self.config)
        self.init_logging_bridge()
        if self.starter_defaults:
            self.update_config(self.starter_defaults)
        self.load_config_file()
        self.update_config(cl_config)
        self.apply_identity_config(cl_config)
        self.plan_extensions(program_config, self.cli_config)
        self.init_configurables()
        self.init_extensions()
        self.init_metrics()
        self.init_webapp()

    def init_logging_bridge(self) -> None:
        """Route tornado's and our modules' loggers through the application log,
        every line of it with secret URL parameters masked (:mod:`.web.logs`)."""
        for name in ("tornado", "jupyter_server_lite"):
            logger = logging.getLogger(name)
            logger.parent = self.log
            logger.propagate = True
            logger.setLevel(logging.NOTSET)
        install_redaction(self.log)

    def apply_identity_config(self, cl_config: Any) -> None:
        """Settings the identity provider imposes (``IdentityProvider.server_config``:
        JupyterHub's address, port and base_url): above the config files, and
        below the command line, which is applied again over them."""
        imposed = self.identity_provider_class.server_config()
        if imposed:
            self.update_config(imposed)
            self.update_config(cl_config)

    def load_config_file(self, suppress_errors: bool = True) -> None:  # type: ignore[override]  # JupyterApp's signature, not traitlets Application's
        """Load every config file; a malformed one stops the start, naming the file."""
        self.loaded_config = load_config_files(
            self.config_file_paths, extra_file=self.config_file or None, log=self.log
        )
        self.update_config(self.loaded_config.config)

    def init_configurables(self) -> None:
        self.identity_provider = self.identity_provider_class(parent=self, log=self.log)
        self.identity_provider.token  # noqa: B018 -- resolved now: an unreadable JUPYTER_TOKEN_FILE stops the start
        self._kernel_spec_manager = self.kernel_spec_manager_class(parent=self, log=self.log)
        self._kernel_manager = self.kernel_manager_class(
            parent=self,
            log=self.log,
            kernel_spec_manager=self.kernel_spec_manager,
            root_dir=self.root_dir,
            connection_dir=self.runtime_dir,  # the kernels' connection files live with the server's runtime file
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

    def plan_extensions(self, program_config: Config, cli_config: Config) -> ExtensionPlan:
        """Decide what to load (see extension/plan.py): the loaded config files, the
        enablers in ``program_config`` and ``cli_config``, the registered extensions.
        ``jpserver_extensions`` then holds the merged enablers."""
        self.extension_plan = build_plan(
            self.loaded_config,
            registered=self.registered_extensions,
            program=enablers_in(program_config),
            command_line=enablers_in(cli_config),
            safe_mode=self.safe_mode,
        )
        self.jpserver_extensions = self.extension_plan.switches()
        return self.extension_plan

    def init_extensions(self) -> None:
        """Load what the plan says (see extension/manager.py) and take the landing page
        it suggests as ``default_url``, unless the user set one; in strict mode a
        failure raises :class:`ExtensionError`."""
        plan = _built(self.extension_plan, "extension_plan")
        self._extension_manager = ExtensionManager(
            plan, serverapp=self, hooks=self.hooks, base_url=self.base_url, log=self.log, strict=self.strict_extensions
        )
        self._extensions = self._extension_manager.load_all()
        if self._extensions.landing_page and "default_url" not in self.config.get("ServerApp", {}):
            self.default_url = self._extensions.landing_page

    def init_metrics(self) -> None:
        """Start counting what ``/metrics`` reports: requests, kernel events and, when a
        contents service is loaded, its operations (nothing without prometheus_client)."""
        self._metrics = ServerMetrics(record_requests=self.record_http_request_metrics)
        try:
            contents: ContentsManager | None = self.contents_manager
        except (RuntimeError, AttributeError):  # no contents service, or a provider without a contents manager
            contents = None
        self._metrics.follow(self.kernel_manager, contents)

    def init_webapp(self) -> None:
        loaded = _built(self._extensions, "extension_manager")
        self.web_app = make_application(self, loaded.rules, loaded.tornado_settings)

    # -- serving ------------------------------------------------------------

    _serving: Serving | None = None

    @property
    def actual_port(self) -> int:
        """The port bound by start_server() (``port`` may be 0 or taken); 0 before."""
        return self._serving.port if self._serving is not None else 0

    @property
    def http_server(self) -> httpserver.HTTPServer | None:
        """tornado's HTTP server while serving, else None."""
        return self._serving.http_server if self._serving is not None else None

    async def start_server(self) -> None:
        """Listen, write the runtime file and announce the server (needs a running loop).

        Raises :class:`StartupError` (with a message for the user) when the
        port, address or TLS files cannot be used, or the identity provider
        cannot start (JupyterHub unreachable). See :mod:`.lifecycle`.
        """
        self._serving = Serving(self)
        await self._serving.start()
        self.started = True
        self.stop_requested.clear()
        self.call_hook("server_started")

    async def stop_server(self) -> None:
        """Stop serving and clean up (kernels, sessions, runtime file); safe to call twice."""
        if self.started:
            self.call_hook("server_stopping")
        if self._serving is not None:
            await self._serving.stop()
        else:
            await self.shutdown_managers()  # initialized, never served: kernels may still have been started
        self.started = False

    async def shutdown_managers(self) -> None:
        """Close the session store, then shut every kernel down (the order keeps a session file's rows)."""
        if self._session_manager is not None:
            self._session_manager.close()
        if self._kernel_manager is not None:
            await self._kernel_manager.shutdown_all()

    def start(self) -> None:
        """Command-line start: own the event loop until SIGINT/SIGTERM (see :mod:`.lifecycle`)."""
        if self.subapp is not None:
            self.subapp.start()
            return
        if self.generate_config:
            self.write_default_config()
            return
        asyncio.run(serve_until_stopped(self))

    stop_requested = Instance(
        asyncio.Event,
        (),
        help="""Set when the server should stop (signal, idle timeout, request_stop()).
        start() waits for it; a program serving with start_server() may too.""",
    )

    def request_stop(self) -> None:
        """Ask the server to stop: start() then runs stop_server() and returns."""
        self.stop_requested.set()

    # -- information (see addresses.py) ---------------------------------------

    @property
    def connection_host(self) -> str:
        return addresses.connection_host(self.ip)

    @property
    def url(self) -> str:
        """``scheme://host:port/base_url/`` of the started server."""
        return addresses.server_url(self)

    @property
    def display_url(self) -> str:
        """The start-up URL, with the token a person needs (see :mod:`.addresses`)."""
        return self.display_urls[0]

    @property
    def display_urls(self) -> list[str]:
        """The start-up URLs: on every interface, the loopback one too."""
        return addresses.display_urls(self)

    def server_info(self) -> dict[str, Any]:
        """The runtime file's record."""
        return addresses.server_info(self)

    def status_model(self) -> dict[str, Any]:
        """The ``GET /api/status`` model (see services/status.py)."""
        return status_model(self)

    def extension_links(self) -> list[tuple[str, str]]:
        """(name, URL) of each loaded extension's landing page, for the landing page."""
        return [(name, url_path_join(self.base_url, url)) for name, url in self.extension_manager.links()]


def _gateway_url(config: Config) -> str:
    """``GatewayClient.url`` from ``config``, else the environment variable that trait reads:
    whether gateway mode is on, found without importing the gateway package."""
    section = config.get("GatewayClient", {}) if "GatewayClient" in config else {}
    value = section.get("url") if "url" in section else None
    if value is None:
        return os.environ.get("JUPYTER_GATEWAY_URL", "")
    return str(value)  # a command-line value is a DeferredConfigString: a str


_T = TypeVar("_T")


def _built(part: _T | None, name: str) -> _T:
    if part is None:
        raise RuntimeError(f"ServerApp.{name} does not exist yet: call initialize() first")
    return part
