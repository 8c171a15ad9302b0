"""Runtime files: how ``list`` and ``stop`` find running servers.

Each server writes ``jupyter_runtime_dir()/jsl-server-<pid>.json`` (mode
0600 in a 0700 folder: it holds the token; written atomically without
following links, see :mod:`.privatefile`) when it starts and removes it when
it stops.  A second server in the same process (tests, embedding programs)
writes ``jsl-server-<pid>-<port>.json`` rather than overwrite the first.  A
file whose process is gone (the server was killed) is stale and is removed
when listed.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import time
from typing import Any

from jupyter_core.paths import jupyter_runtime_dir

from .privatefile import write_private_file

PREFIX = "jsl-server-"


#: Runtime files written by servers of this process and not yet removed.
_in_use: set[str] = set()


def runtime_file_path(port: int, runtime_dir: str | None = None) -> str:
    """The runtime file for this process's server on ``port``, claimed until removed."""
    folder = runtime_dir or jupyter_runtime_dir()
    path = os.path.join(folder, f"{PREFIX}{os.getpid()}.json")
    if path in _in_use:
        path = os.path.join(folder, f"{PREFIX}{os.getpid()}-{port}.json")
    _in_use.add(path)
    return path


def write_runtime_file(info: dict[str, Any], path: str) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    write_private_file(path, json.dumps(info, indent=2, sort_keys=True))


def remove_runtime_file(path: str) -> None:
    _in_use.discard(path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_running_servers(runtime_dir: str | None = None) -> list[dict[str, Any]]:
    """Every live server's runtime info, oldest pid first; stale files are removed."""
    servers = []
    for path in sorted(glob.glob(os.path.join(runtime_dir or jupyter_runtime_dir(), f"{PREFIX}*.json"))):
        try:
            with open(path, encoding="utf-8") as f:
                info = json.load(f)
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict) or not isinstance(info.get("pid"), int):
            continue
        if pid_alive(info["pid"]):
            servers.append(info)
        else:
            remove_runtime_file(path)
    return sorted(servers, key=lambda s: s["pid"])


def signal_server(info: dict[str, Any], timeout: float = 15.0) -> bool:
    """Send SIGTERM to a server and wait for it to exit; whether it did."""
    pid = info["pid"]
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False
