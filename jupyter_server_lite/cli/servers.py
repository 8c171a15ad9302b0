"""The small subcommands: ``list``, ``stop [PORT]``, ``password``.

Each is its own JupyterApp, so ``jupyter server-lite list --help`` and the
usual ``--JUPYTER_*`` directories work the same as for the server.  Errors
are one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from urllib.parse import urlencode

from jupyter_core.application import JupyterApp, base_flags
from traitlets import Bool, Integer

from .._version import __version__
from ..auth.security import passwd
from ..configfiles import SERVER_CONFIG_NAME, ConfigFileError, read_json_file
from ..privatefile import write_private_file
from ..runtime import list_running_servers, signal_server
from . import fail


class ListApp(JupyterApp):
    """``jupyter server-lite list``: running servers, with their tokens."""

    name = "jupyter-server-lite-list"
    version = __version__
    description = "List the running servers of this user (from their runtime files)."
    json_output = Bool(False, help="One JSON object per line instead of URLs.").tag(config=True)
    flags = dict(base_flags, json=({"ListApp": {"json_output": True}}, "Print one JSON object per server."))

    def start(self) -> None:
        servers = list_running_servers(self.runtime_dir)
        if self.json_output:
            for info in servers:
                print(json.dumps(info))
            return
        if not servers:
            print("No running servers.")
            return
        print("Running servers:")
        for info in servers:
            token = f"?{urlencode({'token': info['token']})}" if info.get("token") else ""
            print(f"{info['url']}{token} :: {info['root_dir']}")


class StopApp(JupyterApp):
    """``jupyter server-lite stop [PORT]``: stop a running server."""

    name = "jupyter-server-lite-stop"
    version = __version__
    description = "Stop the server listening on PORT (the only running one when PORT is omitted)."
    port = Integer(0, help="Port of the server to stop.").tag(config=True)
    aliases = {"port": "StopApp.port"}

    def parse_command_line(self, argv: Any = None) -> None:
        super().parse_command_line(argv)
        if self.extra_args:
            try:
                self.port = int(self.extra_args[0])
            except ValueError:
                fail(f"PORT must be a number, not {self.extra_args[0]!r}")

    def start(self) -> None:
        servers = list_running_servers(self.runtime_dir)
        running = ", ".join(str(s["port"]) for s in servers) or "none"
        if self.port:
            servers = [s for s in servers if s["port"] == self.port]
            if not servers:
                fail(f"There is no running server on port {self.port} (running: {running}).")
        elif not servers:
            fail("There is no running server.")
        elif len(servers) > 1:
            fail(f"Name the PORT of the server to stop (running: {running}).")
        info = servers[0]
        print(f"Stopping the server on port {info['port']} (pid {info['pid']})...")
        try:
            stopped = signal_server(info)
        except PermissionError:
            fail(f"Not allowed to signal the server's process (pid {info['pid']}): it belongs to another user.")
        if not stopped:
            fail(f"The server (pid {info['pid']}) did not stop within the timeout.")


class PasswordApp(JupyterApp):
    """``jupyter server-lite password``: hash a password into the user config."""

    name = "jupyter-server-lite-password"
    version = __version__
    description = """Prompt for a password (twice) and store its hash in the user's
    jupyter_server_lite_config.json. When stdin is not a terminal, the password is
    the first line of stdin (for scripts: `echo "$PW" | jupyter server-lite password`)."""

    def start(self) -> None:
        try:
            hashed = passwd(None if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n"))
        except ValueError as err:
            fail(str(err))
        path = os.path.join(self.config_dir, SERVER_CONFIG_NAME + ".json")
        try:
            config = read_json_file(path) if os.path.exists(path) else {}
        except ConfigFileError as err:
            fail(str(err))
        config.setdefault("IdentityProvider", {})["hashed_password"] = hashed
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_private_file(path, json.dumps(config, indent=2))  # 0600, atomic, a planted link replaced
        except OSError as err:
            fail(f"Cannot write {path}: {err.strerror or err}")
        print(f"Wrote the hashed password to {path}")
