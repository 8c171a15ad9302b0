"""Request bodies, read only once the request is admitted, and never past a limit.

Tornado reads a whole body before a handler's ``prepare`` runs, so a 200 MB
POST without credentials would cost 400 MiB before its 403.  Every handler
of ours streams its body instead (``stream_request_body``): ``prepare``
admits the request when only the headers are in, and only then does
:class:`RequestBody` collect the body, up to its limit.  A refused body is
never buffered: tornado drops what still arrives and closes the connection
once the answer is out.
"""

from __future__ import annotations

from tornado import httputil, web

#: Content types whose body may carry the ``_xsrf`` form field.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def declared_body(headers: httputil.HTTPHeaders) -> tuple[int | None, bool]:
    """``(Content-Length, chunked)`` of a request; a malformed length is left to tornado's 400."""
    chunked = headers.get("Transfer-Encoding", "").lower() == "chunked"
    try:
        length = int(headers["Content-Length"]) if "Content-Length" in headers else None
    except ValueError:
        length = None
    return length, chunked


def has_body(headers: httputil.HTTPHeaders) -> bool:
    length, chunked = declared_body(headers)
    return bool(length) or chunked


def is_form(headers: httputil.HTTPHeaders) -> bool:
    """Whether the body is a form, the one kind of body that may hold ``_xsrf``."""
    return headers.get("Content-Type", "").split(";")[0].strip().lower() in FORM_TYPES


def too_large(limit: int, anonymous: bool) -> web.HTTPError:
    """The 413 of a body past ``limit``, saying which limit it is."""
    if anonymous:
        return web.HTTPError(413, f"Request body too large: at most {limit} bytes without credentials")
    return web.HTTPError(413, f"Request body too large: at most {limit} bytes (see ServerApp.max_body_size)")


class RequestBody:
    """The body of an admitted request, collected as it arrives, up to ``limit`` bytes."""

    def __init__(self, limit: int, anonymous: bool) -> None:
        self.limit = limit
        self.anonymous = anonymous
        self._data = bytearray()

    def add(self, chunk: bytes) -> bool:
        """Append ``chunk``; False (and nothing kept) when the body passes the limit."""
        if len(self._data) + len(chunk) > self.limit:
            self._data = bytearray()
            return False
        self._data += chunk
        return True

    def deliver(self, request: httputil.HTTPServerRequest) -> None:
        """Make the body ``request.body``, with its form arguments parsed, as tornado would."""
        request.body = bytes(self._data)
        self._data = bytearray()
        try:
            httputil.parse_body_arguments(
                request.headers.get("Content-Type", ""),
                request.body,
                request.body_arguments,
                request.files,
                request.headers,
            )
        except httputil.HTTPInputError as err:
            raise web.HTTPError(400, f"Invalid body: {err}") from err
        for key, values in request.body_arguments.items():
            request.arguments.setdefault(key, []).extend(values)
