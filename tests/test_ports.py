"""services/kernels/ports.py: local kernels listen on ports from below the OS's ephemeral range."""

from __future__ import annotations

import json
import socket

import pytest
from jupyter_client.connect import LocalPortCache
from traitlets import TraitError

from jupyter_server_lite.services.kernels.manager import MappingKernelManager
from jupyter_server_lite.services.kernels.ports import EPHEMERAL_RANGE_FILE, LOWEST, RangePortCache, default_port_range

PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port")


def ephemeral_range() -> tuple[int, int]:
    with open(EPHEMERAL_RANGE_FILE) as f:
        first, last = (int(n) for n in f.read().split())
    return first, last


async def kernel_ports(jsl_fetch, jsl_serverapp) -> list[int]:
    r = await jsl_fetch("api", "kernels", method="POST", body={})
    km = jsl_serverapp.kernel_manager.get_kernel(json.loads(r.body)["id"])
    return [getattr(km, name) for name in PORT_NAMES]


def test_the_default_range_ends_below_the_ephemeral_ports():
    first, _ = ephemeral_range()
    assert default_port_range() == [LOWEST, first - 1]


async def test_a_kernel_listens_below_the_ephemeral_ports(jsl_fetch, jsl_serverapp):
    ports = await kernel_ports(jsl_fetch, jsl_serverapp)
    low, high = jsl_serverapp.kernel_manager.kernel_port_range
    assert high < ephemeral_range()[0]
    assert len(set(ports)) == 5 and all(low <= p <= high for p in ports), ports
    assert isinstance(LocalPortCache.instance(), RangePortCache)


@pytest.mark.parametrize("jsl_server_config", [{"MappingKernelManager": {"kernel_port_range": [20000, 20063]}}])
async def test_a_configured_range_is_used(jsl_fetch, jsl_serverapp):
    ports = await kernel_ports(jsl_fetch, jsl_serverapp) + await kernel_ports(jsl_fetch, jsl_serverapp)
    assert len(set(ports)) == 10, "two kernels of this process never share a port"
    assert all(20000 <= p <= 20063 for p in ports), ports


@pytest.mark.parametrize("jsl_server_config", [{"MappingKernelManager": {"kernel_port_range": []}}])
async def test_an_empty_range_leaves_the_pick_to_the_os(jsl_fetch, jsl_serverapp):
    first, last = ephemeral_range()
    ports = await kernel_ports(jsl_fetch, jsl_serverapp)
    assert all(first <= p <= last for p in ports), ports


def test_a_port_in_use_is_skipped_and_a_full_range_falls_back():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cache = RangePortCache()
        cache.port_range = (port, port)
        picked = cache.find_available_port("127.0.0.1")
    assert picked != port and picked in cache.currently_used_ports


@pytest.mark.parametrize("value", [[5], [30000, 20000], [1, 2, 3]])
def test_a_malformed_range_is_refused_by_name(value):
    with pytest.raises(TraitError, match=r"kernel_port_range: .* is not \[low, high\]"):
        MappingKernelManager(kernel_port_range=value)
