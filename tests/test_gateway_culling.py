"""Kernels culled on the gateway leave the server's list; a kernel in use is not culled there.

The Kernel Gateway of this module culls kernels idle for 2 s without a
connection (its ``MappingKernelManager.cull_idle_timeout``); the server
refreshes its list every 0.3 s.  The server holds one websocket to the
gateway per kernel while clients use it, and none otherwise, so the
gateway's culling sees exactly the kernels nobody here uses.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from gatewayrunner import Gateway, start_gateway
from kernel_ws_client import connect, wait_for

__all__ = ["connect"]  # a fixture, imported to be found by pytest

pytestmark = pytest.mark.slow  # starts a real Kernel Gateway process (its kernels too) for the module

CULLING = """
c.MappingKernelManager.cull_idle_timeout = 2
c.MappingKernelManager.cull_interval = 1
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[Gateway]:
    gw = start_gateway(tmp_path_factory.mktemp("gateway"), extra_config=CULLING)
    yield gw
    gw.stop()


@pytest.fixture
def jsl_server_config(gateway):
    return {
        "GatewayClient": {"url": gateway.url, "auth_token": gateway.token},
        "GatewayMappingKernelManager": {"refresh_interval": 0.3},
    }


async def test_a_kernel_culled_on_the_gateway_disappears_here(jsl_serverapp, jsl_fetch, gateway):
    km = jsl_serverapp.kernel_manager
    events = []
    km.add_kernel_listener(lambda event, kernel_id: events.append((event, kernel_id)))
    r = await jsl_fetch("api", "sessions", method="POST", body={"path": "idle.ipynb", "type": "notebook"})
    kid = json.loads(r.body)["kernel"]["id"]
    assert kid in gateway.kernel_ids()
    await wait_for(lambda: kid not in gateway.kernel_ids(), "the gateway to cull the idle kernel", timeout=30)
    await wait_for(lambda: kid not in km, "the kernel to leave the server's list", timeout=10)
    assert json.loads((await jsl_fetch("api", "kernels")).body) == []
    assert json.loads((await jsl_fetch("api", "sessions")).body) == [], "its session went with it"
    assert events == [("started", kid), ("dead", kid), ("shutdown", kid)]


async def test_a_kernel_with_a_client_is_not_culled_on_the_gateway(jsl_serverapp, jsl_fetch, gateway, connect):
    kid = json.loads((await jsl_fetch("api", "kernels", method="POST", body={})).body)["id"]
    client = await connect(kid)
    status, model = gateway.api("GET", f"/api/kernels/{kid}")
    assert status == 200 and model["connections"] == 1, "the server's one websocket to the gateway"
    await asyncio.sleep(4)  # twice the gateway's idle timeout
    assert kid in gateway.kernel_ids() and kid in jsl_serverapp.kernel_manager
    reply, _ = await client.run("1 + 1")
    assert reply["content"]["status"] == "ok"
