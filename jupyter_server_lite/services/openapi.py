"""``GET /api/openapi.json``: the OpenAPI 3.1 document of the core API.

The document (``openapi.json`` beside this module) is written by hand and
kept honest by the tests, which validate it with a spec validator and check
real responses of a running server against its schemas.

It is public: it describes the core routes, which are the same on every
installation and published with the source, and holds nothing about this
server, its kernels or its user (``GET /api`` already tells the version).
Tools such as API explorers and client generators can then read it without
being handed the token.
"""

from __future__ import annotations

import functools
import os

from ..web.handlers import APIHandler

SPEC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi.json")


@functools.cache
def spec_bytes() -> bytes:
    """The document, read from disk once per process."""
    with open(SPEC_PATH, "rb") as f:
        return f.read()


class OpenAPIHandler(APIHandler):
    """Serve the OpenAPI document as it is on disk."""

    allow_unauthenticated = True

    def get(self) -> None:
        self.finish(spec_bytes())


default_handlers = [
    (r"/api/openapi\.json", OpenAPIHandler),
]
