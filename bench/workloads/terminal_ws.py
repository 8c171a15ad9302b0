"""Terminals: keystroke round trips over the terminal websocket, and terminal start.

Both servers run terminado underneath (the peer through
jupyter_server_terminals), so this measures what each server adds around it.
Each server of this workload is a fresh one whose shells are ``/bin/sh``
(``SHELL=/bin/sh``: a login bash would read the machine's profile), and the
ceiling is a bare pty: ``/bin/sh`` spawned by ptyprocess in the bench
process itself, read on its event loop, no server, no websocket.

* round trip: ``echo <n>`` typed (one ``stdin`` frame), timed until ``<n>``
  comes back on a line of its own; 1,000 sequential per target (50 with
  ``--quick``), in chunks interleaved across targets;
* start: ``POST /api/terminals`` -> websocket open -> the shell's first
  output (its prompt); each terminal deleted before the next trial.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from ..core import Bench, Check, Row, subsample
from ..stats import percentile, ratio, summary
from ..targets import Server, start_server

SHELL = "/bin/sh"
#: The end of sh's prompt (``$ `` or ``# ``, for root).
PROMPT = re.compile(r"[#$] $")
WARMUP = 20


class _Echo:
    """What both kinds of terminal share: send ``echo <n>``, wait for ``<n>`` on a line."""

    def __init__(self) -> None:
        self.output = ""
        self.count = 0

    async def read(self) -> str:
        raise NotImplementedError

    def write(self, text: str) -> None:
        raise NotImplementedError

    async def until(self, pattern: re.Pattern[str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not pattern.search(self.output):
            try:
                more = await asyncio.wait_for(self.read(), max(deadline - time.monotonic(), 0))
            except asyncio.TimeoutError:
                raise TimeoutError(f"{type(self).__name__}: no {pattern.pattern!r} in {self.output[-200:]!r}") from None
            self.output = (self.output + more)[-4096:]

    async def ready(self) -> None:
        """Wait for the shell's first prompt (typing ahead of it would put the answer after it)."""
        await self.until(PROMPT)
        self.output = ""

    async def echo(self) -> float:
        """One round trip, in seconds."""
        self.count += 1
        marker = re.compile(rf"[\r\n]{self.count}\r?\n")
        start = time.perf_counter()
        self.write(f"echo {self.count}\r")
        await self.until(marker)
        elapsed = time.perf_counter() - start
        self.output = ""
        return elapsed


class WebsocketTerminal(_Echo):
    """A terminal of a server, through its websocket."""

    def __init__(self, conn) -> None:
        super().__init__()
        self.conn = conn

    @classmethod
    async def open(cls, server: Server, name: str) -> WebsocketTerminal:
        url = f"ws://127.0.0.1:{server.port}/terminals/websocket/{name}"
        return cls(await websocket_connect(HTTPRequest(url, headers=server.headers)))

    async def read(self) -> str:
        while True:
            message = await self.conn.read_message()
            if message is None:
                raise ConnectionError("the terminal websocket closed")
            frame = json.loads(message)
            if frame[0] == "stdout":
                return frame[1]

    def write(self, text: str) -> None:
        self.conn.write_message(json.dumps(["stdin", text]))


class PtyTerminal(_Echo):
    """The ceiling: /bin/sh on a pty of the bench's own, read on its event loop."""

    def __init__(self) -> None:
        super().__init__()
        from ptyprocess import PtyProcessUnicode

        self.proc = PtyProcessUnicode.spawn([SHELL], env={**os.environ, "TERM": "xterm-256color"})
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        asyncio.get_running_loop().add_reader(self.proc.fd, self._readable)

    def _readable(self) -> None:
        try:
            self.queue.put_nowait(self.proc.read(65536))
        except EOFError:
            asyncio.get_running_loop().remove_reader(self.proc.fd)

    async def read(self) -> str:
        return await self.queue.get()

    def write(self, text: str) -> None:
        self.proc.write(text)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.proc.fd)
        self.proc.terminate(force=True)


async def _post(server: Server, path: str, method: str = "POST") -> dict | None:
    response = await AsyncHTTPClient().fetch(
        f"{server.base}{path}", method=method, headers=server.headers, body="{}" if method == "POST" else None
    )
    return json.loads(response.body) if response.body else None


async def _start_trial(server: Server) -> float:
    start = time.perf_counter()
    model = await _post(server, "/api/terminals")
    assert model is not None
    terminal = await WebsocketTerminal.open(server, model["name"])
    await terminal.read()  # the first output: the prompt
    elapsed = time.perf_counter() - start
    terminal.conn.close()
    await _post(server, f"/api/terminals/{model['name']}", method="DELETE")
    return elapsed


async def _run(bench: Bench) -> dict:
    env = {**bench.sandbox.env(), "SHELL": SHELL}
    servers = {
        name: start_server(bench.targets[name], bench.sandbox, label="terminals", env=env)
        for name in bench.server_names
    }
    total = bench.pick(1000, 50)
    chunk = max(total // bench.rounds, 1)
    terminals: dict[str, _Echo] = {}
    data: dict = {"echo": {}, "start": {}}
    try:
        terminals["pty"] = PtyTerminal()
        for name, server in servers.items():
            try:
                model = await _post(server, "/api/terminals")
                assert model is not None
                terminals[name] = await WebsocketTerminal.open(server, model["name"])
            except Exception as err:
                bench.errors.append(f"terminal_ws[{name}]: {type(err).__name__}: {err}")
                bench.log(f"ERROR terminal_ws[{name}]: {type(err).__name__}: {err}")
        for terminal in terminals.values():
            await terminal.ready()
            for _ in range(bench.pick(WARMUP, 5)):
                await terminal.echo()

        async def echo_trial(name: str, _round: int) -> list[float]:
            return [await terminals[name].echo() for _ in range(chunk)]

        bench.log(f"terminal websocket: {chunk * bench.rounds} sequential keystroke echoes per target")
        names = [n for n in (*servers, "pty") if n in terminals]
        for name, trials in (await bench.ainterleave(names, echo_trial, label="terminal_ws echo")).items():
            rtts = [r for t in trials for r in t]
            if rtts:
                data["echo"][name] = {
                    "p50_ms": percentile(rtts, 50) * 1000,
                    "p99_ms": percentile(rtts, 99) * 1000,
                    "rtt_ms": subsample([r * 1000 for r in rtts]),
                    "requests": len(rtts),
                }

        async def start_trial(name: str, _round: int) -> float:
            return await _start_trial(servers[name])

        bench.log("terminal start: POST -> websocket -> first output")
        starts = await bench.ainterleave(list(servers), start_trial, rounds=bench.pick(20, 3), label="terminal start")
        for name, values in starts.items():
            if values:
                data["start"][name] = [v * 1000 for v in values]
    finally:
        for terminal in terminals.values():
            if isinstance(terminal, PtyTerminal):
                terminal.close()
            elif isinstance(terminal, WebsocketTerminal):
                terminal.conn.close()
        for server in servers.values():
            server.stop()
    return data


def run(bench: Bench) -> dict:
    return asyncio.run(_run(bench))


def rows(data: dict) -> list[Row]:
    out = [
        Row(
            "terminals",
            f"keystroke echo round trip {q}",
            "ms",
            {n: {"median": d[f"{q}_ms"]} for n, d in data["echo"].items()},
            ceiling="pty",
        )
        for q in ("p50", "p99")
    ]
    out.append(Row("terminals", "start: POST -> first output", "ms", {n: summary(v) for n, v in data["start"].items()}))
    return out


def checks(data: dict) -> list[Check]:
    p50 = {n: d["p50_ms"] for n, d in data["echo"].items()}
    return [Check("keystroke echo p50 <= peer's", ratio(p50.get("ours"), p50.get("peer")), 1.0, "<=")]


def series(data: dict) -> list:
    return [("keystroke echo round trip", "ms", {n: d["rtt_ms"] for n, d in data["echo"].items()})]
