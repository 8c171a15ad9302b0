"""The server's command-line options: aliases, flags, subcommands, examples.

Option names follow jupyter_server where the concept is the same, so a
user's habits carry over.  Subcommands are import strings: ``jupyter
server-lite list`` never imports the web stack it does not use.
"""

from __future__ import annotations

from jupyter_core.application import base_aliases, base_flags

aliases = dict(base_aliases)
aliases.update(
    {
        "ip": "ServerApp.ip",
        "port": "ServerApp.port",
        "port-retries": "ServerApp.port_retries",
        "base-url": "ServerApp.base_url",
        "root-dir": "ServerApp.root_dir",
        "certfile": "ServerApp.certfile",
        "keyfile": "ServerApp.keyfile",
        "token": "IdentityProvider.token",
        "browser": "ServerApp.browser",
    }
)

flags = dict(base_flags)
flags.update(
    {
        "no-browser": ({"ServerApp": {"open_browser": False}}, "Do not open a browser after start-up."),
        "safe-mode": (
            {"ServerApp": {"safe_mode": True}},
            "Start the core only, with no extension at all (for debugging).",
        ),
        "strict-extensions": (
            {"ServerApp": {"strict_extensions": True}},
            "Fail the start when any enabled extension fails to load.",
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
"""
