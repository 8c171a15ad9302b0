"""Gateway mode when the gateway fails: down, silent, slow, answering 5xx, stopped mid-session.

Every failure must be a JSON error naming the gateway (or a websocket close
with the reason) within the configured timeouts, and the rest of the server
must keep serving.  The failing "gateways" are real endpoints on 127.0.0.1:
a closed port, a listener whose accept queue is full (connections hang), one
that accepts and never answers, a small HTTP server answering 503 (a load
balancer in front of a gateway under maintenance), and a real Kernel Gateway
stopped while a client uses one of its kernels (one per module).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Iterator

import pytest
from gatewayrunner import Gateway, start_gateway
from kernel_ws_client import Client, is_idle_after, wait_for
from support import free_port
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

pytestmark = pytest.mark.slow  # starts a real Kernel Gateway process (its kernels too) for the module


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[Gateway]:
    gw = start_gateway(tmp_path_factory.mktemp("gateway"))
    yield gw
    gw.stop()


def config(url: str, **settings) -> dict:
    return {
        "GatewayClient": {"url": url, "auth_token": "t", "connect_timeout": 1.0, "request_timeout": 2.0, **settings}
    }


async def started(factory, url: str, **settings):
    app = factory(config=config(url, **settings), start=False)
    await app.start_server()
    return app


def json_error(response) -> str:
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    assert set(body) == {"message", "reason"}
    return body["message"]


async def test_unreachable_at_start_the_server_still_serves(jsl_server_factory, jsl_fetch, jsl_expect_log):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with jsl_expect_log(rf"Kernels run on the gateway, which does not answer yet: Gateway {url} is unreachable"):
        app = await started(jsl_server_factory, url)
        await wait_for(lambda: not app.kernel_manager._background, "the start-up check")
    for method, parts, body in (("GET", ("api", "kernelspecs"), None), ("POST", ("api", "kernels"), {})):
        with jsl_expect_log(rf"503 {method} .*/api/"):
            r = await jsl_fetch(*parts, method=method, body=body, app=app, raise_error=False)
        assert r.code == 503
        assert f"Gateway {url} is unreachable" in json_error(r) and "Connection refused" in json_error(r)
    for parts in (("api", "status"), ("api", "sessions"), ("api", "kernels"), ("api", "contents")):
        assert (await jsl_fetch(*parts, app=app)).code == 200, parts


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose accept queue is full: a connection to it hangs, as to a host that drops packets."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname())
    yield listener.getsockname()[1]
    filler.close()
    listener.close()


async def test_a_gateway_that_does_not_connect_is_a_504_within_connect_timeout(
    jsl_server_factory, jsl_fetch, jsl_expect_log, silent_port
):
    url = f"http://127.0.0.1:{silent_port}"
    with jsl_expect_log(r"does not answer yet: .*did not answer GET /api/kernelspecs"):
        app = await started(jsl_server_factory, url, connect_timeout=0.5, request_timeout=30.0)
        await wait_for(lambda: not app.kernel_manager._background, "the start-up check")
    with jsl_expect_log(r"504 GET .*/api/kernelspecs", logging.ERROR):
        r = await jsl_fetch("api", "kernelspecs", app=app, raise_error=False)
    assert r.code == 504
    assert json_error(r) == (
        f"Gateway {url} did not answer GET /api/kernelspecs within 30s (GatewayClient.connect_timeout 0.5s, request_timeout)"
    )


async def test_a_slow_gateway_is_a_504_and_does_not_hold_up_the_rest(jsl_server_factory, jsl_fetch, jsl_expect_log):
    writers: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read()  # takes the request, says nothing until the client gives up

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        with jsl_expect_log(r"does not answer yet: .*did not answer GET /api/kernelspecs within 1s"):
            app = await started(jsl_server_factory, url, request_timeout=1.0)
            await wait_for(lambda: not app.kernel_manager._background, "the start-up check")
        with jsl_expect_log(r"504 GET .*/api/kernelspecs", logging.ERROR):
            slow = asyncio.ensure_future(jsl_fetch("api", "kernelspecs", app=app, raise_error=False))
            status = await jsl_fetch("api", "status", app=app)
            assert status.code == 200 and not slow.done(), "the server answers while the gateway is silent"
            r = await slow
        assert r.code == 504 and "did not answer GET /api/kernelspecs within 1s" in json_error(r)
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()
        await server.wait_closed()


class Maintenance(web.RequestHandler):
    """A load balancer in front of a gateway under maintenance: every request is a 503."""

    def prepare(self) -> None:
        self.application.settings["requests"].append(f"{self.request.method} {self.request.path}")
        self.set_status(503)
        self.finish({"message": "down for maintenance", "reason": "Service Unavailable"})


async def test_a_gateway_answering_5xx_is_that_status_with_its_message(jsl_server_factory, jsl_fetch, jsl_expect_log):
    requests: list[str] = []
    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(web.Application([(r"/.*", Maintenance)], requests=requests, log_function=lambda _h: None))
    server.add_sockets(sockets)
    url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    try:
        with jsl_expect_log(r"does not answer yet: .*answered 503"):
            app = await started(jsl_server_factory, url)
            await wait_for(lambda: not app.kernel_manager._background, "the start-up check")
        requests.clear()
        with jsl_expect_log(r"503 GET .*/api/kernelspecs"):
            r = await jsl_fetch("api", "kernelspecs", app=app, raise_error=False)
        assert r.code == 503
        assert json_error(r) == (
            f"Gateway {url} answered 503 Service Unavailable to GET /api/kernelspecs: down for maintenance"
        )
        assert requests == ["GET /api/kernelspecs"] * 3, "an idempotent request is tried again twice"
        requests.clear()
        with jsl_expect_log(r"503 POST .*/api/kernels"):
            r = await jsl_fetch("api", "kernels", method="POST", body={}, app=app, raise_error=False)
        assert r.code == 503 and requests == ["POST /api/kernels"], "a start is never repeated"
    finally:
        server.stop()


async def test_gateway_stopped_mid_session(jsl_server_factory, jsl_fetch, jsl_ws_connect, jsl_expect_log, gateway):
    """Clients of its kernels get a close naming the gateway; the kernels leave the list; the rest serves."""
    app = await started(
        jsl_server_factory,
        gateway.url,
        auth_token=gateway.token,
        request_timeout=30.0,
        gateway_retry_interval=0.1,
        gateway_retry_max=2,
    )
    kid = await app.kernel_manager.start_kernel()
    await app.session_manager.create_session(path="a.ipynb", type="notebook", kernel_id=kid)
    ws = await jsl_ws_connect("api", "kernels", kid, "channels", params={"session_id": "s"}, app=app)
    client = Client(ws)
    msg_id = await client.send("kernel_info_request", {})
    await client.first(lambda m: is_idle_after(m, msg_id))

    reconnecting = jsl_expect_log(r"websocket to the gateway .* reconnecting")
    removed = jsl_expect_log(
        rf"Lost the connection to the gateway {gateway.url} for kernel {kid}: .*Connection refused; "
        r"2 reconnection attempts failed; removing the kernel",
        logging.ERROR,
    )
    with reconnecting, removed:
        await asyncio.to_thread(gateway.stop)
        await client.closed()
    assert ws.close_code == 1011
    assert ws.close_reason == "Lost the connection to the gateway; the kernel is removed (see the server log)"
    assert kid not in app.kernel_manager and app.session_manager.list_sessions() == []
    with jsl_expect_log(r"503 POST .*/api/kernels"):
        r = await jsl_fetch("api", "kernels", method="POST", body={}, app=app, raise_error=False)
    assert r.code == 503 and f"Gateway {gateway.url} is unreachable" in json_error(r)
    assert (await jsl_fetch("api", "status", app=app)).code == 200
