"""Where one server can be reached: its URL, the start-up URLs people see, its runtime record.

A random token appears in exactly one place, the start-up URLs (and the
owner-only runtime file): a token the user chose (config, ``--token``,
``JUPYTER_TOKEN[_FILE]``) shows as ``?token=...``, since they know it and
logs outlive terminals.
"""

from __future__ import annotations

import os
import re
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from ._version import __version__

if TYPE_CHECKING:
    from .serverapp import ServerApp

#: The ``ServerApp.ip`` values that mean every interface.
ALL_INTERFACES = ("", "0.0.0.0", "::")

#: What a browser sends unencoded in a path (RFC 3986 pchar, plus what the
#: WHATWG URL standard leaves alone: ``[ ] ^ |``); everything else is encoded.
_PATH_SAFE = "/%!$&'()*+,;=:@[]^|"


def encode_url_path(path: str) -> str:
    """``path`` as a browser sends it: ``/my lab/`` is ``/my%20lab/``.

    An escape already there (``%40``) is kept; a ``%`` that starts none is
    ``%25``. Routes match the path as sent, so base_url must be spelled so.
    """
    path = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", path)
    return quote(path, safe=_PATH_SAFE)


def connection_host(ip: str) -> str:
    """The host part of the server's URL: the machine's name when listening on every interface."""
    if ip in ALL_INTERFACES:
        return socket.gethostname()
    return f"[{ip}]" if ":" in ip else ip


def server_url(app: ServerApp, host: str | None = None) -> str:
    """``scheme://host:port/base_url/`` of the started ``app`` (``host`` defaults to :func:`connection_host`)."""
    scheme = "https" if app.certfile else "http"
    return f"{scheme}://{host or connection_host(app.ip)}:{app.actual_port}{app.base_url}"


def display_urls(app: ServerApp) -> list[str]:
    """The start-up URLs, ``default_url`` with the token: on every interface, the loopback one too."""
    hosts = [None, "127.0.0.1"] if app.ip in ALL_INTERFACES else [None]
    return [with_token(app, server_url(app, host) + app.default_url.lstrip("/")) for host in hosts]


def with_token(app: ServerApp, url: str) -> str:
    """``url`` with the token a person needs to open it (see the module docstring)."""
    provider = app.identity_provider
    if not provider.token:
        return url
    if not provider.token_generated:
        return f"{url}?token=..."
    return f"{url}?{urlencode({'token': provider.token})}"


def server_info(app: ServerApp) -> dict[str, Any]:
    """The runtime file's record, read by ``jupyter server-lite list`` and ``stop``."""
    return {
        "url": app.url,
        "port": app.actual_port,
        "pid": os.getpid(),
        "token": app.identity_provider.token,
        "base_url": app.base_url,
        "root_dir": app.root_dir,
        "secure": bool(app.certfile),
        "password": bool(app.identity_provider.hashed_password),
        "version": __version__,
    }
