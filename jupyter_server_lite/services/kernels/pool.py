"""The warm kernel pool: kernels started before anybody asks (``MappingKernelManager.pool_size``).

Starting ipykernel takes about half a second; a notebook opened with a warm
pool gets a kernel that has already answered ``kernel_info``.  For each
kernelspec named in ``pool_size`` the pool keeps that many idle kernels
started in ``root_dir``; :meth:`KernelPool.take` hands one out and starts
the replacement in the background.

A pooled kernel behaves for the user like a fresh one:

* **Working directory**: the kernel was started in ``root_dir``; before it
  is handed out it runs, silently (no execution count, no history, no
  output), ``os.chdir`` to the requested folder and resets IPython's
  directory history to it.  ``sys.path`` needs nothing: ipykernel puts the
  current directory there as ``''``, which follows the change.  This needs
  a Python kernel (kernelspec ``language: python``); a pooled kernel of
  another language is only handed out for a kernel in ``root_dir`` itself.
* **Environment and command**: those of a fresh start of the same
  kernelspec at the moment the pooled kernel was started.  A kernelspec
  edited since is noticed, and its stale pooled kernels are replaced.
* **What differs**: code that ran while the kernel started (IPython startup
  files, ``PYTHONSTARTUP``, ``sitecustomize``) ran in ``root_dir``; the
  process is older than the request.

Pooled kernels are not listed in ``/api/kernels``, never culled, never count
as server activity, produce no kernel events or hooks until handed out, and
are shut down with the server.  One that dies while pooled is not restarted
but replaced when its turn comes.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .kernel import ServerKernelManager
    from .manager import MappingKernelManager

#: Seconds a pooled kernel may take to change folders before it is discarded.
MOVE_TIMEOUT = 10.0

#: Run silently in a pooled Python kernel to move it to ``{cwd}`` (its names removed afterwards).
#: IPython's directory history (``_dh``) starts at the new folder, as a fresh kernel's would.
MOVE_CODE = """\
def _jsl_move(path):
    import os
    os.chdir(path)
    try:
        history = get_ipython().user_ns.get("_dh")
    except NameError:
        return
    if history:
        history[:] = [type(history[0])(path)]
_jsl_move({cwd!r})
del _jsl_move
"""


class KernelPool:
    """Idle kernels per kernelspec name, for one :class:`~.manager.MappingKernelManager`."""

    def __init__(self, manager: MappingKernelManager) -> None:
        self.manager = manager
        self.log = manager.log
        self.closed = True
        self._idle: dict[str, list[ServerKernelManager]] = {}
        self._filling: dict[str, asyncio.Task[None]] = {}
        self._discarding: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return sum(map(len, self._idle.values()))

    def kernels(self) -> list[ServerKernelManager]:
        """The idle pooled kernels (for inspection and tests)."""
        return [km for idle in self._idle.values() for km in idle]

    def open(self) -> None:
        """Start filling the pool (the server calls this once it serves)."""
        self.closed = False
        if not self.manager.pool_size:
            return
        installed = set(self.manager.kernelspecs.kernel_names())
        for name, size in self.manager.pool_size.items():
            if size <= 0:
                continue
            if name.lower() not in installed:
                self.log.warning(
                    "MappingKernelManager.pool_size names kernelspec %r, which is not installed; no pool for it", name
                )
                continue
            self._refill(name.lower())

    async def take(self, name: str, cwd: str) -> ServerKernelManager | None:
        """An idle kernel of ``name`` moved to ``cwd``, or None (start a fresh one then)."""
        idle = self._idle.get(name, [])
        taken = None
        while idle and taken is None and not self.closed:
            km = idle.pop(0)
            if not await self._usable(km, name):
                self._discard(km)
            elif km.cwd != cwd and not _speaks_python(km):
                idle.insert(0, km)  # kept for a kernel in root_dir
                return None
            elif await self._move(km, cwd):
                taken = km
            else:
                self._discard(km)
        if not self.closed and self._size(name):
            self._refill(name)
        return taken

    async def close(self) -> None:
        """Stop refilling; shut down every pooled kernel (waiting for those still starting)."""
        self.closed = True
        await asyncio.gather(*self._filling.values(), return_exceptions=True)
        for km in self.kernels():
            self._discard(km)
        self._idle.clear()
        await asyncio.gather(*self._discarding, return_exceptions=True)

    # -- filling ------------------------------------------------------------------

    def _size(self, name: str) -> int:
        return max((size for key, size in self.manager.pool_size.items() if key.lower() == name), default=0)

    def _refill(self, name: str) -> None:
        if name not in self._filling:
            task = self._filling[name] = asyncio.ensure_future(self._fill(name))
            task.add_done_callback(lambda _t: self._filling.pop(name, None))

    async def _fill(self, name: str) -> None:
        idle = self._idle.setdefault(name, [])
        while not self.closed and len(idle) < self._size(name):
            try:
                km = await self._launch(name)
            except Exception as err:
                self.log.error("Starting a pooled %r kernel failed: %s", name, err)
                return  # tried again at the next take
            if self.closed:
                self._discard(km)
            else:
                idle.append(km)

    async def _launch(self, name: str) -> ServerKernelManager:
        """Start a kernel in root_dir, connect to it and wait for its answer; not listed anywhere."""
        manager = self.manager
        km_any, _, kernel_id = manager.pre_start_kernel(name, {})
        manager._launching.pop(kernel_id, None)  # not started through start_kernel: cleaned up here
        km = cast("ServerKernelManager", km_any)
        km.autorestart = False
        km.cwd = manager.root_dir
        try:
            await km.start_kernel(kernel_id=kernel_id, cwd=km.cwd)
            km.open_connection()
            await asyncio.wait_for(
                km.wait_until_ready(manager.kernel_info_timeout), timeout=manager.kernel_info_timeout
            )
        except BaseException:
            await _stop(km)
            raise
        km.spec_snapshot = _spec_of(km)
        self.log.debug("Pooled kernel %s (%s) is ready", kernel_id, name)
        return km

    # -- handing out -------------------------------------------------------------

    async def _usable(self, km: ServerKernelManager, name: str) -> bool:
        """Alive, still connected, and started from the kernelspec as it is now."""
        if km.connection is None or not await km.is_alive():
            self.log.info("Pooled kernel %s (%s) died; replacing it", km.kernel_id, name)
            return False
        current = self.manager.kernelspecs.get_all_specs().get(name, {}).get("spec")
        if current != km.spec_snapshot:
            self.log.info("Kernelspec %r changed since pooled kernel %s started; replacing it", name, km.kernel_id)
            return False
        return True

    async def _move(self, km: ServerKernelManager, cwd: str) -> bool:
        """Make ``cwd`` the kernel's working directory (silently); False if it did not work."""
        if km.cwd == cwd:
            return True
        assert km.connection is not None
        content = {
            "code": MOVE_CODE.format(cwd=cwd),
            "silent": True,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,
        }
        msg_id, request = km.connection.request("shell", "execute_request", content)
        idle = km.idle_after(msg_id)
        try:
            reply = await asyncio.wait_for(request, MOVE_TIMEOUT)
            status = json.loads(reply.parts[3]).get("status")
            await asyncio.wait_for(idle, MOVE_TIMEOUT)  # handed out idle, as a fresh kernel is
        except (asyncio.TimeoutError, ConnectionError, ValueError, AttributeError) as err:
            status = f"no answer ({err!r})"
        finally:
            idle.cancel()
        if status != "ok":
            self.log.warning("Pooled kernel %s could not move to %s (%s); discarding it", km.kernel_id, cwd, status)
            return False
        km.cwd = cwd
        return True

    def _discard(self, km: ServerKernelManager) -> None:
        task = asyncio.ensure_future(_stop(km))
        self._discarding.add(task)
        task.add_done_callback(self._discarding.discard)


async def _stop(km: ServerKernelManager) -> None:
    """Shut a pooled kernel down at once (nobody has used it) and clean up its files and ports."""
    km.close_connection()
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
        else:
            await km.cleanup_resources()
    except Exception as err:
        km.log.warning("Stopping pooled kernel %s: %s", km.kernel_id, err)


def _speaks_python(km: ServerKernelManager) -> bool:
    return str(getattr(km.kernel_spec, "language", "")).lower() == "python"


def _spec_of(km: ServerKernelManager) -> Any:
    return km.kernel_spec.to_dict() if km.kernel_spec is not None else None
