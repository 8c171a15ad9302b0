"""Opening the listening sockets and the TLS context of a server.

Kept apart from ``ServerApp`` because the failure modes are the user's to
fix -- a taken port, a name that does not resolve, an unreadable
certificate -- and each must end as one clear :class:`StartupError`, not a
traceback, and without leaking a half-opened socket.

We bind the sockets ourselves rather than through
``tornado.netutil.bind_sockets``: that function leaves its socket open when
``bind()`` fails, which on a taken port (the normal case for
``port_retries``) leaks one file descriptor per try.

Every socket is a :class:`ListeningSocket`, whose ``accept()`` survives the
process running out of file descriptors: tornado's accept loop lets that
``EMFILE`` escape, and as the listening socket stays readable the event
loop calls it again at once -- a traceback per turn of the loop, thousands
a second, at full CPU.
"""

from __future__ import annotations

import errno
import logging
import math
import socket
import ssl
import time
from typing import Any

from tornado.ioloop import IOLoop

BACKLOG = 128

#: Errors of accept() that mean "no descriptor or memory left": wait, do not spin.
OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

#: Seconds to stop accepting when out of descriptors (the new connections wait in the backlog).
ACCEPT_PAUSE = 1.0

#: At most one warning about it in this many seconds.
WARN_EVERY = 60.0


class StartupError(Exception):
    """The server cannot start for a reason the user must fix (port, address, TLS files)."""


class ListeningSocket(socket.socket):
    """A listening socket that pauses accepting when the process runs out of descriptors.

    Out of descriptors (or of kernel memory), ``accept()`` stops the event
    loop from watching the socket for :data:`ACCEPT_PAUSE` seconds and tells
    tornado's accept loop there is nothing to accept; pending connections
    wait in the backlog meanwhile. One warning says so, at most every
    :data:`WARN_EVERY` seconds. Descriptors come back as connections end --
    ``ServerApp.header_timeout`` closes those that never finish a request.
    """

    log: logging.Logger | logging.LoggerAdapter[Any] = logging.getLogger(__name__)
    _warned_at = -math.inf

    def accept(self) -> tuple[socket.socket, Any]:
        try:
            return super().accept()
        except OSError as err:
            if err.errno not in OUT_OF_RESOURCES:
                raise
            self._pause(err)
            raise BlockingIOError(errno.EAGAIN, "accepting paused") from err

    def _pause(self, err: OSError) -> None:
        loop = IOLoop.current()
        loop.update_handler(self.fileno(), 0)
        loop.call_later(ACCEPT_PAUSE, self._resume)
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            self.log.warning(
                "Cannot accept connections on port %d: %s; pausing for %gs at a time (logged once a minute)",
                self.getsockname()[1],
                err.strerror or err,
                ACCEPT_PAUSE,
            )

    def _resume(self) -> None:
        if self.fileno() != -1:  # not closed by the server's stop() meanwhile
            IOLoop.current().update_handler(self.fileno(), IOLoop.READ)


def bind_with_retries(
    ip: str, port: int, port_retries: int, log: logging.Logger | logging.LoggerAdapter[Any]
) -> list[socket.socket]:
    """Listening sockets on ``port`` or, when it is taken, one of the next ``port_retries`` ports.

    ``ip`` empty means every interface; ``port`` 0 lets the system choose.
    """
    if port == 0:
        return bind_port(ip, 0, log)
    last = min(port + port_retries, 65535)
    for candidate in range(port, last + 1):
        try:
            return bind_port(ip, candidate, log)
        except OSError as err:
            if err.errno != errno.EADDRINUSE:
                raise StartupError(f"Cannot listen on {ip or '*'}:{candidate}: {err.strerror or err}") from err
            if candidate < last:
                log.info("Port %d is already in use, trying the next one", candidate)
    tried = f"port {port}" if last == port else f"ports {port}-{last}"
    raise StartupError(f"Cannot listen on {ip or '*'}: {tried} already in use (see ServerApp.port_retries)")


def bind_port(ip: str, port: int, log: logging.Logger | logging.LoggerAdapter[Any]) -> list[socket.socket]:
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
            sock = ListeningSocket(family, socktype, proto)
            sock.log = log
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
        for opened in sockets:
            opened.close()
        raise
    if not sockets:
        raise StartupError(f"Cannot listen on {ip!r}: no usable address")
    return sockets


def tls_context(certfile: str, keyfile: str, client_ca: str = "") -> ssl.SSLContext | None:
    """The server-side TLS context, or None without a certificate; a bad file is named.

    With ``client_ca``, clients must present a certificate that authority signed (mutual TLS).
    """
    if not certfile:
        if keyfile or client_ca:
            which = "keyfile" if keyfile else "client_ca"
            raise StartupError(f"ServerApp.{which} is set but ServerApp.certfile is not")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile or None)
    except (OSError, ssl.SSLError) as err:
        files = certfile + (f" and {keyfile}" if keyfile else "")
        raise StartupError(f"Cannot load the TLS certificate/key {files}: {err}") from err
    if client_ca:
        try:
            context.load_verify_locations(cafile=client_ca)
        except (OSError, ssl.SSLError) as err:
            raise StartupError(f"Cannot load the client certificate authority {client_ca}: {err}") from err
        context.verify_mode = ssl.CERT_REQUIRED
    return context
