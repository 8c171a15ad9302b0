"""The server's command-line options: aliases, flags, subcommands, examples.

Option names follow jupyter_server where the concept is the same, so a
user's habits carry over.  Subcommands are import strings: ``jupyter
server-lite list`` never imports the web stack it does not use.

jupyter-core's ``--log-level`` and ``--debug`` set ``Application.log_level``;
here they set ``ServerApp.log_level``, the trait the server declares with its
own default, so ``--help`` shows that default and a ``ServerApp.log_level``
in a config file cannot outrank ``--debug`` (a class's own section beats its
base class's).
"""

from __future__ import annotations

import logging

from jupyter_core.application import base_aliases, base_flags

from . import unknown_word

aliases = dict(base_aliases)
aliases.update(
    {
        "log-level": "ServerApp.log_level",
        "ip": "ServerApp.ip",
        "port": "ServerApp.port",
        "port-retries": "ServerApp.port_retries",
        "base-url": "ServerApp.base_url",
        "root-dir": "ServerApp.root_dir",
        "certfile": "ServerApp.certfile",
        "keyfile": "ServerApp.keyfile",
        "token": "IdentityProvider.token",
        "browser": "ServerApp.browser",
        "gateway-url": "GatewayClient.url",
    }
)

flags = dict(base_flags)
flags.update(
    {
        "debug": (
            {"ServerApp": {"log_level": logging.DEBUG}},
            "Log at DEBUG level: every request, and tracebacks in 500s.",
        ),
        "log-json": (
            {"ServerApp": {"log_json": True}},
            "Log one JSON object per line (time, level, logger, message; request fields on access lines).",
        ),
        "no-browser": ({"ServerApp": {"open_browser": False}}, "Do not open a browser after start-up."),
        "safe-mode": (
            {"ServerApp": {"safe_mode": True}},
            "Start the core only, with no extension at all (for debugging).",
        ),
        "strict-extensions": (
            {"ServerApp": {"strict_extensions": True}},
            "Fail the start when any enabled extension fails to load.",
        ),
        "hub": (
            {"ServerApp": {"identity_provider_class": "jupyter_server_lite.auth.hub.HubIdentityProvider"}},
            """Run as a JupyterHub single-user server (the [hub] extra): users log in with
            the Hub's OAuth; address, port and base_url come from the Hub's environment.""",
        ),
        "allow-remote-access": (
            {"ServerApp": {"allow_remote_access": True}},
            "Answer requests whose Host header is not a local name.",
        ),
    }
)

subcommands = {
    "list": ("jupyter_server_lite.cli.servers.ListApp", "List running servers."),
    "stop": ("jupyter_server_lite.cli.servers.StopApp", "Stop a running server: stop [PORT]."),
    "password": ("jupyter_server_lite.cli.servers.PasswordApp", "Set a login password in the user config."),
    "migrate": (
        "jupyter_server_lite.cli.migrate.MigrateApp",
        "Carry a Jupyter Server configuration (jupyter_server_config.*) over to this server.",
    ),
    "extension": (
        "jupyter_server_lite.cli.extension.ExtensionCommandApp",
        "Extensions: list, enable NAME, disable NAME, install NAME [--user|--sys-prefix|--system].",
    ),
}

# traitlets strips, then dedents: the lines must start at column 0.
examples = """
jupyter server-lite                       # start on localhost:8888 (or the next free port)
jupyter server-lite --port=0 --no-browser # any free port
jupyter server-lite list                  # running servers and their tokens
jupyter server-lite stop 8888             # stop the server on port 8888
jupyter server-lite extension list        # extensions, enabled or not, and their state
jupyter server-lite migrate --dry-run     # what a Jupyter Server config would become here
"""


def refuse_positional(extra_args: list[str]) -> None:
    """The server takes no positional argument: a word there is a mistyped command.

    Raises :class:`UsageError` naming the first word and the closest
    subcommand, so ``jupyter server-lite lsit`` does not start a server.
    """
    if extra_args:
        raise UsageError(unknown_word(extra_args[0], list(subcommands), "jupyter server-lite"))


class UsageError(ValueError):
    """A command line the server cannot mean: the message says what was wrong."""
