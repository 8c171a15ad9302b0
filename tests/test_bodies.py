"""Request bodies (web/bodies.py): checked when the headers are in, read only if admitted.

Raw sockets on 127.0.0.1 send exactly the bytes under test (a header block
without its body, a body that never ends); tornado's client would not.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from support import raw_request, server_with_routes
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from jupyter_server_lite.web.handlers import APIHandler

LIMIT = 1024 * 1024  # ServerApp.max_body_size of these tests


class EchoHandler(APIHandler):
    def post(self) -> None:
        self.finish_json({"size": len(self.request.body), "body": self.get_json_body(), "auth": self.auth_method})


@pytest.fixture
def jsl_serverapp(jsl_server_factory: Any, io_loop: Any) -> Any:
    app = server_with_routes(
        jsl_server_factory, [(r"/api/test-echo", EchoHandler)], {"ServerApp": {"max_body_size": LIMIT}}
    )
    io_loop.run_sync(app.start_server)
    return app


def head(app: Any, path: str, *headers: str, method: str = "POST") -> bytes:
    lines = [f"{method} {app.base_url}{path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def split_response(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """(status line, headers, body) of one raw response."""
    header_block, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = header_block.decode("latin-1").split("\r\n")
    return status, {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}, body


def peak_rss_reset() -> int:
    """Reset this process's peak RSS (VmHWM) to its current RSS, and return it (KiB)."""
    Path("/proc/self/clear_refs").write_text("5")
    return peak_rss()


def peak_rss() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def exchange(port: int, data: bytes, chunks: Iterable[bytes] = ()) -> tuple[int, bytes]:
    """Send ``data`` then ``chunks`` while reading, as a real client does; stop sending
    when the server closes. ``(bytes of chunks sent, what the server answered)``.

    Blocking sockets in threads (run it in an executor): a reset after the answer
    must not lose the answer, as asyncio's streams would.
    """
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:

        def read() -> None:
            while True:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                received.extend(data)

        reader = threading.Thread(target=read)
        reader.start()
        sent = 0
        try:
            sock.sendall(data)
            for chunk in chunks:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        reader.join(30)
    return sent, bytes(received)


async def in_thread(*args: Any) -> tuple[int, bytes]:
    return await asyncio.get_running_loop().run_in_executor(None, exchange, *args)


async def test_anonymous_200mb_body_is_refused_without_being_buffered(jsl_server_factory, jsl_fetch, jsl_expect_log):
    """Tornado alone reads the whole body before a handler runs: 200 MB buffered
    (and copied: 400 MiB) for a 403. Here the 403 comes with the headers."""
    app = server_with_routes(jsl_server_factory, [(r"/api/test-echo", EchoHandler)])  # max_body_size: 512 MiB
    await app.start_server()
    size, chunk = 200 * 1024 * 1024, b"x" * (1024 * 1024)
    before = peak_rss_reset()
    with jsl_expect_log(r"^403 POST .*/api/test-echo .*Authentication required"):
        sent, answer = await in_thread(
            app.actual_port,
            head(app, "api/test-echo", f"Content-Length: {size}"),
            (chunk for _ in range(size // len(chunk))),
        )
    grown_mib = (peak_rss() - before) / 1024
    assert grown_mib < 50, f"the server's memory grew by {grown_mib:.0f} MiB"
    assert sent < size  # the server closed the connection instead of reading the body
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert (await jsl_fetch("api", "status", app=app)).code == 200  # and it keeps serving


async def test_declared_oversize_body_is_a_json_413_before_it_is_read(jsl_serverapp, jsl_expect_log):
    token = jsl_serverapp.identity_provider.token
    with jsl_expect_log(rf"^413 POST .*at most {LIMIT} bytes \(see ServerApp\.max_body_size\)"):
        raw = await raw_request(
            jsl_serverapp.actual_port,
            head(jsl_serverapp, "api/test-echo", f"Authorization: token {token}", f"Content-Length: {2 * LIMIT}"),
        )
    status, headers, body = split_response(raw)
    assert status.startswith("HTTP/1.1 413 ")
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    assert json.loads(body)["message"] == f"Request body too large: at most {LIMIT} bytes (see ServerApp.max_body_size)"


async def test_chunked_body_past_the_limit_is_a_json_413(jsl_serverapp, jsl_expect_log):
    token = jsl_serverapp.identity_provider.token
    piece = b"x" * (256 * 1024)
    chunks = [f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for _ in range(8)] + [b"0\r\n\r\n"]
    with jsl_expect_log(r"^413 POST .*Request body too large"):
        _sent, answer = await in_thread(
            jsl_serverapp.actual_port,
            head(jsl_serverapp, "api/test-echo", f"Authorization: token {token}", "Transfer-Encoding: chunked"),
            chunks,
        )
    status, headers, body = split_response(answer)
    assert status.startswith("HTTP/1.1 413 ") and headers["content-type"] == "application/json"
    assert "at most 1048576 bytes" in json.loads(body)["message"]


async def test_public_route_takes_a_small_body_without_credentials_only(jsl_serverapp, jsl_expect_log):
    """/login is public: its form is read, but not 100 KB of it."""
    with jsl_expect_log(r"^413 POST .*/login.*at most 65536 bytes without credentials"):
        raw = await raw_request(
            jsl_serverapp.actual_port,
            head(jsl_serverapp, "login", "Content-Type: application/x-www-form-urlencoded", "Content-Length: 100000"),
        )
    status, headers, body = split_response(raw)
    assert status.startswith("HTTP/1.1 413 ") and headers["content-type"].startswith("text/html")
    assert b"at most 65536 bytes without credentials" in body


async def test_forged_cookie_post_is_refused_before_its_body(jsl_serverapp, jsl_fetch, jsl_expect_log):
    """A cookie-authenticated JSON POST without the XSRF header cannot pass: it is
    refused on its headers (the body is never sent here, and not waited for)."""
    logged_in = await jsl_fetch("", params={"token": jsl_serverapp.identity_provider.token}, authenticated=False)
    cookie = logged_in.headers["Set-Cookie"].split(";")[0]
    with jsl_expect_log(r"^403 POST .*XSRF"):
        raw = await raw_request(
            jsl_serverapp.actual_port,
            head(jsl_serverapp, "api/test-echo", f"Cookie: {cookie}", "Content-Length: 500000"),
            timeout=10,
        )
    assert split_response(raw)[0].startswith("HTTP/1.1 403 ")


async def test_admitted_bodies_arrive_whole(jsl_serverapp, jsl_fetch):
    """Up to the limit, as one piece or chunked, the handler sees the body as tornado would give it."""
    big = json.dumps(["x" * 1000] * 1000).encode()  # ~1 MB, under the limit
    assert len(big) < LIMIT
    r = await jsl_fetch("api", "test-echo", method="POST", body=big)
    assert json.loads(r.body)["size"] == len(big)

    async def produce(write: Any) -> None:
        for piece in (b'{"a": ', b"[1, 2, ", b"3]}"):
            await write(piece)

    url = f"http://127.0.0.1:{jsl_serverapp.actual_port}{jsl_serverapp.base_url}api/test-echo"
    request = HTTPRequest(
        url,
        method="POST",
        body_producer=produce,
        headers={"Authorization": f"token {jsl_serverapp.identity_provider.token}"},
    )
    r = await AsyncHTTPClient().fetch(request)
    assert json.loads(r.body) == {"size": len(b'{"a": [1, 2, 3]}'), "body": {"a": [1, 2, 3]}, "auth": "header"}


async def test_get_with_a_body_is_a_400(jsl_serverapp, jsl_expect_log):
    token = jsl_serverapp.identity_provider.token
    with jsl_expect_log(r"^400 GET .*A GET request carries no body"):
        raw = await raw_request(
            jsl_serverapp.actual_port,
            head(jsl_serverapp, "api/status", f"Authorization: token {token}", "Content-Length: 5", method="GET")
            + b"hello",
        )
    assert split_response(raw)[0].startswith("HTTP/1.1 400 ")
