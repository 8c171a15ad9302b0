"""Stopping a terminal's shell and everything started in it, without blocking the loop.

A shell spawned on a pty is the leader of its own session (``setsid``), so
its session id is its pid.  An interactive shell puts each job in a process
group of its own, so signalling the shell's process group alone would miss
them: on Linux every process of the session is found in ``/proc`` and
signalled; elsewhere the shell's process group is.

The escalation is the one a closed terminal window starts: ``SIGHUP`` (the
shell hangs up its jobs and exits), then ``SIGTERM``, then ``SIGKILL``, each
step given :data:`GRACE` seconds.  A process that left the session on
purpose (``setsid``) is not the terminal's any more and is left alone.

The shell is a child of the server and is reaped here (``waitpid``);
other members of the session are the shell's children and are reaped by
whoever inherits them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

#: Seconds each signal is given before the next, stronger one.
GRACE = 1.0
_POLL = 0.02


def session_members(sid: int) -> list[int]:
    """Live (not zombie) processes whose session is ``sid``; on Linux only (``[]`` elsewhere)."""
    members = []
    try:
        entries = os.scandir("/proc")
    except OSError:
        return []
    with entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:  # gone meanwhile, or not ours to read
                continue
            # "pid (comm) state ppid pgrp session ...": comm may contain spaces and parentheses
            fields = stat.rsplit(")", 1)[-1].split()
            if len(fields) > 3 and fields[0] != "Z" and fields[3] == str(sid):
                members.append(int(entry.name))
    return members


def _reap(pid: int) -> bool:
    """Whether child ``pid`` has exited (reaping it); True also when it is not our child."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def _signal_all(pid: int, members: list[int], sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for member in members:
        try:
            os.kill(member, sig)
        except (ProcessLookupError, PermissionError):
            pass


def session_ended(pid: int) -> bool:
    """Whether the shell ``pid`` is reaped (now, if it had exited) and its session is empty."""
    return _reap(pid) and not session_members(pid)


async def stop_session(pid: int, grace: float = GRACE) -> bool:
    """Stop the shell ``pid`` and every process of its session; True when none is left.

    Returns once the shell is reaped and no member of its session is alive,
    or after ``SIGKILL`` had its grace time (False: something survived, which
    only a process in uninterruptible sleep can).
    """
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGKILL):
        if session_ended(pid):
            return True
        _send(pid, sig)
        deadline = loop.time() + grace
        while loop.time() < deadline:
            await asyncio.sleep(_POLL)
            if session_ended(pid):
                return True
    return session_ended(pid)


def stop_sessions_now(pids: list[int], grace: float = GRACE) -> list[int]:
    """:func:`stop_session` for several shells at once, blocking: the shells still
    running when the event loop cannot wait any more (the server is stopping).

    Returns the shells whose session is not empty after ``SIGKILL``.
    """
    left = [pid for pid in pids if not session_ended(pid)]
    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGKILL):
        if not left:
            break
        for pid in left:
            _send(pid, sig)
        deadline = time.monotonic() + grace
        while left and time.monotonic() < deadline:
            time.sleep(_POLL)
            left = [pid for pid in left if not session_ended(pid)]
    return left


def _send(pid: int, sig: int) -> None:
    """``sig`` to the shell's process group and every member of its session."""
    members = session_members(pid)
    _signal_all(pid, members, sig)
    if sig == signal.SIGHUP:
        _signal_all(pid, members, signal.SIGCONT)  # a stopped job must run to see its SIGHUP
