"""The servers under test, each a separate process on a free loopback port.

Three kinds: ``ours`` (jupyter_server_lite from this checkout), ``peer``
(jupyter_server from ``bench/.peer-venv``) and ``bare`` (the bare tornado
ceiling in :mod:`bench.bare_tornado`).  They get equivalent settings: a
token, no browser, 127.0.0.1, a root folder of their own, the bench
sandbox's jupyter folders.  A server is ready when ``GET /api/status`` with
the token answers 200; the time from spawn to that answer is its cold start.

For the gateway workload, :func:`gateway_target` is a Jupyter Kernel Gateway
(this environment's ``jupyter_kernel_gateway``, ready when its
``/api/kernelspecs`` answers) and :func:`in_gateway_mode` turns ``ours`` or
``peer`` into the same server with its kernels on that gateway
(``--GatewayClient.url`` and ``--GatewayClient.auth_token``, the same options
for both).
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .env import Sandbox, free_port

READY_TIMEOUT = 60.0


@dataclass
class Target:
    """How to start one kind of server."""

    name: str  # "ours", "peer", "bare"
    python: str
    module: str  # run as ``python -m module``
    extra: tuple[str, ...] = ()  # more command-line arguments (a variant of the same server)
    ready_path: str = "/api/status"  # answers 200 (with the token) once the server serves

    def argv(self, port: int, token: str, root: Path) -> list[str]:
        if self.name == "bare":
            return [self.python, "-m", self.module, f"--port={port}", f"--token={token}"]
        if self.name == "gateway":
            return [
                self.python,
                "-m",
                self.module,
                "--KernelGatewayApp.ip=127.0.0.1",
                f"--KernelGatewayApp.port={port}",
                "--KernelGatewayApp.port_retries=0",
                f"--KernelGatewayApp.auth_token={token}",
                "--JupyterWebsocketPersonality.list_kernels=True",  # both servers refresh from the list
                *self.extra,
            ]
        args = [
            self.python,
            "-m",
            self.module,
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.open_browser=False",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
        ]
        if self.name == "peer" and os.geteuid() == 0:
            args.append("--allow-root")  # jupyter_server refuses root otherwise; ours has no such check
        return [*args, *self.extra]


def make_targets(peer_python: str | None) -> dict[str, Target]:
    targets = {
        "ours": Target("ours", sys.executable, "jupyter_server_lite"),
        "bare": Target("bare", sys.executable, "bench.bare_tornado"),
    }
    if peer_python:
        targets["peer"] = Target("peer", peer_python, "jupyter_server")
    return targets


def gateway_target() -> Target:
    """A Jupyter Kernel Gateway from this environment (the test extra's ``jupyter_kernel_gateway``)."""
    return Target("gateway", sys.executable, "kernel_gateway", ready_path="/api/kernelspecs")


def in_gateway_mode(target: Target, gateway: Server) -> Target:
    """``target`` (ours or the peer) with its kernels and kernelspecs on ``gateway``."""
    options = (f"--GatewayClient.url={gateway.base}", f"--GatewayClient.auth_token={gateway.token}")
    return dataclasses.replace(target, extra=(*target.extra, *options))


@dataclass
class Server:
    """One running server process."""

    target: Target
    proc: subprocess.Popen
    port: int
    token: str
    log_path: Path
    startup_s: float = 0.0

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def request(self, method: str, path: str, body: Any = None, timeout: float = 60.0) -> tuple[int, Any]:
        """A blocking JSON request (set-up and tear-down only, never timed)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            payload = None if body is None else json.dumps(body)
            conn.request(method, path, body=payload, headers=self.headers)
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
        finally:
            conn.close()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (servers shut their kernels down), SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _ready(port: int, token: str, path: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Authorization": f"token {token}"})
        resp = conn.getresponse()
        resp.read()
        return resp.status == 200
    except OSError:
        return False
    finally:
        conn.close()


def start_server(
    target: Target,
    sandbox: Sandbox,
    label: str = "",
    env: dict[str, str] | None = None,
    cpus: frozenset[int] | None = None,
) -> Server:
    """Spawn ``target`` and wait for its first 200 from ``target.ready_path`` (``/api/status``).

    ``startup_s`` is measured from just before the spawn to that answer,
    polled every millisecond over fresh connections.  ``cpus`` pins the
    process from its first instruction (the cold-start workload uses it).
    """
    port = free_port()
    token = secrets.token_hex(24)
    log_path = sandbox.logs / f"{target.name}{('-' + label) if label else ''}-{port}.log"
    preexec = None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))
    log = open(log_path, "wb")  # noqa: SIM115 - owned by the process' lifetime
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        target.argv(port, token, sandbox.notebooks),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env or sandbox.env(),
        preexec_fn=preexec,
    )
    log.close()
    deadline = t0 + READY_TIMEOUT
    while True:
        if _ready(port, token, target.ready_path):
            break
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-800:]
            raise RuntimeError(
                f"{target.name} exited with {proc.returncode} before it was ready; see {log_path}:\n{tail}"
            )
        if time.perf_counter() > deadline:
            proc.kill()
            raise RuntimeError(f"{target.name} not ready after {READY_TIMEOUT}s; see {log_path}")
        time.sleep(0.001)
    return Server(target, proc, port, token, log_path, startup_s=time.perf_counter() - t0)
