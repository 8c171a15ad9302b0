"""What every workload shares: the run context, table rows and target checks.

A workload is a module in :mod:`bench.workloads` with ``run(bench) -> data``
(JSON-serialisable raw results), ``rows(data) -> [Row]`` for the table,
``checks(data) -> [Check]`` for the issue's targets and ``series(data)`` for
the chart.  Trials run interleaved -- round 1: ours, peer, ceiling; round 2:
ours, peer, ceiling; ... -- so slow drift of the machine (thermal, other
processes) spreads over every target instead of favouring one.  A trial that
fails (an endpoint that does not exist yet, a crash) is recorded as an error
for that target and the run goes on.
"""

from __future__ import annotations

import math
import random
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .env import Sandbox
from .targets import Server, Target, start_server

#: Display names of the targets; "bare", "zmq", "pty" and "gateway" are the ceilings.
LABELS = {
    "ours": "jupyter_server_lite",
    "peer": "jupyter_server",
    "bare": "bare tornado",
    "zmq": "raw ZMQ",
    "pty": "bare pty",
    "ours-without": "jupyter_server_lite, contents and files off",
    "ours-metrics-off": "jupyter_server_lite, request metrics off",
    "gateway": "Kernel Gateway, direct",
}


@dataclass
class Row:
    """One line of the table: a metric measured on several targets."""

    workload: str
    metric: str
    unit: str
    values: dict[str, dict[str, float]]  # target -> {"median", "min", "max"}
    ceiling: str | None = None  # "bare", "zmq" or "pty"
    higher_is_better: bool = False


@dataclass
class Check:
    """One of the issue's targets: ``value op limit``."""

    name: str
    value: float
    limit: float
    op: str  # "<=" or ">="
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None or math.isnan(self.value):
            return None
        return self.value <= self.limit if self.op == "<=" else self.value >= self.limit


@dataclass
class Bench:
    """The run: sandbox, targets, options, and the long-running servers."""

    sandbox: Sandbox
    targets: dict[str, Target]
    quick: bool
    rounds: int
    servers: dict[str, Server] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def log(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    @property
    def server_names(self) -> list[str]:
        """Jupyter servers in the run: ours, then the peer if present."""
        return [name for name in ("ours", "peer") if name in self.targets]

    def pick(self, full: Any, quick: Any) -> Any:
        """``full`` normally, ``quick`` with ``--quick`` (a count, a duration...)."""
        return quick if self.quick else full

    def server(self, name: str) -> Server:
        """The long-running server of ``name`` (started on first use)."""
        if name not in self.servers or self.servers[name].proc.poll() is not None:
            self.servers[name] = start_server(self.targets[name], self.sandbox, label="main")
        return self.servers[name]

    def stop_servers(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    def interleave(
        self, names: Iterable[str], trial: Callable[[str, int], Any], rounds: int | None = None, label: str = ""
    ) -> dict[str, list[Any]]:
        """Run ``trial(name, round)`` for every round, names in turn; collect results per name.

        A failing trial is recorded in ``errors`` (and the result list of that
        name stays shorter); after two failures a name is dropped from the
        remaining rounds so a missing feature does not cost the whole run.
        """
        schedule = _Schedule(self, list(names), label or trial.__name__)
        for r in range(rounds or self.rounds):
            for name in schedule.live():
                try:
                    schedule.results[name].append(trial(name, r))
                except Exception as err:
                    schedule.failed(name, r, err)
        return schedule.results

    async def ainterleave(
        self,
        names: Iterable[str],
        trial: Callable[[str, int], Awaitable[Any]],
        rounds: int | None = None,
        label: str = "",
    ) -> dict[str, list[Any]]:
        """:meth:`interleave` for coroutine trials that share one event loop."""
        schedule = _Schedule(self, list(names), label or trial.__name__)
        for r in range(rounds or self.rounds):
            for name in schedule.live():
                try:
                    schedule.results[name].append(await trial(name, r))
                except Exception as err:
                    schedule.failed(name, r, err)
        return schedule.results


class _Schedule:
    """Results and failure counts of one interleaved run."""

    def __init__(self, bench: Bench, names: list[str], label: str) -> None:
        self.bench = bench
        self.label = label
        self.results: dict[str, list[Any]] = {name: [] for name in names}
        self.failures: dict[str, int] = {name: 0 for name in names}

    def live(self) -> list[str]:
        return [name for name, count in self.failures.items() if count < 2]

    def failed(self, name: str, r: int, err: Exception) -> None:
        self.failures[name] += 1
        message = f"{self.label}[{name}] round {r}: {type(err).__name__}: {err}"
        self.bench.errors.append(message)
        self.bench.log("ERROR " + message)
        if self.failures[name] == 1:
            traceback.print_exception(err, limit=4, file=sys.stderr)


def subsample(values: list[float], limit: int = 20000, seed: int = 4) -> list[float]:
    """At most ``limit`` values (a fixed-seed random sample), to keep the JSON small."""
    if len(values) <= limit:
        return list(values)
    return random.Random(seed).sample(list(values), limit)
