"""A kernelspec that names a jupyter_client kernel provisioner is launched through it, unchanged.

The provisioner is the test suite's own package (tests/provisioner), found
through the ``jupyter_client.kernel_provisioners`` entry-point group: its
``.dist-info`` is put on ``sys.path`` for the test, as an installed package's
would be.  It proves it was used: the kernel sees ``JSL_TEST_PROVISIONER``
(its own id) in its environment, and every launch is a line in a file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.provisioning.factory import KernelProvisionerFactory
from kernel_ws_client import connect

__all__ = ["connect"]  # a fixture, imported to be found by pytest

PROVISIONER_DIR = Path(__file__).parent / "provisioner"


def provisioned_spec(folder: Path, record: Path, provisioner: str = "jsl-recording-provisioner") -> None:
    folder.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (recorded)",
        "language": "python",
        "metadata": {"kernel_provisioner": {"provisioner_name": provisioner, "config": {"record_file": str(record)}}},
    }
    (folder / "kernel.json").write_text(json.dumps(spec))


@pytest.fixture
def record(jsl_dirs, monkeypatch) -> Iterator[Path]:
    """The provisioner installed (on sys.path) and a kernelspec ``recorded`` that names it.

    jupyter_client's provisioner factory is a process-wide singleton that reads
    the entry points when it is made; it is made afresh here, as it would be
    in a server started after the package was installed, and dropped after.
    (Its lookup of a name it missed indexes the entry points, which Python
    3.11 deprecates -- an error under this suite's warning filter.)
    """
    monkeypatch.syspath_prepend(str(PROVISIONER_DIR))
    KernelProvisionerFactory.clear_instance()
    path = jsl_dirs.root.parent / "launches.jsonl"
    provisioned_spec(jsl_dirs.data / "kernels" / "recorded", path)
    provisioned_spec(jsl_dirs.data / "kernels" / "unavailable", path, provisioner="no-such-provisioner")
    yield path
    KernelProvisionerFactory.clear_instance()


def launches(record: Path) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


async def test_kernel_is_launched_through_the_named_provisioner(
    record, jsl_fetch, jsl_serverapp, connect, jsl_expect_log
):
    with jsl_expect_log(r"referencing a kernel provisioner \('no-such-provisioner'\) that is not available"):
        specs = json.loads((await jsl_fetch("api", "kernelspecs")).body)["kernelspecs"]
    assert "recorded" in specs and "unavailable" not in specs, "a provisioner that is not installed hides its spec"
    r = await jsl_fetch("api", "kernels", method="POST", body={"name": "recorded"})
    kid = json.loads(r.body)["id"]
    km = jsl_serverapp.kernel_manager._local(kid)
    assert type(km.provisioner).__name__ == "RecordingProvisioner"
    client = await connect(kid)
    _, outputs = await client.run("import os; os.environ['JSL_TEST_PROVISIONER'], os.getpid()")
    result = next(m for m in outputs if m["header"]["msg_type"] == "execute_result")
    assert result["content"]["data"]["text/plain"] == repr((kid, km.provisioner.pid))
    assert [(entry["kernel_id"], entry["pid"]) for entry in launches(record)] == [(kid, km.provisioner.pid)]

    assert (await jsl_fetch("api", "kernels", kid, "restart", method="POST")).code == 200
    assert [entry["kernel_id"] for entry in launches(record)] == [kid, kid], "a restart launches through it again"
    assert launches(record)[1]["pid"] == km.provisioner.pid
    assert (await jsl_fetch("api", "kernels", kid, method="DELETE")).code == 204
