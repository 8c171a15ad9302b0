"""The workloads, in the order a full run executes them.

Spawn-based workloads (cold start, import time, extension scale) run first,
on an idle machine; then the workloads against long-running servers; memory
last, on fresh servers of its own.
"""

from __future__ import annotations

ORDER = [
    "cold_start",
    "importtime",
    "extensions",
    "rest",
    "metrics",
    "kernel_start",
    "kernel_pool",
    "kernel_ws",
    "kernel_parallel",
    "gateway",
    "terminal_ws",
    "contents",
    "frontends",
    "memory",
]
