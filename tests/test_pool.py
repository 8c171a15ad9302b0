"""The warm kernel pool (services/kernels/pool.py) with real ipykernel kernels.

The pool's kernelspec is a copy of the Python kernel under another name, so
the test can edit it and see a stale pooled kernel replaced.
"""

from __future__ import annotations

import json
import sys

import pytest
from kernel_ws_client import connect, kernel_model, of_type
from support import process_running, wait_for

from jupyter_server_lite.extension.hooks import hookimpl

__all__ = ["connect"]  # a fixture, imported to be found by pytest

POOLED = "pooly"


def write_spec(jsl_dirs, env=None):
    folder = jsl_dirs.data / "kernels" / POOLED
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Pooled Python",
        "language": "python",
        "env": env or {},
    }
    (folder / "kernel.json").write_text(json.dumps(spec))


@pytest.fixture
def jsl_server_config(jsl_dirs):
    write_spec(jsl_dirs)
    return {
        "MappingKernelManager": {"pool_size": {POOLED: 1}},
        "KernelSpecManager": {"cache_check_interval": 0},
    }


async def pooled_kernel(app, other_than=None):
    """The pool's idle kernel, once it has answered (and is not ``other_than``)."""
    pool = app.kernel_manager.pool
    await wait_for(lambda: [km for km in pool.kernels() if km is not other_than and km.ready_for_clients])
    [km] = pool.kernels()
    return km


async def test_post_takes_the_pooled_kernel_in_the_notebook_folder_and_the_pool_refills(
    jsl_fetch, jsl_serverapp, jsl_dirs, connect
):
    app = jsl_serverapp
    started = []

    class Recorder:
        @hookimpl
        def kernel_started(self, kernel_id):
            started.append(kernel_id)

    app.hooks.register(Recorder(), "recorder")
    pooled = await pooled_kernel(app)
    assert json.loads((await jsl_fetch("api", "kernels")).body) == [], "pooled kernels are not listed"
    assert json.loads((await jsl_fetch("api", "status")).body)["kernels"] == 0
    (jsl_dirs.root / "sub").mkdir()

    r = await jsl_fetch("api", "kernels", method="POST", body={"name": POOLED, "path": "sub/nb.ipynb"})
    model = json.loads(r.body)
    assert model["id"] == pooled.kernel_id and model["execution_state"] == "idle", "it has answered already"
    assert started == [pooled.kernel_id], "kernel_started fired before the response"
    folder = str(jsl_dirs.root / "sub")
    client = await connect(model["id"])
    reply, outputs = await client.run("import os; os.getcwd() + '|' + str(_dh[-1])")  # and IPython's folder history
    assert of_type(outputs, "execute_result")[0]["content"]["data"]["text/plain"] == repr(f"{folder}|{folder}")
    msg_id = await client.send("execute_request", {"code": "len(In)", "silent": False, "store_history": True})
    reply = await client.reply_to(msg_id)
    assert reply["content"]["execution_count"] == 1, "the move ran silently: no count, no history"

    refill = await pooled_kernel(app, other_than=pooled)
    assert refill.kernel_id != pooled.kernel_id
    assert [k["id"] for k in json.loads((await jsl_fetch("api", "kernels")).body)] == [pooled.kernel_id]

    # A session takes the refilled kernel too.
    r = await jsl_fetch(
        "api", "sessions", method="POST", body={"path": "nb2.ipynb", "type": "notebook", "kernel": {"name": POOLED}}
    )
    assert json.loads(r.body)["kernel"]["id"] == refill.kernel_id


async def test_pooled_kernels_are_not_activity(jsl_fetch, jsl_serverapp):
    pooled = await pooled_kernel(jsl_serverapp)
    before = json.loads((await jsl_fetch("api", "status")).body)["last_activity"]
    _, reply = pooled.connection.request("shell", "kernel_info_request")
    await reply
    await wait_for(lambda: pooled.execution_state == "idle")
    assert json.loads((await jsl_fetch("api", "status")).body)["last_activity"] == before


async def test_a_changed_kernelspec_replaces_the_pooled_kernel(jsl_fetch, jsl_serverapp, jsl_dirs, connect):
    stale = await pooled_kernel(jsl_serverapp)
    stale_pid = stale.provisioner.pid
    write_spec(jsl_dirs, env={"JSL_POOL_TEST": "edited"})
    kid = json.loads((await jsl_fetch("api", "kernels", method="POST", body={"name": POOLED})).body)["id"]
    assert kid != stale.kernel_id, "a fresh kernel, from the edited kernelspec"
    await wait_for(lambda: not process_running(stale_pid))
    _, outputs = await (await connect(kid)).run("import os; os.environ.get('JSL_POOL_TEST')")
    assert of_type(outputs, "execute_result")[0]["content"]["data"]["text/plain"] == "'edited'"
    refill = await pooled_kernel(jsl_serverapp, other_than=stale)
    assert refill.kernel_spec.env == {"JSL_POOL_TEST": "edited"}


async def test_stopping_the_server_stops_pooled_and_handed_out_kernels(jsl_fetch, jsl_serverapp):
    taken = await pooled_kernel(jsl_serverapp)
    kid = json.loads((await jsl_fetch("api", "kernels", method="POST", body={"name": POOLED})).body)["id"]
    assert kid == taken.kernel_id
    assert (await kernel_model(jsl_fetch, kid))["name"] == POOLED
    refill = await pooled_kernel(jsl_serverapp, other_than=taken)
    pids = [taken.provisioner.pid, refill.provisioner.pid]
    assert all(process_running(pid) for pid in pids)
    await jsl_serverapp.stop_server()
    assert not [pid for pid in pids if process_running(pid)]
    assert len(jsl_serverapp.kernel_manager.pool) == 0


def test_the_pool_is_off_by_default():
    from jupyter_server_lite.services.kernels.manager import MappingKernelManager

    assert MappingKernelManager().pool_size == {}
