"""The server's kernels: jupyter_client's multi-kernel manager plus what a server needs.

On top of :class:`~jupyter_client.multikernelmanager.AsyncMultiKernelManager`:

* **Where kernels run**: ``root_dir``/``path``, never outside ``root_dir``; an
  unknown kernel name or an escaping path is an HTTP 4xx naming the problem.
* **One connection per kernel**: each kernel process gets one
  :class:`~.connection.KernelConnection` (shell, control, stdin, iopub),
  opened here when it starts and replaced when it restarts.  Its iopub keeps
  the kernel's ``execution_state`` and ``last_activity`` current (see
  :mod:`.kernel`); every websocket of the kernel talks through it too.
  Polling ``GET /api/kernels`` touches neither.
* **Readiness**: after a start or restart the manager probes the kernel
  (:meth:`~.kernel.ServerKernelManager.wait_until_ready`), so the state
  leaves ``starting`` without any client connected; until then client
  messages are held.
* **Events** (:meth:`MappingKernelManager.add_kernel_listener`): ``started``
  (a new kernel answered), ``restarting`` (a REST restart begins),
  ``autorestarting`` (jupyter_client's restarter replaces a dead kernel),
  ``restarted`` (a restart finished and the kernel answers), ``dead`` (the
  restarter gave up), ``shutdown`` (removed).  A kernel restarted before
  it ever answered gets ``started``, not ``restarted``, when the new process
  answers: every kernel that answers has ``started`` once.  The server turns them into
  hooks and activity; the websocket layer and sessions follow them too.
* **A warm pool** (``pool_size``, :mod:`.pool`): kernels started ahead of
  need, handed out by :meth:`~MappingKernelManager.start_kernel`.
* **Culling** of idle kernels (``cull_*`` traits, as in jupyter_server).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any, cast

from jupyter_client.multikernelmanager import AsyncMultiKernelManager
from tornado import web
from tornado.ioloop import PeriodicCallback
from traitlets import Bool, Dict, DottedObjectName, Float, Integer, List, TraitError, Unicode, default, validate

from ...activity import isoformat, utcnow
from ...traitdoc import computed_default
from ..kernelspecs.manager import KernelSpecManager
from .kernel import STARTING_STATES, KernelLink, ServerKernelManager
from .pool import KernelPool
from .ports import default_port_range, use_port_range

__all__ = ["KERNEL_EVENTS", "MappingKernelManager", "ServerKernelManager"]

KernelListener = Callable[[str, str], None]

#: The events a kernel listener receives (see MappingKernelManager.add_kernel_listener).
KERNEL_EVENTS = ("started", "restarting", "autorestarting", "restarted", "dead", "shutdown")


class MappingKernelManager(AsyncMultiKernelManager):
    """The server's kernels, by id (see the module docstring for what it adds)."""

    kernel_manager_class = DottedObjectName(
        "jupyter_server_lite.services.kernels.kernel.ServerKernelManager",
        help="""The class managing one kernel; a replacement must subclass
        jupyter_server_lite.services.kernels.kernel.ServerKernelManager.""",
    ).tag(config=True)

    cull_idle_timeout = Float(
        0,
        help="""Shut down a kernel after this many seconds without a message from it.
        0 (the default) never culls.  See cull_connected and cull_busy.""",
    ).tag(config=True)
    cull_interval = Float(300, help="Seconds between two checks for idle kernels (when cull_idle_timeout is set).").tag(
        config=True
    )
    cull_connected = Bool(
        False, help="Also cull idle kernels that have a client connected (a browser tab left open)."
    ).tag(config=True)
    cull_busy = Bool(False, help="Also cull kernels whose last state is busy (a long computation without output).").tag(
        config=True
    )
    kernel_info_timeout = Float(
        60,
        help="""Seconds to wait for a started or restarted kernel to answer kernel_info;
        past it a warning is logged and client messages go to the kernel unanswered-for.""",
    ).tag(config=True)
    pool_size = Dict(
        key_trait=Unicode(),
        value_trait=Integer(min=0),
        help="""Idle kernels kept started per kernelspec, e.g. {"python3": 1}: a new kernel
        of that name (POST /api/kernels, a new session) is taken from the pool, moved to
        its folder, and the pool refills in the background. Empty (the default): no pool.""",
    ).tag(config=True)

    kernel_port_range = computed_default(
        List(
            Integer(min=1, max=65535),
            help="""The TCP ports local kernels listen on are drawn from [low, high]; [] leaves
            the pick to jupyter_client (ports the OS hands out). The default range lies below
            the OS's ephemeral ports, which the OS also gives to outgoing connections -- this
            server's own, to the kernels it starts -- so a port picked for a starting kernel
            cannot be taken in the moment before the kernel binds it. Applies to the whole
            process (jupyter_client's port cache is one per process).""",
        ),
        "[10000, the first ephemeral port - 1] on Linux (from /proc/sys/net/ipv4/ip_local_port_range); [] elsewhere",
    ).tag(config=True)

    @default("kernel_port_range")
    def _default_kernel_port_range(self) -> list[int]:
        return default_port_range()

    @validate("kernel_port_range")
    def _validate_kernel_port_range(self, proposal: Any) -> list[int]:
        value = list(proposal["value"])
        if value and (len(value) != 2 or value[0] > value[1]):
            raise TraitError(f"MappingKernelManager.kernel_port_range: {value!r} is not [low, high] with low <= high")
        return value

    root_dir = Unicode(help="The folder kernels start in, with a request's path below it (from ServerApp.root_dir).")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listeners: list[KernelListener] = []
        self._connections: dict[str, int] = {}
        self._probes: dict[str, asyncio.Task[None]] = {}
        self._unannounced: set[str] = set()  # listed kernels that have not had ``started`` yet
        self._shutdowns: dict[str, asyncio.Task[None]] = {}
        self._launching: dict[str, ServerKernelManager] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._culler: PeriodicCallback | None = None
        self._closing = False
        self.pool = KernelPool(self)
        use_port_range(self.kernel_port_range)

    @property
    def kernelspecs(self) -> KernelSpecManager:
        """The server's kernelspec manager (ServerApp gives ours, a subclass of jupyter_client's)."""
        return cast(KernelSpecManager, self.kernel_spec_manager)

    def start_serving(self) -> None:
        """The server listens: start filling the warm pool (the server calls this once)."""
        self.pool.open()

    # -- the contract used by handlers, sessions and the websocket --------------

    def check_kernel_id(self, kernel_id: str) -> None:
        """Raise a 404 naming ``kernel_id`` unless it is a running kernel (any string)."""
        if kernel_id not in self._kernels:
            raise web.HTTPError(404, f"Kernel does not exist: {kernel_id}")

    def get_kernel(self, kernel_id: str) -> KernelLink:  # type: ignore[override]  # a gateway kernel is no jupyter_client KernelManager
        """The kernel of ``kernel_id`` (KeyError if there is none): what the websockets,
        models and hooks use, whoever runs it."""
        return cast(KernelLink, super().get_kernel(kernel_id))

    def _local(self, kernel_id: str) -> ServerKernelManager:
        """The local kernel of ``kernel_id`` (this manager's kernel_manager_class)."""
        return cast(ServerKernelManager, super().get_kernel(kernel_id))

    def kernel_model(self, kernel_id: str) -> dict[str, Any]:
        """``{id, name, last_activity, execution_state, connections}`` of one kernel."""
        self.check_kernel_id(kernel_id)
        km = self.get_kernel(kernel_id)
        return {
            "id": kernel_id,
            "name": km.kernel_name,
            "last_activity": isoformat(km.last_activity),
            "execution_state": km.execution_state,
            "connections": self._connections.get(kernel_id, 0),
        }

    def list_kernels(self) -> list[dict[str, Any]]:
        """The models of every running kernel (pooled kernels are not listed)."""
        return [self.kernel_model(kid) for kid in list(self._kernels)]

    @property
    def last_activity(self) -> datetime | None:
        """The latest message of any listed kernel (None without kernels); pooled ones do not count."""
        seen = [cast(KernelLink, km)._last_seen for km in self._kernels.values()]
        return datetime.fromtimestamp(max(seen), timezone.utc) if seen else None

    async def start_kernel(self, kernel_name: str | None = None, path: str | None = None, **kwargs: Any) -> str:  # type: ignore[override]  # async, where jupyter_client declares the run_sync wrapper's signature
        """Start a kernel in ``root_dir``/``path`` and return its id.

        ``path`` is relative to ``root_dir`` (a file's path means its folder; a
        missing folder falls back to its nearest existing parent).  An unknown
        ``kernel_name`` or a path leaving ``root_dir`` is a 400; a kernel that
        cannot be launched is a 500 with the reason, never a traceback.  With
        a warm pool for the kernelspec, an idle pooled kernel is taken
        instead (see :mod:`.pool`); it has answered already.
        """
        if self._closing:
            raise web.HTTPError(503, "The server is stopping; no new kernels")
        name = (kernel_name or self.default_kernel_name).lower()
        available = self.kernelspecs.kernel_names()
        if name not in available:
            raise web.HTTPError(
                400, f"No such kernel {kernel_name!r}; available kernels: {', '.join(available) or 'none'}"
            )
        cwd = self.cwd_for_path(path)
        pooled = None if kwargs else await self.pool.take(name, cwd)
        if pooled is not None:
            return self._adopt_pooled(pooled)
        kwargs["cwd"] = cwd
        kernel_id = self.new_kernel_id()
        try:
            await super().start_kernel(kernel_name=name, kernel_id=kernel_id, **kwargs)
        except Exception as err:
            await self._forget_failed_start(kernel_id)
            raise web.HTTPError(500, f"Kernel {name!r} failed to start: {err}") from err
        finally:
            self._launching.pop(kernel_id, None)
        km = self._local(kernel_id)
        km.cwd = cwd
        self._watch(kernel_id, km)
        self._unannounced.add(kernel_id)
        self._attach(kernel_id, "started")
        self.log.info("Kernel started: %s (%s) in %s", kernel_id, name, cwd)
        if self._closing:  # stop_server began while this kernel was starting
            await self.shutdown_kernel(kernel_id, now=True)
            raise web.HTTPError(503, "The server is stopping; the kernel was shut down")
        return kernel_id

    def _adopt_pooled(self, km: ServerKernelManager) -> str:
        """List a kernel taken from the pool: it answered already, so it is ``started`` at once."""
        kernel_id = cast(str, km.kernel_id)
        self._kernels[kernel_id] = km
        km.last_activity = utcnow()
        km.autorestart = True  # the pool keeps it off: a pooled kernel that dies is simply replaced
        km.start_restarter()
        self._watch(kernel_id, km)
        self.log.info("Kernel started: %s (%s) in %s, from the pool", kernel_id, km.kernel_name, km.cwd)
        self._notify("started", kernel_id)
        return kernel_id

    def _watch(self, kernel_id: str, km: ServerKernelManager) -> None:
        """Follow a listed kernel's restarts and death, and cull it when idle."""
        km.on_restarted = partial(self._attach, kernel_id, "restarted")
        km.add_restart_callback(partial(self._on_autorestart, kernel_id), "restart")
        km.add_restart_callback(partial(self._on_dead, kernel_id), "dead")
        self._start_culler()

    def pre_start_kernel(self, kernel_name: str | None, kwargs: Any) -> tuple[Any, str, str]:
        """jupyter_client's, remembering the new kernel's manager while it launches."""
        km, name, kernel_id = super().pre_start_kernel(kernel_name, kwargs)
        self._launching[kernel_id] = cast(ServerKernelManager, km)  # kernel_manager_class is one
        return km, name, kernel_id

    async def _forget_failed_start(self, kernel_id: str) -> None:
        """Remove what a failed launch left: its connection file (it holds the
        key), its reserved ports, jupyter_client's pending entry."""
        self._pending_kernels.pop(kernel_id, None)
        km = self._launching.pop(kernel_id, None)
        if km is not None:
            try:
                await km.cleanup_resources()
            except Exception as err:
                self.log.warning("Cleaning up after kernel %s failed to start: %s", kernel_id, err)

    async def shutdown_kernel(self, kernel_id: str, now: bool = False, restart: bool = False) -> None:  # type: ignore[override]  # async, where jupyter_client declares the run_sync wrapper's signature
        """Shut a kernel down and forget it; a second call waits for the first."""
        task = self._shutdowns.get(kernel_id)
        if task is None:
            self.check_kernel_id(kernel_id)
            task = self._shutdowns[kernel_id] = asyncio.ensure_future(self._shutdown(kernel_id, now, restart))
            task.add_done_callback(lambda _t: self._shutdowns.pop(kernel_id, None))
        await asyncio.shield(task)

    async def _shutdown(self, kernel_id: str, now: bool, restart: bool) -> None:
        km = self._local(kernel_id)
        if km.restart_done is not None:
            await km.restart_done  # else the restart would start a process nobody stops
        self._detach(kernel_id, km)
        try:
            await super().shutdown_kernel(kernel_id, now=now, restart=restart)
        finally:
            self._kernels.pop(kernel_id, None)
            self._connections.pop(kernel_id, None)
            self._notify("shutdown", kernel_id)

    async def restart_kernel(self, kernel_id: str, now: bool = False) -> None:  # type: ignore[override]  # async, where jupyter_client declares the run_sync wrapper's signature
        """Restart a kernel and wait until it answers again.

        Listeners get ``restarting`` now and ``restarted`` once it answers; a
        kernel that cannot be started again is reported ``dead`` and removed.
        """
        self.check_kernel_id(kernel_id)
        km = self._local(kernel_id)
        km.execution_state = "restarting"
        self._detach(kernel_id, km)
        self._notify("restarting", kernel_id)
        try:
            await super().restart_kernel(kernel_id, now=now)
        except Exception as err:
            self.log.error("Kernel %s failed to restart: %s", kernel_id, err)
            await self._kernel_died(kernel_id)
            raise web.HTTPError(500, f"Kernel {kernel_id} failed to restart: {err}") from err
        probe = self._probes.get(kernel_id)
        if probe is not None:
            await asyncio.wait({probe})  # cancelled if the kernel is shut down meanwhile

    async def interrupt_kernel(self, kernel_id: str) -> None:  # type: ignore[override]  # async, where jupyter_client declares the run_sync wrapper's signature
        """Interrupt what the kernel is running (SIGINT or an interrupt_request, per its spec)."""
        self.check_kernel_id(kernel_id)
        await self._local(kernel_id).interrupt_kernel()
        self.log.info("Kernel interrupted: %s", kernel_id)

    async def shutdown_all(self, now: bool = False) -> None:  # type: ignore[override]  # async, where jupyter_client declares the run_sync wrapper's signature
        """Shut down every kernel, those still starting and the pooled ones included; no new ones start."""
        self._closing = True
        self._stop_culler()
        for task in list(self._pending_kernels.values()):
            try:
                await task
            except Exception:
                pass
        kernel_ids = sorted(set(self._kernels) | set(self._shutdowns))
        results = await asyncio.gather(
            self.pool.close(), *(self.shutdown_kernel(kid, now=now) for kid in kernel_ids), return_exceptions=True
        )
        for kernel_id, result in zip(["(pool)", *kernel_ids], results):
            if isinstance(result, Exception):
                self.log.error("Kernel %s did not shut down cleanly: %s", kernel_id, result)
        self._closing = False

    # -- connections -----------------------------------------------------------------

    def connection_opened(self, kernel_id: str) -> None:
        """A client (websocket) connected to ``kernel_id``."""
        self._connections[kernel_id] = self._connections.get(kernel_id, 0) + 1

    def connection_closed(self, kernel_id: str) -> None:
        """A client of ``kernel_id`` went away (never below zero; unknown ids are ignored)."""
        if self._connections.get(kernel_id, 0) > 0:
            self._connections[kernel_id] -= 1

    @property
    def total_connections(self) -> int:
        """Open client connections over all kernels."""
        return sum(self._connections.values())

    # -- events ------------------------------------------------------------------

    def add_kernel_listener(self, callback: KernelListener) -> None:
        """Call ``callback(event, kernel_id)`` for each kernel event (see KERNEL_EVENTS)."""
        self._listeners.append(callback)

    def remove_kernel_listener(self, callback: KernelListener) -> None:
        """Stop calling ``callback``; a callback never added is ignored."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _notify(self, event: str, kernel_id: str) -> None:
        if event == "restarted" and kernel_id in self._unannounced:
            event = "started"  # restarted before its first answer: this is the first listeners hear of it
        if event in ("started", "shutdown"):
            self._unannounced.discard(kernel_id)
        for callback in list(self._listeners):
            try:
                callback(event, kernel_id)
            except Exception:
                self.log.exception("Kernel listener %r failed on %r for kernel %s", callback, event, kernel_id)

    def _on_autorestart(self, kernel_id: str) -> None:
        km = self._kernels.get(kernel_id)
        if km is None:
            return
        self.log.warning("Kernel %s (%s) died unexpectedly; restarting it", kernel_id, km.kernel_name)
        km.execution_state = "autorestarting"
        self._detach(kernel_id, km)
        self._notify("autorestarting", kernel_id)

    def _on_dead(self, kernel_id: str) -> None:
        self.log.error("Kernel %s could not be restarted; removing it", kernel_id)
        task = asyncio.ensure_future(self._kernel_died(kernel_id))
        self._background.add(task)  # a reference until it is done
        task.add_done_callback(self._background.discard)

    async def _kernel_died(self, kernel_id: str) -> None:
        """Report a kernel dead for good, then remove it and its files."""
        km = self._kernels.get(kernel_id)
        if km is None:
            return
        km.execution_state = "dead"
        self._notify("dead", kernel_id)
        await self.shutdown_kernel(kernel_id, now=True)

    # -- connection and readiness ----------------------------------------------------

    def _attach(self, kernel_id: str, event: str) -> None:
        """Connect to a (new) kernel process and probe it; ``event`` once it answers.

        Called after a start and after every restart: a restart may move the
        kernel to new ports, so the previous connection is replaced.
        """
        km = self._local(kernel_id)
        self._detach(kernel_id, km)
        km.open_connection()
        probe = self._probes[kernel_id] = asyncio.ensure_future(self._announce_when_ready(kernel_id, km, event))
        probe.add_done_callback(
            lambda t: self._probes.pop(kernel_id, None) if self._probes.get(kernel_id) is t else None
        )

    def _detach(self, kernel_id: str, km: ServerKernelManager) -> None:
        """Close the kernel's connection (its process is going away) and stop probing it."""
        km.close_connection()
        probe = self._probes.pop(kernel_id, None)
        if probe is not None:
            probe.cancel()

    async def _announce_when_ready(self, kernel_id: str, km: ServerKernelManager, event: str) -> None:
        """``event`` once the kernel answers, however late; past ``kernel_info_timeout``
        a warning, and held client messages are let through meanwhile."""
        ready = asyncio.ensure_future(km.wait_until_ready(self.kernel_info_timeout))
        try:
            await asyncio.wait_for(asyncio.shield(ready), timeout=self.kernel_info_timeout)
        except asyncio.TimeoutError:
            self.log.warning(
                "Kernel %s did not answer kernel_info within %gs; passing client messages on anyway",
                kernel_id,
                self.kernel_info_timeout,
            )
            km.set_ready_for_clients()
            await ready
        finally:
            ready.cancel()  # when this probe is cancelled (shutdown, restart); a no-op once done
        self._notify(event, kernel_id)

    # -- paths -------------------------------------------------------------------

    def cwd_for_path(self, path: str | None) -> str:
        """The working directory for a kernel at API path ``path`` (see start_kernel)."""
        root = self.root_dir or os.getcwd()
        parts = [p for p in (path or "").replace("\\", "/").split("/") if p]
        target = os.path.normpath(os.path.join(root, *parts))
        if target != root and not target.startswith(root.rstrip(os.sep) + os.sep):
            raise web.HTTPError(400, f"Kernel path {path!r} is outside the server's root directory")
        while target != root and not os.path.isdir(target):
            target = os.path.dirname(target)
        return target

    # -- culling -----------------------------------------------------------------

    def _start_culler(self) -> None:
        if self.cull_idle_timeout > 0 and self._culler is None:
            self._culler = PeriodicCallback(self.cull_kernels, 1000 * max(self.cull_interval, 0.1))
            self._culler.start()
            self.log.info(
                "Culling kernels idle for %gs (checked every %gs, connected: %s, busy: %s)",
                self.cull_idle_timeout,
                self.cull_interval,
                self.cull_connected,
                self.cull_busy,
            )

    def _stop_culler(self) -> None:
        if self._culler is not None:
            self._culler.stop()
            self._culler = None

    async def cull_kernels(self) -> None:
        """Shut down every kernel idle for longer than cull_idle_timeout (never one still starting)."""
        limit = timedelta(seconds=self.cull_idle_timeout)
        now = utcnow()
        for kernel_id, km in list(self._kernels.items()):
            idle = now - km.last_activity
            if idle <= limit or kernel_id in self._shutdowns or km.execution_state in STARTING_STATES:
                continue
            if km.execution_state == "busy" and not self.cull_busy:
                continue
            if self._connections.get(kernel_id) and not self.cull_connected:
                continue
            self.log.info("Culling kernel %s (%s): idle for %ds", kernel_id, km.kernel_name, idle.total_seconds())
            try:
                await self.shutdown_kernel(kernel_id)
            except Exception:
                self.log.exception("Culling kernel %s failed", kernel_id)
