"""The kernelspec and kernel managers of gateway mode.

Both are subclasses of the server's own managers, so everything built on
them -- the REST handlers, the websocket side, sessions, hooks, activity,
culling, and ``MappingKernelManager.*`` settings such as ``cull_idle_timeout``
-- works unchanged; only where kernels and kernelspecs live differs.

:class:`GatewayKernelSpecManager` answers ``/api/kernelspecs`` and the
kernelspec files from the gateway's (kept for ``cache_check_interval``, so
a client's bursts cost one request), with the resource URLs pointing at
this server, which fetches the files from the gateway.  The gateway's
default kernel is the default.

:class:`GatewayMappingKernelManager` starts, interrupts, restarts and shuts
down kernels on the gateway and lists the kernels it started there.  Each
start sends the gateway the ``KERNEL_*`` variables of this server's
environment and those ``GatewayClient.allowed_envs`` names, plus
``KERNEL_WORKING_DIR`` (the session's folder here, as jupyter_server sends
it; unless set) and ``KERNEL_LAUNCH_TIMEOUT`` (always: the time
:meth:`~.client.GatewayClient.start_timeout` allows).  The kernel list is refreshed
from the gateway every ``refresh_interval`` seconds while there are kernels
(and before each culling pass): a kernel the gateway culled or lost leaves
the list then (a Kernel Gateway keeps the websocket of a kernel it shut
down open; when a gateway closes it, the reconnection's 404 removes the
kernel sooner).  The events are the local manager's: ``started``
once the gateway has the kernel, ``restarting``/``restarted`` around a
restart, ``dead`` then ``shutdown`` for a kernel gone from the gateway, and
``shutdown`` after a delete.  Stopping the server deletes its kernels on the
gateway.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any, cast
from urllib.parse import quote

from tornado import web
from tornado.ioloop import PeriodicCallback
from traitlets import Float

from ..services.kernels.manager import MappingKernelManager
from ..services.kernelspecs.manager import MAX_RESOURCE_BYTES, KernelSpecManager, SpecListing, SpecResource
from .client import GatewayClient
from .kernel import GatewayKernel

#: Kernels refreshed one by one at once when the gateway does not list its kernels (403).
REFRESH_CONCURRENCY = 8
#: Close reasons for the websockets of a kernel gone from the gateway, or whose gateway is lost
#: (a close reason has at most 123 bytes: the full story is in the log).
GONE_REASON = "Kernel no longer exists on the gateway (culled or shut down there)"
LOST_REASON = "Lost the connection to the gateway; the kernel is removed (see the server log)"


class GatewayKernelSpecManager(KernelSpecManager):
    """The gateway's kernelspecs (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gateway = GatewayClient(parent=self, log=self.log)
        self._listing: SpecListing | None = None
        self._fetched_at = float("-inf")
        self._fetching: asyncio.Future[SpecListing] | None = None

    async def fetch_specs(self) -> SpecListing:
        """The gateway's kernelspecs, fetched at most once per ``cache_check_interval``
        (requests meanwhile share one fetch); errors name the gateway."""
        loop = asyncio.get_running_loop()
        if self._listing is not None and loop.time() - self._fetched_at < self.cache_check_interval:
            return self._listing
        if self._fetching is None or self._fetching.done():
            self._fetching = asyncio.ensure_future(self._fetch_specs())
        return await asyncio.shield(self._fetching)

    async def _fetch_specs(self) -> SpecListing:
        path = self.gateway.kernelspecs_endpoint
        user = os.environ.get("KERNEL_USERNAME")
        if user:  # Enterprise Gateway filters kernelspecs per user
            path += f"?user={quote(user, safe='')}"
        response = await self.gateway.fetch(path)
        model = _json_object(response.body, "kernelspecs")
        specs = {}
        for name, spec in (model.get("kernelspecs") or {}).items():
            if isinstance(spec, dict) and isinstance(spec.get("spec"), dict):
                specs[str(name).lower()] = {"spec": spec["spec"], "resources": _resource_files(name, spec)}
        default = model.get("default")
        self._listing = SpecListing(specs, default if isinstance(default, str) and default else None)
        self._fetched_at = asyncio.get_running_loop().time()
        return self._listing

    async def fetch_resource(self, kernel_name: str, path: str) -> SpecResource:
        """A kernelspec file, fetched from the gateway (a 404 names it)."""
        url_path = "/".join(
            (self.gateway.kernelspecs_resource_endpoint.rstrip("/"), quote(kernel_name, safe=""), quote(path))
        )
        missing = web.HTTPError(404, f"No resource {path!r} in kernelspec {kernel_name!r} on the gateway")
        try:
            response = await self.gateway.fetch(url_path)
        except web.HTTPError as err:
            if err.status_code == 404:
                raise missing from err
            raise
        if len(response.body) > MAX_RESOURCE_BYTES:
            raise missing
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        return SpecResource(response.body, content_type)

    def get_all_specs(self) -> dict[str, dict[str, Any]]:
        """The gateway's kernelspecs as last fetched (``fetch_specs`` fetches them)."""
        return self._listing.specs if self._listing is not None else {}


class GatewayMappingKernelManager(MappingKernelManager):
    """Kernels on the gateway (see the module docstring)."""

    refresh_interval = Float(
        10.0,
        min=0.1,
        help="""Seconds between two refreshes of the kernel list from the gateway while this
        server has kernels there: a kernel the gateway culled or lost leaves the list within
        this time, clients connected to it or not.""",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        ksm = self.kernel_spec_manager
        self.gateway: GatewayClient = (
            ksm.gateway if isinstance(ksm, GatewayKernelSpecManager) else GatewayClient(parent=self, log=self.log)
        )
        self._refresher: PeriodicCallback | None = None
        self._refreshing: asyncio.Future[None] | None = None
        self._unreachable = False
        if self.pool_size:
            self.log.warning(
                "MappingKernelManager.pool_size is ignored in gateway mode: kernels start on the gateway "
                "(Kernel Gateway's KernelGatewayApp.prespawn_count keeps kernels ready there)"
            )

    def _gateway_kernel(self, kernel_id: str) -> GatewayKernel:
        self.check_kernel_id(kernel_id)
        return cast(GatewayKernel, self._kernels[kernel_id])

    def _kernel_url(self, kernel_id: str, *action: str) -> str:
        return "/".join((self.gateway.kernels_endpoint.rstrip("/"), quote(kernel_id, safe=""), *action))

    def start_serving(self) -> None:
        """The server listens: check, in the background, that the gateway answers."""
        task = asyncio.ensure_future(self._probe())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _probe(self) -> None:
        try:
            await self.gateway.fetch(self.gateway.kernelspecs_endpoint)
        except web.HTTPError as err:
            self.log.warning("Kernels run on the gateway, which does not answer yet: %s", err.log_message)
        else:
            self.log.info("Kernels run on the gateway %s", self.gateway.url)

    # -- the kernel list ------------------------------------------------------------

    def kernel_env(self, cwd: str) -> dict[str, str]:
        """What a start sends as ``env`` (see the module docstring)."""
        allowed = {name.strip() for name in self.gateway.allowed_envs.split(",") if name.strip()}
        env = {k: v for k, v in os.environ.items() if k.startswith("KERNEL_") or k in allowed}
        if self.gateway.http_user:
            env.setdefault("KERNEL_USERNAME", self.gateway.http_user)
        env.setdefault("KERNEL_WORKING_DIR", cwd)
        env["KERNEL_LAUNCH_TIMEOUT"] = str(self.gateway.start_timeout()[1])
        return env

    async def start_kernel(self, kernel_name: str | None = None, path: str | None = None, **kwargs: Any) -> str:  # type: ignore[override]  # async, where jupyter_client declares the run_sync wrapper's signature
        """Start a kernel on the gateway and return its id.

        ``kernel_name`` None starts the gateway's default kernel; ``path``
        must stay inside ``root_dir`` (a 400 otherwise), as locally.  The
        gateway's refusals and failures are JSON errors naming it.
        """
        if self._closing:
            raise web.HTTPError(503, "The server is stopping; no new kernels")
        cwd = self.cwd_for_path(path)
        body: dict[str, Any] = {"env": self.kernel_env(cwd)}
        if kernel_name:
            body["name"] = kernel_name
        response = await self.gateway.fetch(
            self.gateway.kernels_endpoint, "POST", body, timeout=self.gateway.start_timeout()[0]
        )
        model = _json_object(response.body, "the started kernel")
        if not isinstance(model.get("id"), str):
            raise web.HTTPError(502, f"Gateway {self.gateway.url} answered a kernel start without a kernel id")
        km = GatewayKernel(model, self.gateway, self.log, self._on_kernel_end)
        kernel_id = km.kernel_id
        self._kernels[kernel_id] = km
        self.log.info("Kernel started on the gateway: %s (%s)", kernel_id, km.kernel_name)
        self._start_refresher()
        self._start_culler()
        self._notify("started", kernel_id)
        if self._closing:  # stop_server began while this kernel was starting
            await self.shutdown_kernel(kernel_id)
            raise web.HTTPError(503, "The server is stopping; the kernel was shut down")
        return kernel_id

    async def refresh_kernels(self) -> None:
        """Bring every kernel's model up to date; remove those the gateway no longer has.

        A gateway that does not list its kernels (Kernel Gateway without
        ``list_kernels``: a 403) is asked kernel by kernel.  An unreachable
        gateway is one warning (and one line when it answers again); the
        kernels stay listed with their last known state meanwhile.
        """
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._refresh())
        await asyncio.shield(self._refreshing)

    async def _refresh(self) -> None:
        ours = {kid: cast(GatewayKernel, km) for kid, km in self._kernels.items() if kid not in self._shutdowns}
        if not ours:
            return
        try:
            listed = await self._listed()
            models = {kid: listed[kid] for kid in ours if kid in listed}
            missing = [kid for kid in ours if kid not in listed]
            if missing:  # a list can be incomplete (a gateway behind a proxy): ask those kernels directly
                limit = asyncio.Semaphore(REFRESH_CONCURRENCY)
                found = await asyncio.gather(*(self._model_of(kid, limit) for kid in missing))
                models.update({kid: model for kid, model in zip(missing, found) if model is not None})
        except web.HTTPError as err:
            if not self._unreachable:
                self._unreachable = True
                self.log.warning("Refreshing the kernel list from the gateway failed: %s", err.log_message)
            return
        if self._unreachable:
            self._unreachable = False
            self.log.info("The gateway %s answers again", self.gateway.url)
        for kid, km in ours.items():
            if kid not in self._kernels:
                continue  # shut down meanwhile
            if kid in models:
                km.update(models[kid])
            else:
                await self._kernel_gone(
                    kid, f"Kernel {kid} no longer exists on the gateway (culled or shut down there)"
                )

    async def _listed(self) -> dict[str, dict[str, Any]]:
        """The gateway's kernel models by id; ``{}`` if it does not list them (403)."""
        try:
            response = await self.gateway.fetch(self.gateway.kernels_endpoint)
        except web.HTTPError as err:
            if err.status_code == 403:
                return {}
            raise
        models = json.loads(response.body)
        if not isinstance(models, list):
            raise web.HTTPError(502, f"Gateway {self.gateway.url} answered its kernel list with no list")
        return {m["id"]: m for m in models if isinstance(m, dict) and isinstance(m.get("id"), str)}

    async def _model_of(self, kernel_id: str, limit: asyncio.Semaphore) -> dict[str, Any] | None:
        """One kernel's model from the gateway; None when it has no such kernel."""
        async with limit:
            try:
                response = await self.gateway.fetch(self._kernel_url(kernel_id))
            except web.HTTPError as err:
                if err.status_code == 404:
                    return None
                raise
        return _json_object(response.body, f"kernel {kernel_id}")

    def _start_refresher(self) -> None:
        if self._refresher is None:
            self._refresher = PeriodicCallback(self.refresh_kernels, 1000 * self.refresh_interval)
            self._refresher.start()

    def _stop_refresher(self) -> None:
        if self._refresher is not None:
            self._refresher.stop()
            self._refresher = None

    async def cull_kernels(self) -> None:
        """Refresh from the gateway first, so culling sees its activity and state."""
        await self.refresh_kernels()
        await super().cull_kernels()

    # -- a kernel's end ---------------------------------------------------------------

    def _on_kernel_end(self, kernel_id: str, state: str, reason: str) -> None:
        """The kernel's websocket says the gateway has no such kernel, or is lost."""
        if state == "lost":
            self.log.error("%s; removing the kernel", reason)
        task = asyncio.ensure_future(self._kernel_gone(kernel_id, reason, lost=state == "lost"))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _kernel_gone(self, kernel_id: str, reason: str, lost: bool = False) -> None:
        """Report a kernel dead and remove it; its clients are closed with ``reason``."""
        km = self._kernels.get(kernel_id)
        if km is None or kernel_id in self._shutdowns:
            return
        if not lost:
            self.log.info("%s; removing it", reason)
        gk = cast(GatewayKernel, km)
        gk.execution_state = "dead"
        gk.end_code, gk.end_reason = (1011, LOST_REASON) if lost else (1000, GONE_REASON)
        self._notify("dead", kernel_id)
        self._forget(kernel_id)

    def _forget(self, kernel_id: str) -> None:
        km = self._kernels.pop(kernel_id, None)
        if km is not None:
            cast(GatewayKernel, km).close_connection()
        self._connections.pop(kernel_id, None)
        self._notify("shutdown", kernel_id)
        if not self._kernels:
            self._stop_refresher()

    # -- actions ----------------------------------------------------------------------

    async def _shutdown(self, kernel_id: str, now: bool, restart: bool) -> None:
        """Delete the kernel on the gateway (one it no longer has is fine), then forget it.

        A gateway that cannot be reached keeps the kernel listed (it may
        still run there) and the caller gets the error.
        """
        self._gateway_kernel(kernel_id)
        try:
            await self.gateway.fetch(self._kernel_url(kernel_id), "DELETE")
        except web.HTTPError as err:
            if err.status_code != 404:
                raise
        self.log.info("Kernel shut down on the gateway: %s", kernel_id)
        self._forget(kernel_id)

    async def restart_kernel(self, kernel_id: str, now: bool = False) -> None:  # type: ignore[override]  # async, where jupyter_client declares the run_sync wrapper's signature
        """Restart the kernel on the gateway (which waits until it answers)."""
        km = self._gateway_kernel(kernel_id)
        km.execution_state = "restarting"
        km.ready_for_clients = False  # client messages wait for the new process
        self._notify("restarting", kernel_id)
        try:
            response = await self.gateway.fetch(
                self._kernel_url(kernel_id, "restart"), "POST", {}, timeout=self.gateway.start_timeout()[0]
            )
        except web.HTTPError as err:
            if err.status_code == 404:
                await self._kernel_gone(kernel_id, f"Kernel {kernel_id} no longer exists on the gateway")
            raise
        km.update(_json_object(response.body, f"restarted kernel {kernel_id}"))
        if km.execution_state in ("restarting", "starting"):
            km.execution_state = "idle"  # the gateway answers once the kernel does
        km.reconnect()
        self._notify("restarted", kernel_id)

    async def interrupt_kernel(self, kernel_id: str) -> None:  # type: ignore[override]  # async, where jupyter_client declares the run_sync wrapper's signature
        self._gateway_kernel(kernel_id)
        await self.gateway.fetch(self._kernel_url(kernel_id, "interrupt"), "POST", {})
        self.log.info("Kernel interrupted: %s", kernel_id)

    async def shutdown_all(self, now: bool = False) -> None:  # type: ignore[override]  # async, where jupyter_client declares the run_sync wrapper's signature
        """Delete every kernel of this server on the gateway; no new ones start meanwhile."""
        self._closing = True
        self._stop_culler()
        self._stop_refresher()
        kernel_ids = sorted(set(self._kernels) | set(self._shutdowns))
        results = await asyncio.gather(*(self.shutdown_kernel(kid) for kid in kernel_ids), return_exceptions=True)
        for kernel_id, result in zip(kernel_ids, results):
            if isinstance(result, Exception):
                message = result.log_message if isinstance(result, web.HTTPError) else result
                self.log.error("Kernel %s was not shut down on the gateway: %s", kernel_id, message)
                self._forget(kernel_id)
        self.gateway.close()
        self._closing = False


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        model = json.loads(body)
    except ValueError:
        model = None
    if not isinstance(model, dict):
        raise web.HTTPError(502, f"The gateway answered {what} with something that is not a JSON object")
    return model


def _resource_files(name: str, spec: dict[str, Any]) -> dict[str, str]:
    """``{key: file name}`` from a gateway model's resource URLs (``.../kernelspecs/<name>/<file>``)."""
    files = {}
    for key, url in (spec.get("resources") or {}).items():
        if isinstance(url, str) and url:
            marker = f"/kernelspecs/{name}/"
            files[key] = url.split(marker, 1)[1] if marker in url else url.rsplit("/", 1)[-1]
    return files
