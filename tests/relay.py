"""A TCP relay on 127.0.0.1 for the gateway tests: the network between the server and its gateway.

:class:`Relay` forwards every connection it accepts to a target port,
byte for byte, until a test cuts them (:meth:`Relay.cut`: the connections
drop as in a network failure), stops taking new ones (:meth:`Relay.pause`:
connection refused) or takes them again (:meth:`Relay.resume`).
"""

from __future__ import annotations

import asyncio
import contextlib


class Relay:
    """Forwards ``127.0.0.1:<port>`` to ``host:target_port`` (see the module docstring)."""

    def __init__(self, host: str, target_port: int) -> None:
        self.host = host
        self.target_port = target_port
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @classmethod
    async def start(cls, host: str, target_port: int) -> Relay:
        relay = cls(host, target_port)
        await relay.resume()
        return relay

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def resume(self) -> None:
        """Take connections (again, on the same port)."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def pause(self) -> None:
        """Refuse new connections (the port is closed); existing ones go on."""
        if self._server is not None:
            self._server.close()
            self._server = None

    def cut(self) -> None:
        """Drop every relayed connection at once."""
        for writer in list(self._writers):
            with contextlib.suppress(OSError):
                writer.transport.abort()
        self._writers.clear()

    def close(self) -> None:
        self.pause()
        self.cut()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
