"""The bench's sandbox: isolated jupyter folders, a shared kernelspec, ports, CPUs and RSS.

Every server the bench starts gets the same environment: its own config,
data and runtime folders (nothing from the developer's machine leaks in),
and one kernelspec, ``bench-python``, that runs *the project's* Python and
ipykernel.  Both servers therefore launch exactly the same kernel, so a
difference in a kernel workload is the server's and not ipykernel's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

KERNEL_NAME = "bench-python"
#: The enablers a regular (non-editable) install puts at the --sys-prefix level.
BUNDLED_ENABLERS = Path(__file__).resolve().parent.parent / "etc" / "jupyter" / "jupyter_server_lite_config.d"


def install_bundled_enablers(config_dir: Path) -> None:
    """Copy the repository's own enabler files into ``config_dir``.

    ``pip install .`` installs them into ``{sys.prefix}/etc/jupyter``; an
    editable install does not.  Copying them makes every run measure the
    server as users get it (bundled extensions on), whatever the install.
    """
    target = config_dir / "jupyter_server_lite_config.d"
    target.mkdir(parents=True, exist_ok=True)
    for enabler in BUNDLED_ENABLERS.glob("*.json"):
        shutil.copyfile(enabler, target / enabler.name)


class Sandbox:
    """A temporary tree of jupyter folders plus the env vars that point at it."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="jsl-bench-")
        self.root = Path(self._tmp.name)
        self.config = self.root / "config"
        self.data = self.root / "data"
        self.runtime = self.root / "runtime"
        self.jupyter_path = self.root / "share"
        self.notebooks = self.root / "notebooks"
        self.logs = self.root / "logs"
        for d in (self.config, self.data, self.runtime, self.jupyter_path, self.notebooks, self.logs):
            d.mkdir(parents=True)
        spec_dir = self.jupyter_path / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python (bench)",
            "language": "python",
            "metadata": {"debugger": False},
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        install_bundled_enablers(self.config)

    def env(self, config_dir: Path | None = None, pythonpath: Path | None = None) -> dict[str, str]:
        """The environment for a server process (the bench applies it to itself too,
        for the kernels of the raw-ZMQ ceiling)."""
        env = dict(os.environ)
        # PYTHONDONTWRITEBYTECODE goes too: an installed package has its bytecode
        # compiled by pip, a checkout gets it from the bench's warm-up start;
        # otherwise every start of ours would recompile its modules from source.
        for var in (
            "JUPYTER_CONFIG_PATH",
            "JUPYTER_NO_CONFIG",
            "JUPYTER_PREFER_ENV_PATH",
            "PYTHONPATH",
            "PYTHONDONTWRITEBYTECODE",
        ):
            env.pop(var, None)
        env.update(
            {
                "JUPYTER_CONFIG_DIR": str(config_dir or self.config),
                "JUPYTER_DATA_DIR": str(self.data),
                "JUPYTER_RUNTIME_DIR": str(self.runtime),
                "JUPYTER_PATH": str(self.jupyter_path),
                "JUPYTER_PLATFORM_DIRS": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if pythonpath is not None:
            env["PYTHONPATH"] = str(pythonpath)
        return env

    def cleanup(self) -> None:
        self._tmp.cleanup()


def free_port() -> int:
    """A free loopback port (the server binds it a moment later, port_retries=0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident set size of one process (not its children), from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far, from /proc."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int | str) -> list[str]:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        return f.read().rsplit(")", 1)[1].split()


def tree_cpu_seconds(root: int | None = None) -> float:
    """CPU time of a process tree: ``root`` (this process by default), its
    reaped children (cutime/cstime) and every live descendant."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    stack = [root or os.getpid()]
    while stack:
        pid = stack.pop()
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = _stat_fields(pid)
            total += sum(int(f) for f in fields[11:15])
            stack.extend(children(pid))
    return total / ticks


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all CPUs, not idle or iowait), from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (a server's kernels), from /proc."""
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return out
    for tid in tids:
        with contextlib.suppress(FileNotFoundError), open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as f:
            out.extend(int(c) for c in f.read().split())
    return out


def wait_for_no_children(pid: int, timeout: float = 30.0) -> None:
    """Wait until ``pid`` has no child process left (its kernels have exited)."""
    deadline = time.monotonic() + timeout
    while children(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


ALL_CPUS = frozenset(os.sched_getaffinity(0))
SERVER_CPUS: frozenset[int] = frozenset(sorted(ALL_CPUS)[:1]) if len(ALL_CPUS) > 1 else ALL_CPUS
CLIENT_CPUS: frozenset[int] = ALL_CPUS - SERVER_CPUS if len(ALL_CPUS) > 1 else ALL_CPUS


def set_affinity(pid: int, cpus: frozenset[int]) -> None:
    """Pin every thread of ``pid`` to ``cpus`` (sched_setaffinity is per thread)."""
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        return
    for tid in tids:
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(tid, cpus)


@contextlib.contextmanager
def pinned(pids: list[int], cpus: frozenset[int]) -> Iterator[None]:
    """Pin the given processes to ``cpus`` for the block, then release them to all CPUs."""
    for pid in pids:
        set_affinity(pid, cpus)
    try:
        yield
    finally:
        for pid in pids:
            set_affinity(pid, ALL_CPUS)
