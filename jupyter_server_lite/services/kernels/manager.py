"""The server's kernels: jupyter_client's multi-kernel manager plus what a server needs.

On top of :class:`~jupyter_client.multikernelmanager.AsyncMultiKernelManager`:

* **Where kernels run**: ``root_dir``/``path``, never outside ``root_dir``; an
  unknown kernel name or an escaping path is an HTTP 4xx naming the problem.
* **Live state**: one iopub subscription per kernel, owned here, keeps each
  kernel's ``execution_state`` and ``last_activity`` current from its
  ``status`` messages; every kernel message also counts as server activity.
  Nothing else touches them, so polling ``GET /api/kernels`` never does.
* **Readiness**: after a start or restart the manager asks the kernel for
  ``kernel_info`` and waits for the answer, so the state leaves ``starting``
  without any client connected, and a restart is "done" when the kernel answers.
* **Events** for the websocket layer and sessions (:meth:`add_kernel_listener`):
  ``restarting`` (a REST restart begins), ``autorestarting`` (jupyter_client's
  restarter replaces a dead kernel), ``restarted`` (a restart finished and the
  kernel answers), ``dead`` (the restarter gave up), ``shutdown`` (removed).
* **Connections** counted per kernel, reported by the websocket layer.
* **Culling** of idle kernels (``cull_*`` traits, as in jupyter_server).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from jupyter_client.ioloop.manager import AsyncIOLoopKernelManager
from jupyter_client.manager import KernelManager
from jupyter_client.multikernelmanager import AsyncMultiKernelManager
from jupyter_client.provisioning.local_provisioner import LocalPortCache
from jupyter_client.session import Session
from tornado import web
from tornado.ioloop import PeriodicCallback
from traitlets import Bool, DottedObjectName, Float, Instance, Unicode, default
from zmq.eventloop.zmqstream import ZMQStream

from ...activity import isoformat, utcnow

if TYPE_CHECKING:
    from ...serverapp import ServerApp

KernelListener = Callable[[str, str], None]

#: The events a kernel listener receives (see MappingKernelManager.add_kernel_listener).
KERNEL_EVENTS = ("restarting", "autorestarting", "restarted", "dead", "shutdown")
#: The connection-info attributes holding a kernel's TCP ports.
PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port")
#: States of a kernel process that has not answered yet.
STARTING_STATES = ("starting", "restarting", "autorestarting")
#: Seconds the readiness probe waits, after the kernel_info reply, for the matching "idle".
PROBE_IDLE_GRACE = 1.0


class ServerKernelManager(AsyncIOLoopKernelManager):
    """One kernel: jupyter_client's manager plus the state its REST model shows.

    Both a REST restart and jupyter_client's autorestarter go through
    :meth:`restart_kernel`, so it is the one place that tells the server a
    new kernel process exists (``on_restarted``).
    """

    execution_state = Unicode("starting", help="The kernel's last reported execution state.")
    last_activity = Instance(datetime, help="When the kernel last sent a message (or was started).")
    on_restarted: Callable[[], None] | None = None
    #: The pending readiness probe: its request's msg_id, and a future set when
    #: iopub reports the kernel idle after that request.
    probe: tuple[str, asyncio.Future[None]] | None = None

    @default("last_activity")
    def _default_last_activity(self) -> datetime:
        return utcnow()

    #: Done when the restart under way (requested or automatic) has finished.
    restart_done: asyncio.Future[None] | None = None

    async def restart_kernel(self, now: bool = False, newports: bool = False, **kw: Any) -> None:  # type: ignore[override]
        done = self.restart_done = asyncio.get_running_loop().create_future()
        try:
            await super().restart_kernel(now=now, newports=newports, **kw)
        finally:
            done.set_result(None)
            self.restart_done = None
        if self.on_restarted is not None:
            self.on_restarted()

    def cleanup_random_ports(self) -> None:
        """Forget the kernel's ports, so that the restart picks new ones.

        The restarter asks for new ports when a kernel dies while starting,
        typically because another process took one of its ports.  jupyter_client
        only forgets ports it left to the kernel to choose, but its local
        provisioner chooses them up front, so without this the restart would
        try the taken port again, five times, and give up.
        """
        super().cleanup_random_ports()
        provisioner = self.provisioner
        if provisioner is None or not getattr(provisioner, "ports_cached", False):
            return
        cache = LocalPortCache.instance()
        for name in PORT_NAMES:
            cache.return_port(getattr(self, name))
            setattr(self, name, 0)
        provisioner.ports_cached = False  # type: ignore[attr-defined]  # checked above (LocalProvisioner)
        self.cleanup_connection_file()


class MappingKernelManager(AsyncMultiKernelManager):
    """The server's kernels, by id (see the module docstring for what it adds)."""

    kernel_manager_class = DottedObjectName(
        "jupyter_server_lite.services.kernels.manager.ServerKernelManager",
        help="""The class managing one kernel; a replacement must subclass
        jupyter_server_lite.services.kernels.manager.ServerKernelManager.""",
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
        60, help="Seconds to wait for a started or restarted kernel to answer kernel_info before warning."
    ).tag(config=True)

    @default("connection_dir")
    def _default_connection_dir(self) -> str:
        return self.serverapp.runtime_dir

    @property
    def serverapp(self) -> ServerApp:
        """The server whose kernels these are (the traitlets parent)."""
        return cast("ServerApp", self.parent)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listeners: list[KernelListener] = []
        self._connections: dict[str, int] = {}
        self._iopub: dict[str, ZMQStream] = {}
        self._probes: dict[str, asyncio.Task[bool]] = {}
        self._shutdowns: dict[str, asyncio.Task[None]] = {}
        self._launching: dict[str, ServerKernelManager] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._culler: PeriodicCallback | None = None
        self._closing = False

    # -- the contract used by handlers, sessions and the websocket --------------

    def check_kernel_id(self, kernel_id: str) -> None:
        """Raise a 404 naming ``kernel_id`` unless it is a running kernel (any string)."""
        if kernel_id not in self._kernels:
            raise web.HTTPError(404, f"Kernel does not exist: {kernel_id}")

    def kernel_model(self, kernel_id: str) -> dict[str, Any]:
        """``{id, name, last_activity, execution_state, connections}`` of one kernel."""
        self.check_kernel_id(kernel_id)
        km = self._kernels[kernel_id]
        return {
            "id": kernel_id,
            "name": km.kernel_name,
            "last_activity": isoformat(km.last_activity),
            "execution_state": km.execution_state,
            "connections": self._connections.get(kernel_id, 0),
        }

    def list_kernels(self) -> list[dict[str, Any]]:
        """The models of every running kernel."""
        return [self.kernel_model(kid) for kid in list(self._kernels)]

    async def start_kernel(self, kernel_name: str | None = None, path: str | None = None, **kwargs: Any) -> str:  # type: ignore[override]
        """Start a kernel in ``root_dir``/``path`` and return its id.

        ``path`` is relative to ``root_dir`` (a file's path means its folder; a
        missing folder falls back to its nearest existing parent).  An unknown
        ``kernel_name`` or a path leaving ``root_dir`` is a 400; a kernel that
        cannot be launched is a 500 with the reason, never a traceback.
        """
        if self._closing:
            raise web.HTTPError(503, "The server is stopping; no new kernels")
        name = (kernel_name or self.default_kernel_name).lower()
        available = self.serverapp.kernel_spec_manager.kernel_names()
        if name not in available:
            raise web.HTTPError(
                400, f"No such kernel {kernel_name!r}; available kernels: {', '.join(available) or 'none'}"
            )
        kwargs["cwd"] = self.cwd_for_path(path)
        kernel_id = self.new_kernel_id()
        try:
            await super().start_kernel(kernel_name=name, kernel_id=kernel_id, **kwargs)
        except Exception as err:
            await self._forget_failed_start(kernel_id)
            raise web.HTTPError(500, f"Kernel {name!r} failed to start: {err}") from err
        finally:
            self._launching.pop(kernel_id, None)
        km = self._kernels[kernel_id]
        km.on_restarted = partial(self._attach, kernel_id, "restarted")
        km.add_restart_callback(partial(self._on_autorestart, kernel_id), "restart")
        km.add_restart_callback(partial(self._on_dead, kernel_id), "dead")
        self._attach(kernel_id, None)
        self.log.info("Kernel started: %s (%s) in %s", kernel_id, name, kwargs["cwd"])
        self.serverapp.activity.touch()
        self._start_culler()
        self.serverapp.call_hook("kernel_started", kernel_id=kernel_id, kernel_name=name)
        if self._closing:  # stop_server began while this kernel was starting
            await self.shutdown_kernel(kernel_id, now=True)
            raise web.HTTPError(503, "The server is stopping; the kernel was shut down")
        return kernel_id

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

    async def shutdown_kernel(self, kernel_id: str, now: bool = False, restart: bool = False) -> None:  # type: ignore[override]
        """Shut a kernel down and forget it; a second call waits for the first."""
        task = self._shutdowns.get(kernel_id)
        if task is None:
            self.check_kernel_id(kernel_id)
            task = self._shutdowns[kernel_id] = asyncio.ensure_future(self._shutdown(kernel_id, now, restart))
            task.add_done_callback(lambda _t: self._shutdowns.pop(kernel_id, None))
        await asyncio.shield(task)

    async def _shutdown(self, kernel_id: str, now: bool, restart: bool) -> None:
        km = self._kernels[kernel_id]
        if km.restart_done is not None:
            await km.restart_done  # else the restart would start a process nobody stops
        self._detach(kernel_id)
        try:
            await super().shutdown_kernel(kernel_id, now=now, restart=restart)
        finally:
            self._kernels.pop(kernel_id, None)
            self._connections.pop(kernel_id, None)
            self.serverapp.activity.touch()
            self._notify("shutdown", kernel_id)
            self.serverapp.call_hook("kernel_stopped", kernel_id=kernel_id, kernel_name=km.kernel_name)

    async def restart_kernel(self, kernel_id: str, now: bool = False) -> None:  # type: ignore[override]
        """Restart a kernel and wait until it answers again.

        Listeners get ``restarting`` now and ``restarted`` once it answers; a
        kernel that cannot be started again is reported ``dead`` and removed.
        """
        self.check_kernel_id(kernel_id)
        km = self._kernels[kernel_id]
        km.execution_state = "restarting"
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

    async def interrupt_kernel(self, kernel_id: str) -> None:  # type: ignore[override]
        """Interrupt what the kernel is running (SIGINT or an interrupt_request, per its spec)."""
        self.check_kernel_id(kernel_id)
        await self._kernels[kernel_id].interrupt_kernel()
        self.log.info("Kernel interrupted: %s", kernel_id)

    async def shutdown_all(self, now: bool = False) -> None:  # type: ignore[override]
        """Shut down every kernel, those still starting included; no new ones start."""
        self._closing = True
        self._stop_culler()
        for task in list(self._pending_kernels.values()):
            try:
                await task
            except Exception:
                pass
        kernel_ids = sorted(set(self._kernels) | set(self._shutdowns))
        results = await asyncio.gather(
            *(self.shutdown_kernel(kid, now=now) for kid in kernel_ids), return_exceptions=True
        )
        for kernel_id, result in zip(kernel_ids, results):
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

    # -- iopub watching and readiness ----------------------------------------------------

    def _attach(self, kernel_id: str, event: str | None) -> None:
        """Subscribe to a (new) kernel process's iopub and ask it for kernel_info.

        Called after a start and after every restart: a restart may move the
        kernel to new ports, so the old subscription is replaced.
        """
        self._detach(kernel_id)
        km = self._kernels[kernel_id]
        session = km.session.clone()  # own digest history: others read the same messages
        stream = km.connect_iopub()
        stream.on_recv(partial(self._on_iopub, km, session))
        self._iopub[kernel_id] = stream
        probe = self._probes[kernel_id] = asyncio.ensure_future(self._probe(kernel_id, km, event))
        probe.add_done_callback(
            lambda t: self._probes.pop(kernel_id, None) if self._probes.get(kernel_id) is t else None
        )

    def _detach(self, kernel_id: str) -> None:
        stream = self._iopub.pop(kernel_id, None)
        if stream is not None:
            # Stop reading now, close on the next loop turn: a read the stream
            # already scheduled then finds it open instead of warning "Got events
            # for closed stream".
            stream.on_recv(None)
            stream.io_loop.add_callback(stream.close, 0)
        probe = self._probes.pop(kernel_id, None)
        if probe is not None:
            probe.cancel()

    def _on_iopub(self, km: ServerKernelManager, session: Session, frames: list[bytes]) -> None:
        km.last_activity = utcnow()
        self.serverapp.activity.touch()
        try:
            _idents, parts = session.feed_identities(frames)
            if session.unpack(parts[1]).get("msg_type") != "status":
                return
            msg = session.deserialize(parts)  # checks the signature before we trust the content
        except Exception as err:
            self.log.debug("Ignoring a malformed iopub message from kernel %s: %s", km.kernel_id, err)
            return
        km.execution_state = msg["content"].get("execution_state", km.execution_state)
        probe = km.probe
        if (
            probe is not None
            and km.execution_state == "idle"
            and msg["parent_header"].get("msg_id") == probe[0]
            and not probe[1].done()
        ):
            probe[1].set_result(None)

    async def _probe(self, kernel_id: str, km: ServerKernelManager, event: str | None) -> bool:
        """Ask for kernel_info and wait for the answer (at most kernel_info_timeout).

        A reply proves the new process serves requests; it also makes the
        kernel publish ``busy``/``idle``, so its state is known without a client.
        """
        request = km.session.msg("kernel_info_request")
        idle: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        km.probe = probe = (request["header"]["msg_id"], idle)
        socket = KernelManager.connect_shell(km)  # a plain asyncio socket, closed below
        try:
            km.session.send(socket, request)  # queued by zmq until the kernel listens
            try:
                await asyncio.wait_for(
                    cast("Awaitable[list[bytes]]", socket.recv_multipart()), timeout=self.kernel_info_timeout
                )
            except asyncio.TimeoutError:
                self.log.warning("Kernel %s did not answer kernel_info within %gs", kernel_id, self.kernel_info_timeout)
                return False
            try:  # the reply comes before the kernel's "idle" on iopub: wait for that too, briefly
                await asyncio.wait_for(idle, timeout=PROBE_IDLE_GRACE)
            except asyncio.TimeoutError:
                if km.execution_state in STARTING_STATES:
                    km.execution_state = "idle"  # it answered; its "idle" went out before we subscribed
        finally:
            socket.close(linger=0)
            if km.probe is probe:  # a restart's newer probe may have replaced it
                km.probe = None
        if event is not None:
            self._notify(event, kernel_id)
        return True

    # -- paths -------------------------------------------------------------------

    def cwd_for_path(self, path: str | None) -> str:
        """The working directory for a kernel at API path ``path`` (see start_kernel)."""
        root = self.serverapp.root_dir
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
        """Shut down every kernel idle for longer than cull_idle_timeout."""
        limit = timedelta(seconds=self.cull_idle_timeout)
        now = utcnow()
        for kernel_id, km in list(self._kernels.items()):
            idle = now - km.last_activity
            if idle <= limit or kernel_id in self._shutdowns:
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
