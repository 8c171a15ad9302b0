"""Kernels over HTTP, as in the Jupyter Server REST API.

``GET|POST /api/kernels``, ``GET|DELETE /api/kernels/<id>``,
``POST /api/kernels/<id>/interrupt|restart``.  Any string in the id position
reaches these handlers, so an unknown or malformed id is the same JSON 404
(``Kernel does not exist: <id>``) rather than a generic "no route".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tornado.escape import url_escape

from ...web.handlers import APIHandler, string_field, url_path_join

if TYPE_CHECKING:
    from .manager import MappingKernelManager

KERNEL_ID = r"(?P<kernel_id>[^/]+)"


class KernelsAPIHandler(APIHandler):
    @property
    def kernel_manager(self) -> MappingKernelManager:
        return self.serverapp.kernel_manager


class MainKernelHandler(KernelsAPIHandler):
    """``GET /api/kernels`` lists kernels; ``POST`` starts one (201 + Location)."""

    def get(self) -> None:
        self.finish_json(self.kernel_manager.list_kernels())

    async def post(self) -> None:
        body = self.get_json_object()
        name = string_field(body, "name", nullable=True)
        path = string_field(body, "path", nullable=True)
        kernel_id = await self.kernel_manager.start_kernel(kernel_name=name, path=path)
        self.set_header("Location", url_path_join(self.base_url, "api", "kernels", url_escape(kernel_id)))
        self.finish_json(self.kernel_manager.kernel_model(kernel_id), status=201)


class KernelHandler(KernelsAPIHandler):
    """``GET /api/kernels/<id>`` (model) and ``DELETE`` (shut down, 204)."""

    def get(self, kernel_id: str) -> None:
        self.finish_json(self.kernel_manager.kernel_model(kernel_id))

    async def delete(self, kernel_id: str) -> None:
        await self.kernel_manager.shutdown_kernel(kernel_id)
        self.set_status(204)
        self.finish()


class KernelActionHandler(KernelsAPIHandler):
    """``POST /api/kernels/<id>/interrupt`` (204) and ``.../restart`` (200 + model)."""

    async def post(self, kernel_id: str, action: str) -> None:
        km = self.kernel_manager
        if action == "interrupt":
            await km.interrupt_kernel(kernel_id)
            self.set_status(204)
            self.finish()
        else:
            await km.restart_kernel(kernel_id)
            self.finish_json(km.kernel_model(kernel_id))


default_handlers = [
    (r"/api/kernels/?", MainKernelHandler),
    (rf"/api/kernels/{KERNEL_ID}/?", KernelHandler),
    (rf"/api/kernels/{KERNEL_ID}/(?P<action>interrupt|restart)/?", KernelActionHandler),
]
