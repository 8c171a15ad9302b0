"""A real Jupyter Kernel Gateway for the tests, on 127.0.0.1.

:func:`start_gateway` starts ``python -m kernel_gateway`` (the test extra's
``jupyter_kernel_gateway``) in a folder of its own -- its own jupyter
config, data and runtime folders, a token, kernel listing on -- and waits
(bounded) until it answers; :class:`Gateway` talks to its REST API and
knows its process, so a test can tell which kernels it runs and that their
processes are its children.  It runs in a process group of its own and is
stopped with SIGTERM (it shuts its kernels down), SIGKILL for the group if
that hangs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import free_port, stop_process

WAIT = 60.0  # seconds: the longest a gateway start or stop may take on a loaded machine
PROVISIONER_DIR = Path(__file__).parent / "provisioner"

CONFIG = """\
c = get_config()  # noqa
c.KernelGatewayApp.ip = "127.0.0.1"
c.KernelGatewayApp.port = {port}
c.KernelGatewayApp.port_retries = 0
c.KernelGatewayApp.auth_token = "{token}"
c.JupyterWebsocketPersonality.list_kernels = True
c.JupyterWebsocketPersonality.env_whitelist = {env_whitelist!r}
"""


class GatewayTestError(AssertionError):
    """The gateway did not start, answer or stop as the test needed (the message says what)."""


@dataclass
class Gateway:
    """A running Kernel Gateway."""

    url: str
    token: str
    port: int
    process: subprocess.Popen[bytes]
    folder: Path
    log: Path

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """``(status, JSON body)`` of a request to the gateway (``path`` from ``/``)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Authorization": f"token {token or self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw else None

    def kernel_ids(self) -> set[str]:
        status, models = self.api("GET", "/api/kernels")
        if status != 200:
            raise GatewayTestError(f"GET /api/kernels on the gateway: {status} {models}")
        return {m["id"] for m in models}

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        stop_process(self.process, WAIT)


def start_gateway(
    folder: Path, *, extra_config: str = "", env_whitelist: tuple[str, ...] = (), port: int = 0
) -> Gateway:
    """Start a Kernel Gateway in ``folder`` and wait until it answers (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    token = f"gateway-token-{port}"
    for name in ("config", "data", "runtime", "share"):
        (folder / name).mkdir(exist_ok=True)
    (folder / "config" / "jupyter_kernel_gateway_config.py").write_text(
        CONFIG.format(port=port, token=token, env_whitelist=list(env_whitelist)) + extra_config
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER_", "KERNEL_", "JPY_", "PYTEST_")) and key != "PYTHONPATH"
    }
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(folder / "config"),
            "JUPYTER_DATA_DIR": str(folder / "data"),
            "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
            "JUPYTER_PATH": str(folder / "share"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYTHONPATH": str(PROVISIONER_DIR),  # the test provisioner works there too
            "PYTHONUNBUFFERED": "1",
        }
    )
    log = folder / "gateway.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kernel_gateway"],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    gateway = Gateway(f"http://127.0.0.1:{port}", token, port, process, folder, log)
    deadline = time.monotonic() + WAIT
    while True:
        if process.poll() is not None:
            raise GatewayTestError(f"the gateway exited with {process.returncode}:\n{gateway.log_text()[-3000:]}")
        try:
            if gateway.api("GET", "/api/kernelspecs")[0] == 200:
                return gateway
        except OSError:
            pass
        if time.monotonic() > deadline:
            gateway.stop()
            raise GatewayTestError(f"the gateway did not answer within {WAIT}s:\n{gateway.log_text()[-3000:]}")
        time.sleep(0.1)


def parent_pid(pid: int) -> int:
    """The parent of process ``pid``, from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])
