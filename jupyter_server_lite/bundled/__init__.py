"""Extensions that ship with the server, loaded through the same manager as any other.

Each module in :data:`BUNDLED_EXTENSIONS` is enabled by default at the
lowest config level, ``bundled``, below every config folder
(:mod:`jupyter_server_lite.configfiles` adds it).  No data file is needed, so
they are on in every install mode -- a wheel, ``pip install -e``, ``--user``
-- and an enabler ``false`` at any level switches one off like any other
extension::

    jupyter server-lite extension disable jupyter_server_lite.bundled.dashboard

A wheel install also ships one enabler per bundled extension in
``{sys.prefix}/etc/jupyter/jupyter_server_lite_config.d/`` (the conf.d layout
of every Jupyter package, see ``setupbase.py``); those files are where an
admin expects them, and they only repeat the default.

A bundled extension that provides a standard service (``provides``) steps
aside when an enabled extension that is not bundled provides the same
service: that is how a user swaps one (see ``docs/services.md``).  Each is
also advertised by an entry point, so ``extension list`` shows it as
installed.

This module is read on every server start: keep it free of imports.
"""

#: The bundled extensions, by module: on unless an enabler says ``false``.
BUNDLED_EXTENSIONS: tuple[str, ...] = (
    "jupyter_server_lite.bundled.config",
    "jupyter_server_lite.bundled.contents",
    "jupyter_server_lite.bundled.dashboard",
    "jupyter_server_lite.bundled.events",
    "jupyter_server_lite.bundled.files",
    "jupyter_server_lite.bundled.lab",
    "jupyter_server_lite.bundled.nbconvert",
    "jupyter_server_lite.bundled.notebook",
    "jupyter_server_lite.bundled.terminals",
)

#: jupyter_server's ``ServerApp`` switches of a bundled extension, kept so existing
#: config works: ``ServerApp.<trait> = False`` is an enabler ``false`` for the module,
#: at the level (file, or command line) that sets it.
SWITCHES: dict[str, str] = {"terminals_enabled": "jupyter_server_lite.bundled.terminals"}
