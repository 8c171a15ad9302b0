"""Kernel ports outside the range the OS hands out on its own.

jupyter_client picks a local kernel's five TCP ports by binding port 0 and
closing the socket; the kernel binds them a few hundred milliseconds later.
In between, the OS may give the same port to any socket that asks for an
ephemeral one -- most often this very server, connecting to the kernels
it just started (five outgoing connections each).  The kernel then dies
with ``Address already in use`` and the restarter starts it again on new
ports: a warning and a second of delay, with several kernels starting at
once (jupyter_client issue 487).

Ports from *below* the ephemeral range are never handed out implicitly, so
only a program that binds that exact port could take one.  On Linux the
range is read from ``/proc/sys/net/ipv4/ip_local_port_range``; where it
cannot be read, jupyter_client's own pick is kept.  jupyter_client's
:class:`~jupyter_client.connect.LocalPortCache` (a process-wide singleton
that also keeps two kernels of this process off the same port) is replaced
by a subclass that draws from the range given.
"""

from __future__ import annotations

import random
import socket

from jupyter_client.connect import LocalPortCache

#: Lowest port drawn: the registered ports below it are where services usually listen.
LOWEST = 10000
EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"


def default_port_range() -> list[int]:
    """``[LOWEST, first ephemeral port - 1]``, or ``[]`` (jupyter_client's pick) where that is unknown or too small."""
    try:
        with open(EPHEMERAL_RANGE_FILE) as f:
            first = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    return [LOWEST, first - 1] if first - 1 - LOWEST >= 1000 else []


class RangePortCache(LocalPortCache):
    """jupyter_client's port cache, drawing ports from ``port_range`` (see the module docstring)."""

    port_range: tuple[int, int] = (0, 0)

    def find_available_port(self, ip: str) -> int:
        low, high = self.port_range
        for _ in range(200 if high else 0):  # bounded; no range, or a nearly full one: the OS's pick
            port = random.randint(low, high)
            if port not in self.currently_used_ports and _bindable(ip, port):
                self.currently_used_ports.add(port)
                return port
        return super().find_available_port(ip)


def _bindable(ip: str, port: int) -> bool:
    """Whether nothing listens on, or holds, ``ip:port`` now."""
    with socket.socket() as probe:
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True


def use_port_range(port_range: list[int]) -> None:
    """Draw this process's local kernel ports from ``port_range`` (``[]``: jupyter_client's own pick).

    Ports already handed out stay known, so a kernel started before keeps
    its ports to itself.
    """
    current = LocalPortCache.instance()
    if not port_range and not isinstance(current, RangePortCache):
        return
    if not isinstance(current, RangePortCache):
        used = current.currently_used_ports
        LocalPortCache.clear_instance()
        current = RangePortCache.instance()
        current.currently_used_ports |= used
    current.port_range = (port_range[0], port_range[1]) if port_range else (0, 0)
