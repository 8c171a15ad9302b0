"""ExtensionApp: the base class of an extension that serves pages, APIs or static files.

An extension is a configurable application with a *name*, which is also its
namespace on the server.  It declares what it serves and the server mounts
it (see :mod:`.mount`), all below ``base_url``:

* ``handlers``: routes ``(pattern, Handler[, kwargs[, name]])`` relative to
  the namespace, a name letting it build the route's URL
  (:meth:`ExtensionApp.url_for`); a handler subclassing
  :class:`~.handler.ExtensionHandler` is a page at ``/<name>/...``, one
  subclassing :class:`~.handler.ExtensionAPIHandler` is an API at
  ``/extension/api/<name>/...``; a :class:`~.mount.Mount` puts routes in
  another prefix the extension owns;
* ``page_prefixes``: more top-level page prefixes it owns (``/tree/``...);
* ``provides``: standard services it serves at their standard paths
  (``/api/contents``..., see :mod:`.services`);
* ``static_paths``: files at ``/static/<name>/...``;
* ``template_paths``: jinja2 templates, with the core's as fallback.

The server drives one extension through three override points, in this order
(see ``docs/extension-lifecycle.md``): :meth:`initialize_settings`,
:meth:`initialize_templates`, :meth:`initialize_handlers`.  An exception in
any of them fails this extension alone.

Its traits are read from ``jupyter_<name>_config.py|json`` in every config
directory and from the server's own config under the class name; the server's
config (files, command line, program) wins over the extension's own files.

The same class launches a server with itself as the starter:
``MyApp.launch_instance()`` is what a ``jupyter-myapp`` console script calls.

Importing this module is cheap on purpose (no tornado, jinja2 or kernel
machinery): every enabled extension imports it while the server starts.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from jupyter_core.application import JupyterApp
from traitlets import Bool, Dict, List, Unicode, default
from traitlets.config import Config

from ..cli import main
from ..configfiles import load_config_files
from .urls import unknown_name

if TYPE_CHECKING:
    import jinja2

    from ..serverapp import ServerApp
    from .urls import RouteURL


class ExtensionApp(JupyterApp):
    """Base class of an extension application; subclass it and set ``name``."""

    #: The extension's name: its namespace in URLs and the ``<name>`` of its
    #: ``jupyter_<name>_config`` files.  Letters, digits, ``_``, ``-`` and ``.``.
    name: str = ""
    description: str = ""

    #: Names of the extensions this one needs (their enabled module or their
    #: name).  They load first; if one fails, this one fails too.
    requires: ClassVar[list[str]] = []

    #: A module or class of ``@hookspec`` functions: hooks this extension
    #: declares for other extensions to implement.
    hookspecs: ClassVar[Any] = None

    #: ``ServerApp`` traits applied when this extension launches the server
    #: (``jupyter <name>``), as defaults: the user's config files and command line win.
    serverapp_config: ClassVar[dict[str, Any]] = {}

    #: Standard services this extension serves (``("contents",)``; the names
    #: are the keys of :data:`.services.SERVICES`).  It may Mount routes at
    #: their paths and nobody else may; one provider per service, and a
    #: bundled provider steps aside for any other.
    provides: ClassVar[tuple[str, ...]] = ()

    #: Top-level page prefixes this extension owns besides its name
    #: (``("tree", "notebooks")``), checked like the name; Mount routes there.
    page_prefixes: ClassVar[tuple[str, ...]] = ()

    #: How much this extension wants to be the server's front page: ``/`` and
    #: the start-up URL go to the landing page of the loaded extension with
    #: the highest value above 0 (a starter, or ``ServerApp.default_url``
    #: set by the user, wins over any).  0: not a frontend.
    frontend_priority: ClassVar[int] = 0

    extension_url = Unicode(
        help="""The landing page: a path below base_url in the extension's name or one of
        its page prefixes (default /<name>/); empty for none.""",
    ).tag(config=True)

    @default("extension_url")
    def _default_extension_url(self) -> str:
        return f"/{self.name}/"

    load_other_extensions = Bool(
        True, help="When this extension launches the server, also load the other enabled extensions."
    ).tag(config=True)
    static_paths = List(
        Unicode(),
        help="Folders served at /static/<name>/ (first match wins); relative paths are relative to the extension's module.",
    ).tag(config=True)
    template_paths = List(
        Unicode(),
        help="Folders of jinja2 templates, searched before the core's; relative paths are relative to the extension's module.",
    ).tag(config=True)

    handlers: List[Any] = List(
        help="Routes (pattern, handler class[, kwargs[, name]]) relative to the extension's namespace, and Mounts."
    )
    settings = Dict(
        help="The extension's settings: stored in the tornado settings under its name, read by its handlers."
    )
    jinja2_env: jinja2.Environment | None = None
    serverapp: ServerApp | None = None
    _static_versions: dict[str, str]
    #: The named routes once mounted (set by the manager): what :meth:`url_for` builds.
    _route_urls: Mapping[str, RouteURL] = MappingProxyType({})

    # -- the override points --------------------------------------------------

    def initialize_settings(self) -> None:
        """Fill ``self.settings``; called first.  Default: nothing."""

    def initialize_templates(self) -> None:
        """Build ``self.jinja2_env``: ``template_paths`` first, the core's templates as fallback."""
        # start-up cost: tornado.web and the core's handlers: importing the extension API stays cheap
        from ..web.application import make_jinja_env

        self.jinja2_env = make_jinja_env(self.resolved_paths(self.template_paths))

    def initialize_handlers(self) -> None:
        """Fill ``self.handlers``; called last.  Default: keep the class's ``handlers``."""

    @classmethod
    def missing_assets(cls) -> str:
        """Why this extension cannot serve its pages here, and how to install what it lacks; ``""`` when it can.

        For an extension whose assets are an optional install (the frontends
        of the ``[lab]`` extra): it loads all the same -- a missing optional
        install is no failure -- and its own pages say how to install them.
        The message shows in ``extension list``, in ``GET /api/extensions``
        (``missing_assets``) and on the server's landing page.  Called when
        the extension is imported, so keep it cheap (a few ``stat`` calls).
        Default: ``""``.
        """
        return ""

    # -- derived values ---------------------------------------------------------

    @classmethod
    def module_dir(cls) -> str:
        """The folder of the module defining this class: the root of relative paths."""
        module = sys.modules.get(cls.__module__)
        path = getattr(module, "__file__", None)
        return os.path.dirname(os.path.abspath(path)) if path else os.getcwd()

    def resolved_paths(self, paths: list[str]) -> list[str]:
        """``paths`` made absolute, relative ones against :meth:`module_dir`."""
        root = self.module_dir()
        return [os.path.abspath(os.path.join(root, os.path.expanduser(p))) for p in paths]

    @property
    def page_url(self) -> str:
        """The extension's page namespace below ``base_url``: ``/<name>/``."""
        return f"/{self.name}/"

    @property
    def landing_url(self) -> str:
        """The landing page below ``base_url``, from ``extension_url`` (``""`` when it has none)."""
        if not self.extension_url:
            return ""
        return "/" + self.extension_url.lstrip("/")

    def url_for(self, name: str, *args: Any) -> str:
        """The URL path of this extension's route called ``name``, ``base_url`` included, percent-encoded.

        Routes get a name as their fourth element,
        ``("/items/([^/]+)", ItemHandler, {}, "item")``, in a Mount too;
        ``args`` fill the pattern's groups in order (a trailing optional
        group may be left out): ``url_for("item", "a b")`` ->
        ``"<base_url>extension/api/<name>/items/a%20b"``.  Raises
        :class:`~.urls.RouteNameError` for a name no route has (or before
        the extension is mounted), ``TypeError`` for a wrong number of
        arguments, ``ValueError`` for a value its group cannot match.
        """
        route = self._route_urls.get(name)
        if route is None:
            raise unknown_name(self.name, name, dict(self._route_urls))
        return route.build(*args)

    def static_version(self, path: str) -> str:
        """A short content hash of static file ``path`` (cached), ``""`` when absent."""
        cache = self.__dict__.setdefault("_static_versions", {})
        if path not in cache:
            # start-up cost: tornado.web (extension.mount): importing the extension API stays cheap
            from .mount import locate_static

            located = locate_static(self.resolved_paths(self.static_paths), path)
            cache[path] = _file_hash(located[1]) if located else ""
        return cache[path]

    # -- configuration ----------------------------------------------------------

    def configure(self, serverapp: ServerApp) -> None:
        """Bind to ``serverapp`` and apply config: own files, then the server's config."""
        self.serverapp = serverapp
        own = load_config_files(
            serverapp.config_file_paths, base_name=f"jupyter_{self.name}_config", conf_d=False, log=self.log
        )
        config = Config()
        config.merge(own.config)
        config.merge(serverapp.config)
        self.update_config(config)

    # -- `jupyter <name>` ----------------------------------------------------------

    @classmethod
    def make_serverapp(cls, **kwargs: Any) -> ServerApp:
        """A ServerApp with this extension registered as its starter (not yet initialized).

        ``serverapp_config`` becomes the server's ``starter_defaults``: below
        the config files, so that they and the command line win.
        """
        from ..serverapp import ServerApp  # cycle: extension.application <-> serverapp

        serverapp = ServerApp.instance(**kwargs)
        serverapp.starter_defaults = Config({"ServerApp": dict(cls.serverapp_config)})
        serverapp.aliases = {**serverapp.aliases, **cls.aliases}
        serverapp.flags = {**serverapp.flags, **cls.flags}
        serverapp.classes = [*serverapp.classes, cls]  # --help-all lists its traits; its aliases' help finds them
        serverapp.register_extension(cls, as_starter=True)
        return serverapp

    @classmethod
    def launch_instance(cls, argv: list[str] | None = None, **kwargs: Any) -> None:
        """Start a server with this extension as the starter and open its landing page.

        The command-line arguments are the server's (``--port``, ``--no-browser``
        ...) plus ``--<Class>.<trait>=value`` for any configurable, this
        extension's included.
        """
        main(argv, serverapp=cls.make_serverapp(**kwargs))


def _file_hash(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


__all__ = ["ExtensionApp"]
