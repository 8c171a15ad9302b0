"""terminado's named-terminal manager, adapted to the server: the only module importing terminado.

:mod:`.manager` imports it when the first terminal is created, so a server
that never opens one never loads terminado or ptyprocess (see the docs'
start-up numbers).  The adaptations:

* the shell's environment is the one :mod:`.manager` built (secrets
  removed), not a copy of the server's;
* the output kept for a reconnecting client is a :class:`ReplayBuffer`
  bounded in characters (terminado's deque holds up to 1000 reads of up to
  64 KiB each);
* pty output counts as the terminal's activity, for culling;
* the end of a pty (the shell exited) does not block the event loop:
  terminado closes it with ptyprocess, which sleeps, and may wait forever
  for a child that closed its terminal without exiting; here the fd is
  closed and the session stopped asynchronously (:mod:`.processes`).
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Callable
from typing import Any

from terminado.management import NamedTermManager, PtyWithClients
from tornado.ioloop import IOLoop

from ...activity import utcnow
from .processes import session_ended, stop_session, stop_sessions_now


class ReplayBuffer(deque[str]):
    """The latest output of a terminal, at most ``limit`` characters, for a client that (re)connects.

    terminado only ever calls :meth:`append`.  A single read longer than the
    limit keeps its tail.
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.size = 0

    def append(self, text: str) -> None:
        if self.limit <= 0:
            return
        if len(text) > self.limit:
            text = text[-self.limit :]
        super().append(text)
        self.size += len(text)
        while self.size > self.limit:
            excess = self.size - self.limit
            first = self[0]
            if len(first) <= excess:
                self.popleft()
                self.size -= len(first)
            else:
                self[0] = first[excess:]
                self.size -= excess

    def text(self) -> str:
        return "".join(self)


class Terminal(PtyWithClients):
    """One shell on a pty, its clients, its bounded replay buffer and its last activity."""

    read_buffer: ReplayBuffer

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str, replay_chars: int) -> None:
        super().__init__(argv, env, cwd)
        self.read_buffer = ReplayBuffer(replay_chars)
        self.last_activity = utcnow()
        self.cwd = cwd
        self.stopping: asyncio.Task[bool] | None = None
        self.paused = False

    @property
    def pid(self) -> int:
        return int(self.ptyproc.pid)

    @property
    def is_open(self) -> bool:
        """Whether the pty is still open (its shell may be running)."""
        return not self.ptyproc.closed

    def touch(self) -> None:
        self.last_activity = utcnow()


class NamedPtys(NamedTermManager):
    """terminado's named terminals, spawning :class:`Terminal` and ending them without blocking.

    ``on_closed(name)`` is called once per terminal, when its pty has ended
    (the shell exited, or :meth:`stop` was called).
    """

    def __init__(self, on_closed: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_closed = on_closed
        #: Shells being stopped, by pid: their tasks.
        self._ending: dict[int, asyncio.Task[bool]] = {}
        self.terminals: dict[str, Terminal] = {}  # type: ignore[assignment]  # our subclass of terminado's

    def spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: str, replay_chars: int) -> Terminal:
        """Start ``argv`` on a new pty as terminal ``name`` and read its output on the loop."""
        term = Terminal(argv, env, cwd, replay_chars)
        term.term_name = name
        self.terminals[name] = term
        self.start_reading(term)
        return term

    def pre_pty_read_hook(self, ptywclients: PtyWithClients) -> None:
        ptywclients.touch()  # type: ignore[attr-defined]  # always one of our Terminals

    def pause(self, term: Terminal, paused: bool) -> None:
        """Stop (or resume) reading ``term``'s output: a client cannot keep up.

        The shell then blocks on a full pty, as it would on a slow terminal,
        instead of the server buffering its output without bound.
        """
        if term.paused == paused or term.ptyproc.fd not in self.ptys_by_fd:
            return
        term.paused = paused
        loop = IOLoop.current()
        if paused:
            loop.remove_handler(term.ptyproc.fd)
        else:
            loop.add_handler(term.ptyproc.fd, self.pty_read, loop.READ)

    def on_eof(self, ptywclients: PtyWithClients) -> None:
        """The pty ended (the shell exited): stop reading, close it, and stop what is left
        of its session (usually nothing: then no task is needed)."""
        term: Terminal = ptywclients  # type: ignore[assignment]  # always one of ours
        self._close_pty(term)
        if not session_ended(term.pid):
            self._stopping(term)

    def _stopping(self, term: Terminal) -> asyncio.Task[bool]:
        """The one task stopping ``term``'s session, started on first call and kept until done."""
        if term.stopping is None:
            term.stopping = asyncio.ensure_future(stop_session(term.pid))
            self._ending[term.pid] = term.stopping
            term.stopping.add_done_callback(functools.partial(self._ended, term.pid))
        return term.stopping

    def _ended(self, pid: int, _task: object) -> None:
        self._ending.pop(pid, None)

    def _close_pty(self, term: Terminal) -> None:
        fd = term.ptyproc.fd
        if self.ptys_by_fd.pop(fd, None) is not None:
            IOLoop.current().remove_handler(fd)
            # ptyprocess's own close() sleeps and reaps; processes.py reaps instead.
            term.ptyproc.fileobj.close()
            term.ptyproc.closed = True
        name = term.term_name or ""
        if self.terminals.get(name) is term:
            del self.terminals[name]
            self._on_closed(name)

    def _tell_clients(self, term: Terminal) -> None:
        for client in list(term.clients):
            client.on_pty_died()

    async def stop(self, term: Terminal) -> bool:
        """Stop ``term``'s shell and session and close its pty; True when no process is left.

        Its clients are told (``on_pty_died``) once the pty is closed.
        """
        try:
            return await asyncio.shield(self._stopping(term))
        finally:
            self._close_pty(term)
            self._tell_clients(term)

    def stop_now(self) -> list[int]:
        """Stop every terminal, and what is left of those that ended, without yielding to
        the loop (see :func:`.processes.stop_sessions_now`); the shells whose session
        survived ``SIGKILL``."""
        terms = list(self.terminals.values())
        survivors = stop_sessions_now([term.pid for term in terms] + list(self._ending))
        for term in terms:
            self._close_pty(term)
            self._tell_clients(term)
        for task in self._ending.values():
            task.cancel()
        return survivors

    def close(self) -> None:
        """Release the stdin writer thread (after :meth:`stop_now`)."""
        self.blocking_io_executor.shutdown(wait=False, cancel_futures=True)
