"""Opening the listening sockets and the TLS context of a server.

Kept apart from ``ServerApp`` because the failure modes are the user's to
fix -- a taken port, a name that does not resolve, an unreadable
certificate -- and each must end as one clear :class:`StartupError`, not a
traceback, and without leaking a half-opened socket.

We bind the sockets ourselves rather than through
``tornado.netutil.bind_sockets``: that function leaves its socket open when
``bind()`` fails, which on a taken port (the normal case for
``port_retries``) leaks one file descriptor per try.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
from typing import Any

BACKLOG = 128


class StartupError(Exception):
    """The server cannot start for a reason the user must fix (port, address, TLS files)."""


def bind_with_retries(ip: str, port: int, port_retries: int, log: logging.Logger) -> list[socket.socket]:
    """Listening sockets on ``port`` or, when it is taken, one of the next ``port_retries`` ports.

    ``ip`` empty means every interface; ``port`` 0 lets the system choose.
    """
    if port == 0:
        return bind_port(ip, 0)
    last = min(port + port_retries, 65535)
    for candidate in range(port, last + 1):
        try:
            return bind_port(ip, candidate)
        except OSError as err:
            if err.errno != errno.EADDRINUSE:
                raise StartupError(f"Cannot listen on {ip or '*'}:{candidate}: {err.strerror or err}") from err
            if candidate < last:
                log.info("Port %d is already in use, trying the next one", candidate)
    tried = f"port {port}" if last == port else f"ports {port}-{last}"
    raise StartupError(f"Cannot listen on {ip or '*'}: {tried} already in use (see ServerApp.port_retries)")


def bind_port(ip: str, port: int) -> list[socket.socket]:
    """Listen on ``port`` at every address ``ip`` resolves to, or raise having opened nothing.

    A name like ``localhost`` gives an IPv4 and an IPv6 socket; with port 0
    the later ones take the first one's port.  An IPv6 loopback the system
    does not offer is skipped.
    """
    host = ip or None
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise StartupError(f"Cannot listen on {ip!r}: {err.strerror or err} (see ServerApp.ip)") from err
    sockets: list[socket.socket] = []
    seen: set[tuple[int, Any]] = set()
    try:
        for family, socktype, proto, _name, sockaddr in infos:
            if (family, sockaddr[0]) in seen:
                continue
            seen.add((family, sockaddr[0]))
            if sockets and port == 0:
                sockaddr = (sockaddr[0], sockets[0].getsockname()[1], *sockaddr[2:])
            sock = socket.socket(family, socktype, proto)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.setblocking(False)
                sock.bind(sockaddr)
                sock.listen(BACKLOG)
            except OSError as err:
                sock.close()
                if family == socket.AF_INET6 and err.errno == errno.EADDRNOTAVAIL and len(infos) > 1:
                    continue
                raise
            sockets.append(sock)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise StartupError(f"Cannot listen on {ip!r}: no usable address")
    return sockets


def tls_context(certfile: str, keyfile: str) -> ssl.SSLContext | None:
    """The server-side TLS context, or None without a certificate; a bad file is named."""
    if not certfile:
        if keyfile:
            raise StartupError("ServerApp.keyfile is set but ServerApp.certfile is not")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile or None)
    except (OSError, ssl.SSLError) as err:
        files = certfile + (f" and {keyfile}" if keyfile else "")
        raise StartupError(f"Cannot load the TLS certificate/key {files}: {err}") from err
    return context
