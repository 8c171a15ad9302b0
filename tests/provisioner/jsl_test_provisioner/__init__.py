"""A kernel provisioner for the test suite: jupyter_client's local one, plus proof it was used.

Registered as ``jsl-recording-provisioner`` in the entry-point group
``jupyter_client.kernel_provisioners`` (by the ``.dist-info`` folder next to
this package, which the tests put on ``sys.path``, or by ``pip install -e
tests/provisioner``).  A kernelspec names it in
``metadata.kernel_provisioner``; then every launch of that kernel

* sets ``JSL_TEST_PROVISIONER`` in the kernel's environment to the kernel's
  id (the kernel can tell who launched it), and
* appends one JSON line ``{"kernel_id", "pid", "argv"}`` to ``record_file``
  (from the kernelspec's ``metadata.kernel_provisioner.config``), if set.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Unicode

__all__ = ["RecordingProvisioner"]


class RecordingProvisioner(LocalProvisioner):
    """LocalProvisioner that marks the kernel's environment and records each launch."""

    record_file = Unicode("", help="A file to append one JSON line per launch to; empty: none.").tag(config=True)

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        kwargs = await super().pre_launch(**kwargs)
        env = dict(kwargs.get("env") or {})
        env["JSL_TEST_PROVISIONER"] = str(self.kernel_id)
        kwargs["env"] = env
        return kwargs

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        info = await super().launch_kernel(cmd, **kwargs)
        if self.record_file:
            with open(self.record_file, "a", encoding="utf-8") as f:
                f.write(json.dumps({"kernel_id": self.kernel_id, "pid": self.pid, "argv": cmd}) + "\n")
        return info
