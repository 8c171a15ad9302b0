"""Kernelspecs over HTTP: ``/api/kernelspecs[/<name>]`` and ``/kernelspecs/<name>/<file>``.

The JSON models follow the Jupyter Server REST API: a spec is
``{"name", "spec", "resources"}`` where ``resources`` maps ``kernel.js``,
``kernel.css`` and ``logo-*`` keys to URLs of the resource route.  The
resource route serves files of the spec's own folder and nothing else.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from tornado import web

from ...web.handlers import APIHandler, JupyterHandler, url_path_join

if TYPE_CHECKING:
    from .manager import KernelSpecManager

KERNEL_NAME = r"(?P<kernel_name>[^/]+)"


def kernelspec_model(base_url: str, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The REST model of one kernelspec (``entry`` from ``get_all_specs()``)."""
    resources = {
        key: url_path_join(base_url, "kernelspecs", name, filename) for key, filename in entry["resources"].items()
    }
    return {"name": name, "spec": entry["spec"], "resources": resources}


def find_spec(ksm: KernelSpecManager, kernel_name: str) -> tuple[str, dict[str, Any]]:
    """``(name, entry)`` of a spec, its name matched case-insensitively; an
    unknown name is a 404 that lists the installed ones."""
    name = kernel_name.lower()
    entry = ksm.get_all_specs().get(name)
    if entry is None:
        raise web.HTTPError(
            404, f"No kernelspec named {kernel_name!r}; available: {', '.join(ksm.kernel_names()) or 'none'}"
        )
    return name, entry


class KernelSpecsHandler(APIHandler):
    """``GET /api/kernelspecs``: the default kernel name and every installed spec."""

    def get(self) -> None:
        specs = self.serverapp.kernel_spec_manager.get_all_specs()
        self.finish_json(
            {
                "default": self.serverapp.kernel_manager.default_kernel_name,
                "kernelspecs": {name: kernelspec_model(self.base_url, name, entry) for name, entry in specs.items()},
            }
        )


class KernelSpecHandler(APIHandler):
    """``GET /api/kernelspecs/<name>``: one spec; an unknown name is a JSON 404."""

    def get(self, kernel_name: str) -> None:
        name, entry = find_spec(self.serverapp.kernel_spec_manager, kernel_name)
        self.finish_json(kernelspec_model(self.base_url, name, entry))


class KernelSpecResourceHandler(APIHandler, web.StaticFileHandler):
    """``GET /kernelspecs/<name>/<file>``: a file of the spec's folder (logos, kernel.js).

    Served like static files (ETag, Last-Modified, 304 on revalidation).  The
    path is resolved with symlinks followed and must stay inside the spec's
    folder; anything else, ``../`` included, is a 404.

    Its callers are API clients and ``<img>`` tags, for whom a login page is
    no answer, so it is an :class:`APIHandler`: an anonymous request is a
    JSON 403 and every error a JSON ``{"message", "reason"}``.
    """

    SUPPORTED_METHODS = ("GET", "HEAD", "OPTIONS")

    def initialize(self) -> None:  # type: ignore[override]
        web.StaticFileHandler.initialize(self, path="")

    def set_default_headers(self) -> None:
        """The page headers only: a file keeps the static handler's Content-Type
        and caching (an error still gets its JSON Content-Type from write_error)."""
        JupyterHandler.set_default_headers(self)

    async def get(self, kernel_name: str, path: str, include_body: bool = True) -> None:  # type: ignore[override]
        _, entry = find_spec(self.serverapp.kernel_spec_manager, kernel_name)
        self.root = os.path.realpath(entry["resource_dir"])
        await web.StaticFileHandler.get(self, path, include_body)

    async def head(self, kernel_name: str, path: str) -> None:  # type: ignore[override]
        await self.get(kernel_name, path, include_body=False)

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        return os.path.realpath(os.path.join(root, path))

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        if not absolute_path.startswith(root + os.sep) or not os.path.isfile(absolute_path):
            raise web.HTTPError(
                404, f"No resource {self.path_kwargs['path']!r} in kernelspec {self.path_kwargs['kernel_name']!r}"
            )
        return absolute_path


default_handlers = [
    (r"/api/kernelspecs/?", KernelSpecsHandler),
    (rf"/api/kernelspecs/{KERNEL_NAME}/?", KernelSpecHandler),
    (rf"/kernelspecs/{KERNEL_NAME}/(?P<path>.+)", KernelSpecResourceHandler),
]
