"""Kernelspecs over HTTP: ``/api/kernelspecs[/<name>]`` and ``/kernelspecs/<name>/<file>``.

The JSON models follow the Jupyter Server REST API: a spec is
``{"name", "spec", "resources"}`` where ``resources`` maps ``kernel.js``,
``kernel.css`` and ``logo-*`` keys to URLs of the resource route.  The
resource route serves the spec's own files and nothing else.

The handlers only shape answers: what the kernelspecs are and what a
resource holds comes from the kernelspec manager's coroutines
(:meth:`~.manager.KernelSpecManager.fetch_specs`,
:meth:`~.manager.KernelSpecManager.fetch_resource`), whether the specs are
installed here or on a Kernel Gateway.
"""

from __future__ import annotations

import email.utils
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...web.handlers import APIHandler, url_path_join
from .manager import find_in

if TYPE_CHECKING:
    from .manager import KernelSpecManager

KERNEL_NAME = r"(?P<kernel_name>[^/]+)"


def kernelspec_model(base_url: str, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The REST model of one kernelspec (``entry`` from ``get_all_specs()``)."""
    resources = {
        key: url_path_join(base_url, "kernelspecs", name, filename) for key, filename in entry["resources"].items()
    }
    return {"name": name, "spec": entry["spec"], "resources": resources}


class KernelSpecsAPIHandler(APIHandler):
    @property
    def kernel_spec_manager(self) -> KernelSpecManager:
        return self.serverapp.kernel_spec_manager


class KernelSpecsHandler(KernelSpecsAPIHandler):
    """``GET /api/kernelspecs``: the default kernel name and every spec."""

    async def get(self) -> None:
        listing = await self.kernel_spec_manager.fetch_specs()
        self.finish_json(
            {
                "default": listing.default or self.serverapp.kernel_manager.default_kernel_name,
                "kernelspecs": {
                    name: kernelspec_model(self.base_url, name, entry) for name, entry in listing.specs.items()
                },
            }
        )


class KernelSpecHandler(KernelSpecsAPIHandler):
    """``GET /api/kernelspecs/<name>``: one spec; an unknown name is a JSON 404."""

    async def get(self, kernel_name: str) -> None:
        listing = await self.kernel_spec_manager.fetch_specs()
        name, entry = find_in(listing.specs, kernel_name)
        self.finish_json(kernelspec_model(self.base_url, name, entry))


class KernelSpecResourceHandler(KernelSpecsAPIHandler):
    """``GET|HEAD /kernelspecs/<name>/<file>``: a file of the spec (logos, kernel.js).

    Revalidation works as for static files: the answer carries an ``Etag``
    (tornado's, from the body) and, when the source knows it,
    ``Last-Modified``; a matching ``If-None-Match`` or a current
    ``If-Modified-Since`` is a 304.  Its callers are API clients and
    ``<img>`` tags, for whom a login page is no answer, so it is an
    :class:`APIHandler`: an anonymous request is a JSON 403 and every error
    a JSON ``{"message", "reason"}``.
    """

    SUPPORTED_METHODS = ("GET", "HEAD", "OPTIONS")

    def set_default_headers(self) -> None:
        """The page headers only: the file sets its own Content-Type (an error still
        gets its JSON one from write_error), and may be cached and revalidated."""
        super().set_default_headers()
        self.clear_header("Content-Type")
        self.clear_header("Cache-Control")

    async def get(self, kernel_name: str, path: str) -> None:
        resource = await self.kernel_spec_manager.fetch_resource(kernel_name, path)
        self.set_header("Content-Type", resource.content_type)
        if resource.modified is not None:
            self.set_header("Last-Modified", resource.modified)
            since = _http_date(self.request.headers.get("If-Modified-Since"))
            if since is not None and "If-None-Match" not in self.request.headers and since >= resource.modified:
                self.set_status(304)
                self.finish()
                return
        self.finish(resource.body)

    async def head(self, kernel_name: str, path: str) -> None:
        await self.get(kernel_name, path)  # tornado sends the headers (length, Etag) without the body


def _http_date(value: str | None) -> datetime | None:
    """An HTTP date header as an aware datetime; None when absent or malformed."""
    try:
        when = email.utils.parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
    return when if when is not None and when.tzinfo is not None else None


default_handlers = [
    (r"/api/kernelspecs/?", KernelSpecsHandler),
    (rf"/api/kernelspecs/{KERNEL_NAME}/?", KernelSpecHandler),
    (rf"/kernelspecs/{KERNEL_NAME}/(?P<path>.+)", KernelSpecResourceHandler),
]
