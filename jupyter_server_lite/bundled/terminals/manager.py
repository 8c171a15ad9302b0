"""The server's terminals: named shells on ptys, with culling and a clean stop.

:class:`TerminalManager` is the configurable part (``TerminalManager.*``,
jupyter_server_terminals' class and trait names where the concept is the
same) and the registry the REST API and the websocket use.  terminado and
ptyprocess are imported when the first terminal is created, never before
(:mod:`.ptys`), so they cost nothing to a server that opens no terminal.

What a shell gets:

* its working directory: ``root_dir``, or a requested ``cwd`` inside it
  (relative to it, or absolute); one resolving outside ``root_dir``
  (symbolic links followed) is refused, a missing one falls back to its
  nearest existing parent, as a kernel's path does;
* the server's environment *without its secrets*: the variables named in
  :data:`SECRET_VARIABLES` and any variable whose value is the server's
  token are removed; ``TERM=xterm-256color``, ``JUPYTER_SERVER_ROOT`` and
  ``JUPYTER_SERVER_URL`` (no token in it) are set.

A terminal ends when its shell exits, when it is deleted, culled, or the
server stops; each time the shell and every process of its session are
stopped (:mod:`.processes`), so none outlives it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shlex
import shutil
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tornado import web
from tornado.ioloop import PeriodicCallback
from traitlets import Float, Integer, List, Unicode, Union, default
from traitlets.config import LoggingConfigurable

from ...activity import isoformat, utcnow
from ...traitdoc import computed_default

if TYPE_CHECKING:
    from .ptys import NamedPtys, Terminal

#: Variables never passed to a shell: the server's own credentials and JupyterHub's.
SECRET_VARIABLES = frozenset({"JUPYTER_TOKEN", "JUPYTER_PASSWORD", "JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"})
#: A terminal name: it is a URL segment (``/terminals/websocket/<name>``).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
TERM_TYPE = "xterm-256color"


class TerminalManager(LoggingConfigurable):
    """The server's terminals: starts shells on ptys (terminado, imported at the first one), lists, culls and stops them."""

    shell_command = computed_default(
        Union(
            [List(Unicode()), Unicode()],
            help="""The command each terminal runs, as a list or a string split like a shell
            would. Default: $SHELL (else sh), as a login shell (-l) when the server has no
            terminal of its own, as jupyter_server_terminals does.""",
        ),
        "$SHELL, else sh; with -l when the server runs without a terminal",
    ).tag(config=True)

    @default("shell_command")
    def _default_shell_command(self) -> list[str]:
        shell = [os.environ.get("SHELL") or shutil.which("sh") or "/bin/sh"]
        if not sys.stdout.isatty():
            # Started by a service or a spawner, the user's profile has not run:
            # a login shell reads it.
            shell.append("-l")
        return shell

    cull_inactive_timeout = Float(
        0,
        help="""Stop a terminal after this many seconds without input, output or a new
        connection; 0 (the default) never culls.""",
    ).tag(config=True)
    cull_interval = Float(
        300, help="Seconds between two checks for inactive terminals (when cull_inactive_timeout is set)."
    ).tag(config=True)
    replay_buffer_chars = Integer(
        100_000,
        help="""Most characters of a terminal's latest output kept for a client that
        connects (or reconnects) later; 0 keeps none.""",
    ).tag(config=True)

    root_dir = Unicode(help="Where shells start, and the boundary of a requested cwd (ServerApp.root_dir).")
    server_url = Unicode(help="The server's URL, without token, given to shells as JUPYTER_SERVER_URL.")
    token = Unicode(help="The server's token: no variable carrying it reaches a shell.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ptys: NamedPtys | None = None
        self._culler: PeriodicCallback | None = None
        self._stopped = False

    # -- the registry ------------------------------------------------------------

    @property
    def ptys(self) -> NamedPtys:
        """terminado's manager, built (and terminado imported) on first use."""
        if self._ptys is None:
            from .ptys import NamedPtys  # start-up cost: terminado and ptyprocess, only once a terminal is wanted

            self._ptys = NamedPtys(on_closed=self._closed, shell_command=self.command)
        return self._ptys

    @property
    def command(self) -> list[str]:
        """:attr:`shell_command` as an argument list."""
        command = self.shell_command
        return shlex.split(command) if isinstance(command, str) else list(command)

    def __len__(self) -> int:
        return 0 if self._ptys is None else len(self._ptys.terminals)

    @property
    def connections(self) -> int:
        """Open websocket clients, over every terminal (for /metrics)."""
        return 0 if self._ptys is None else sum(len(term.clients) for term in self._ptys.terminals.values())

    def terminal(self, name: str) -> Terminal:
        """Terminal ``name``; a JSON 404 when there is none."""
        term = self._ptys.terminals.get(name) if self._ptys is not None else None
        if term is None:
            raise web.HTTPError(404, f"Terminal not found: {name}")
        return term

    def model(self, name: str) -> dict[str, Any]:
        """The REST model of terminal ``name``: ``{"name", "last_activity"}``."""
        return {"name": name, "last_activity": isoformat(self.terminal(name).last_activity)}

    def list(self) -> list[dict[str, Any]]:
        """Every terminal's model, by name."""
        if self._ptys is None:
            return []
        return [self.model(name) for name in sorted(self._ptys.terminals)]

    # -- creating ------------------------------------------------------------------

    def create(self, name: str | None = None, cwd: str | None = None) -> dict[str, Any]:
        """Start a shell as terminal ``name`` (the next free number when None) in ``cwd``.

        A malformed name or a cwd outside ``root_dir`` is a 400, a name already
        in use a 409; a shell that cannot be started a 500 naming the command;
        once the server is stopping, a 503.
        """
        if self._stopped:
            raise web.HTTPError(503, "The server is stopping: no new terminal")
        ptys = self.ptys
        if name is None:
            name = next(str(n) for n in itertools.count(1) if str(n) not in ptys.terminals)
        elif not NAME_PATTERN.fullmatch(name):
            raise web.HTTPError(
                400,
                f"Terminal name {name!r} must be 1-100 letters, digits, '_', '-' or '.', not starting with '.' or '-'",
            )
        if name in ptys.terminals:
            raise web.HTTPError(409, f"A terminal named {name!r} already exists")
        directory = self.cwd_for(cwd)
        command = self.command
        try:
            term = ptys.spawn(name, command, self.shell_env(), directory, self.replay_buffer_chars)
        except OSError as err:
            raise web.HTTPError(500, f"Cannot start the terminal's shell {command[0]!r}: {err}") from err
        self.log.info("Terminal %s started: %s (pid %d) in %s", name, shlex.join(command), term.pid, directory)
        self._start_culler()
        return self.model(name)

    def cwd_for(self, cwd: str | None) -> str:
        """The directory for a requested ``cwd`` (see the module docstring)."""
        root = os.path.realpath(self.root_dir)
        if not cwd:
            return root
        target = os.path.realpath(os.path.join(root, os.path.expanduser(cwd)))
        if target != root and not target.startswith(root.rstrip(os.sep) + os.sep):
            raise web.HTTPError(400, f"Terminal cwd {cwd!r} is outside the server's root directory")
        while target != root and not os.path.isdir(target):
            target = os.path.dirname(target)
        return target

    def shell_env(self) -> dict[str, str]:
        """The environment of a new shell: the server's, without secrets, plus the terminal's own."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in SECRET_VARIABLES and not (self.token and value == self.token)
        }
        env["TERM"] = TERM_TYPE
        env["JUPYTER_SERVER_ROOT"] = self.root_dir
        if self.server_url:
            env["JUPYTER_SERVER_URL"] = self.server_url
        return env

    # -- what the websocket does to a terminal ---------------------------------------

    async def write(self, term: Terminal, text: str) -> None:
        """Send ``text`` to ``term``'s shell, off the event loop (a full pty blocks the
        writer); nothing when the terminal has ended."""
        if self._ptys is None or not term.is_open:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._ptys.blocking_io_executor, term.ptyproc.write, text)
        except (OSError, ValueError):  # the pty closed meanwhile
            pass

    def resize(self, term: Terminal) -> None:
        """Size ``term``'s pty to the smallest of its clients (terminado's rule)."""
        if term.is_open:
            try:
                term.resize_to_smallest()
            except OSError:  # the pty closed meanwhile
                pass

    def pause(self, term: Terminal, paused: bool) -> None:
        """Stop or resume reading ``term``'s output (a client is behind, see the websocket)."""
        if self._ptys is not None:
            self._ptys.pause(term, paused)

    # -- ending -----------------------------------------------------------------------

    async def terminate(self, name: str) -> None:
        """Stop terminal ``name`` (its shell and session); a JSON 404 when there is none."""
        term = self.terminal(name)
        if not await self.ptys.stop(term):
            self.log.warning("Terminal %s: a process of its session (shell pid %d) survived SIGKILL", name, term.pid)

    def _closed(self, name: str) -> None:
        self.log.info("Terminal %s closed", name)

    def stop_now(self) -> None:
        """Stop every terminal and the culler: the server is stopping (a blocking step,
        bounded by the signals' grace times; usually a few milliseconds).  No terminal
        starts after it (503)."""
        self._stopped = True
        self._stop_culler()
        if self._ptys is None:
            return
        count = len(self._ptys.terminals)
        if count:
            self.log.info("Stopping %d terminal(s)", count)
        for pid in self._ptys.stop_now():
            self.log.warning("Terminal shell %d: a process of its session survived SIGKILL", pid)
        self._ptys.close()
        self._ptys = None

    # -- culling ------------------------------------------------------------------------

    def _start_culler(self) -> None:
        if self.cull_inactive_timeout > 0 and self._culler is None:
            self._culler = PeriodicCallback(self.cull_terminals, 1000 * max(self.cull_interval, 0.1))
            self._culler.start()
            self.log.info(
                "Culling terminals inactive for %gs, checking every %gs", self.cull_inactive_timeout, self.cull_interval
            )

    def _stop_culler(self) -> None:
        if self._culler is not None:
            self._culler.stop()
            self._culler = None

    async def cull_terminals(self) -> None:
        """Stop every terminal inactive for longer than ``cull_inactive_timeout``."""
        if self._ptys is None:
            return
        limit = timedelta(seconds=self.cull_inactive_timeout)
        now = utcnow()
        for name, term in list(self._ptys.terminals.items()):
            idle = now - term.last_activity
            if idle > limit and self._ptys.terminals.get(name) is term:
                self.log.info("Culling terminal %s: inactive for %ds", name, idle.total_seconds())
                await self.terminate(name)
