"""The gateway's settings and the HTTP requests to it.

:class:`GatewayClient` has jupyter_server's trait names, and each trait
still reads jupyter_server's environment variable (``JUPYTER_GATEWAY_URL``,
``JUPYTER_GATEWAY_AUTH_TOKEN``...) when it is not configured, so an
existing deployment's config and environment carry over unchanged.

:meth:`GatewayClient.fetch` is the one way the server talks HTTP to the
gateway.  Every failure becomes a ``tornado.web.HTTPError`` whose message
names the gateway, the request and what went wrong, so a client gets a JSON
error, never a hang or a traceback:

============================================  ==========================================
the gateway ...                               the client gets
============================================  ==========================================
cannot be reached (refused, DNS, reset)       503, "Gateway <url> is unreachable: ..."
does not answer within the timeouts           504, "... did not answer ... within Ns"
refuses this server's credentials (401, 407)  502, "... refused this server's credentials"
answers another 4xx or a 5xx                  the same status, with the gateway's message
============================================  ==========================================

``GET`` and ``DELETE`` are tried again (twice, after 0.1 and 0.2 s) when
the gateway could not be reached or answered 502, 503 or 504; never after a
timeout, so the configured timeouts bound every request.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import Bool, DottedObjectName, Float, Integer, TraitError, Unicode, default, validate
from traitlets.config import LoggingConfigurable

#: Statuses worth trying an idempotent request again for (the gateway's proxy restarting).
RETRIED_STATUSES = (502, 503, 504)
#: Tries of a GET or DELETE after the first, and the first pause between them (doubling).
RETRIES = 2
RETRY_PAUSE = 0.1
#: The kernel launch timeout the gateway is told when the environment names none (as jupyter_server).
DEFAULT_LAUNCH_TIMEOUT = 40
#: Most REST requests under way to the gateway at once (more wait in tornado's queue).
MAX_CLIENTS = 64
#: The largest REST answer taken from the gateway (a kernel list, a kernelspec file).
MAX_BODY_BYTES = 64 * 1024 * 1024


def _from_env(name: str, convert: Callable[[str], Any], fallback: Any) -> Any:
    """The value of environment variable ``name`` converted, ``fallback`` when unset;
    a value that does not convert stops the start with a message naming the variable."""
    raw = os.environ.get(name)
    if raw is None:
        return fallback
    try:
        return convert(raw)
    except ValueError as err:
        raise TraitError(f"environment variable {name}={raw!r} is not valid: {err}") from err


def _boolean(raw: str) -> bool:
    """jupyter_server's reading of a boolean variable: anything but ``no``/``false`` is true."""
    return raw.strip().lower() not in ("no", "false")


class GatewayClient(LoggingConfigurable):
    """Where the gateway is, how to authenticate to it, and how long to wait for it.

    Setting :attr:`url` turns gateway mode on (see ``docs/gateway.md``).
    Each trait's environment variable applies when the trait is not
    configured; configuration (files, command line) wins over it.
    """

    url = Unicode(
        None,
        allow_none=True,
        help="""The URL of the Kernel Gateway or Enterprise Gateway (http or https, with its
        base path if any). Set, it turns gateway mode on: kernelspecs and kernels live on
        the gateway, sessions stay here. (JUPYTER_GATEWAY_URL)""",
    ).tag(config=True)

    @default("url")
    def _default_url(self) -> str | None:
        return os.environ.get("JUPYTER_GATEWAY_URL") or None

    @validate("url")
    def _validate_url(self, proposal: Any) -> str | None:
        value = proposal["value"]
        if value and urlsplit(value).scheme.lower() not in ("http", "https"):
            raise TraitError(f"GatewayClient.url must be an http:// or https:// URL, not {value!r}")
        return value.rstrip("/") if value else None

    ws_url = Unicode(
        None,
        allow_none=True,
        help="""The websocket URL of the gateway (ws or wss); by default url with ws:// for
        http:// and wss:// for https://. (JUPYTER_GATEWAY_WS_URL)""",
    ).tag(config=True)

    @default("ws_url")
    def _default_ws_url(self) -> str | None:
        value = os.environ.get("JUPYTER_GATEWAY_WS_URL")
        if value:
            return value.rstrip("/")
        if not self.url:
            return None
        parts = urlsplit(self.url)
        return urlunsplit(("wss" if parts.scheme.lower() == "https" else "ws", *parts[1:]))

    @validate("ws_url")
    def _validate_ws_url(self, proposal: Any) -> str | None:
        value = proposal["value"]
        if value and urlsplit(value).scheme.lower() not in ("ws", "wss"):
            raise TraitError(f"GatewayClient.ws_url must be a ws:// or wss:// URL, not {value!r}")
        return value.rstrip("/") if value else None

    kernels_endpoint = Unicode(
        help="The gateway's kernels API path, below url. (JUPYTER_GATEWAY_KERNELS_ENDPOINT)"
    ).tag(config=True)

    @default("kernels_endpoint")
    def _default_kernels_endpoint(self) -> str:
        return os.environ.get("JUPYTER_GATEWAY_KERNELS_ENDPOINT", "/api/kernels")

    kernelspecs_endpoint = Unicode(
        help="The gateway's kernelspecs API path, below url. (JUPYTER_GATEWAY_KERNELSPECS_ENDPOINT)"
    ).tag(config=True)

    @default("kernelspecs_endpoint")
    def _default_kernelspecs_endpoint(self) -> str:
        return os.environ.get("JUPYTER_GATEWAY_KERNELSPECS_ENDPOINT", "/api/kernelspecs")

    kernelspecs_resource_endpoint = Unicode(
        help="""The gateway's path of kernelspec files (logos, kernel.js), below url.
        (JUPYTER_GATEWAY_KERNELSPECS_RESOURCE_ENDPOINT)"""
    ).tag(config=True)

    @default("kernelspecs_resource_endpoint")
    def _default_kernelspecs_resource_endpoint(self) -> str:
        return os.environ.get("JUPYTER_GATEWAY_KERNELSPECS_RESOURCE_ENDPOINT", "/kernelspecs")

    connect_timeout = Float(
        help="""Seconds to wait for a connection to the gateway (REST and websocket); past it
        the request is a 504. (JUPYTER_GATEWAY_CONNECT_TIMEOUT)"""
    ).tag(config=True)

    @default("connect_timeout")
    def _default_connect_timeout(self) -> float:
        return float(_from_env("JUPYTER_GATEWAY_CONNECT_TIMEOUT", float, 40.0))

    request_timeout = Float(
        help="""Seconds a request to the gateway may take in all; past it the request is a 504.
        A kernel start or restart may take longer: at least KERNEL_LAUNCH_TIMEOUT +
        launch_timeout_pad. (JUPYTER_GATEWAY_REQUEST_TIMEOUT)"""
    ).tag(config=True)

    @default("request_timeout")
    def _default_request_timeout(self) -> float:
        return float(_from_env("JUPYTER_GATEWAY_REQUEST_TIMEOUT", float, 42.0))

    launch_timeout_pad = Float(
        help="""Seconds added to the kernel launch timeout the gateway is told
        (KERNEL_LAUNCH_TIMEOUT, from this server's environment, 40 when unset, raised to
        request_timeout - launch_timeout_pad) to get the time a start or restart request may
        take: the gateway gives up on the kernel before this server gives up on the gateway.
        (JUPYTER_GATEWAY_LAUNCH_TIMEOUT_PAD)"""
    ).tag(config=True)

    @default("launch_timeout_pad")
    def _default_launch_timeout_pad(self) -> float:
        return float(_from_env("JUPYTER_GATEWAY_LAUNCH_TIMEOUT_PAD", float, 2.0))

    validate_cert = Bool(
        help="""Check the gateway's TLS certificate (https, wss). Turn off only for a test
        gateway with a self-signed certificate; better, name its CA in ca_certs.
        (JUPYTER_GATEWAY_VALIDATE_CERT: no or false turns it off)"""
    ).tag(config=True)

    @default("validate_cert")
    def _default_validate_cert(self) -> bool:
        return bool(_from_env("JUPYTER_GATEWAY_VALIDATE_CERT", _boolean, True))

    client_cert = Unicode(
        None,
        allow_none=True,
        help="A client certificate file (PEM) for a gateway that asks for one (mutual TLS). (JUPYTER_GATEWAY_CLIENT_CERT)",
    ).tag(config=True)

    @default("client_cert")
    def _default_client_cert(self) -> str | None:
        return os.environ.get("JUPYTER_GATEWAY_CLIENT_CERT")

    client_key = Unicode(
        None,
        allow_none=True,
        help="The private key file of client_cert, if it is not in that file. (JUPYTER_GATEWAY_CLIENT_KEY)",
    ).tag(config=True)

    @default("client_key")
    def _default_client_key(self) -> str | None:
        return os.environ.get("JUPYTER_GATEWAY_CLIENT_KEY")

    ca_certs = Unicode(
        None,
        allow_none=True,
        help="""The certificate authorities (a PEM file) that sign the gateway's certificate;
        the system's when unset. (JUPYTER_GATEWAY_CA_CERTS)""",
    ).tag(config=True)

    @default("ca_certs")
    def _default_ca_certs(self) -> str | None:
        return os.environ.get("JUPYTER_GATEWAY_CA_CERTS")

    http_user = Unicode(
        None,
        allow_none=True,
        help="""User name for HTTP basic authentication to the gateway; also sent as
        KERNEL_USERNAME with each start unless that variable is set. (JUPYTER_GATEWAY_HTTP_USER)""",
    ).tag(config=True)

    @default("http_user")
    def _default_http_user(self) -> str | None:
        return os.environ.get("JUPYTER_GATEWAY_HTTP_USER")

    http_pwd = Unicode(
        None,
        allow_none=True,
        help="Password for HTTP basic authentication to the gateway. (JUPYTER_GATEWAY_HTTP_PWD)",
    ).tag(config=True)

    @default("http_pwd")
    def _default_http_pwd(self) -> str | None:
        return os.environ.get("JUPYTER_GATEWAY_HTTP_PWD")

    headers = Unicode(
        help="""Extra HTTP headers for every request to the gateway (REST and websocket), as a
        JSON object: '{"X-Team": "blue"}'. (JUPYTER_GATEWAY_HEADERS)"""
    ).tag(config=True)

    @default("headers")
    def _default_headers(self) -> str:
        return os.environ.get("JUPYTER_GATEWAY_HEADERS", "{}")

    @validate("headers")
    def _validate_headers(self, proposal: Any) -> str:
        value = proposal["value"] or "{}"
        try:
            parsed = json.loads(value)
        except ValueError as err:
            raise TraitError(f"GatewayClient.headers is not JSON: {err}") from err
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise TraitError("GatewayClient.headers must be a JSON object of strings")
        return value

    auth_header_key = Unicode(help="""The header that carries auth_token. (JUPYTER_GATEWAY_AUTH_HEADER_KEY)""").tag(
        config=True
    )

    @default("auth_header_key")
    def _default_auth_header_key(self) -> str:
        return os.environ.get("JUPYTER_GATEWAY_AUTH_HEADER_KEY", "Authorization")

    auth_token = Unicode(
        None,
        allow_none=True,
        help="""The gateway's token (its KG_AUTH_TOKEN / EG_AUTH_TOKEN), sent as
        '<auth_header_key>: <auth_scheme> <auth_token>' with every request. Empty: none is sent.
        Never logged. (JUPYTER_GATEWAY_AUTH_TOKEN)""",
    ).tag(config=True)

    @default("auth_token")
    def _default_auth_token(self) -> str | None:
        return os.environ.get("JUPYTER_GATEWAY_AUTH_TOKEN", "")

    auth_scheme = Unicode(
        None,
        allow_none=True,
        help="""The word before auth_token in its header ('token', 'Bearer'); empty sends the
        token alone. (JUPYTER_GATEWAY_AUTH_SCHEME)""",
    ).tag(config=True)

    @default("auth_scheme")
    def _default_auth_scheme(self) -> str | None:
        return os.environ.get("JUPYTER_GATEWAY_AUTH_SCHEME", "token")

    allowed_envs = Unicode(
        help="""Comma-separated names of this server's environment variables sent with each
        kernel start, besides every KERNEL_* variable (the gateway passes on those its own
        client_envs / env_whitelist allows). (JUPYTER_GATEWAY_ALLOWED_ENVS, or the older
        JUPYTER_GATEWAY_ENV_WHITELIST)"""
    ).tag(config=True)

    @default("allowed_envs")
    def _default_allowed_envs(self) -> str:
        return os.environ.get("JUPYTER_GATEWAY_ALLOWED_ENVS", os.environ.get("JUPYTER_GATEWAY_ENV_WHITELIST", ""))

    gateway_retry_interval = Float(
        help="""Seconds before the first attempt to reconnect a kernel's websocket to the
        gateway after it dropped; each further attempt waits twice as long (plus up to 10%
        jitter), at most gateway_retry_interval_max. (JUPYTER_GATEWAY_RETRY_INTERVAL)"""
    ).tag(config=True)

    @default("gateway_retry_interval")
    def _default_gateway_retry_interval(self) -> float:
        return float(_from_env("JUPYTER_GATEWAY_RETRY_INTERVAL", float, 1.0))

    gateway_retry_interval_max = Float(
        help="The longest wait between two reconnection attempts, in seconds. (JUPYTER_GATEWAY_RETRY_INTERVAL_MAX)"
    ).tag(config=True)

    @default("gateway_retry_interval_max")
    def _default_gateway_retry_interval_max(self) -> float:
        return float(_from_env("JUPYTER_GATEWAY_RETRY_INTERVAL_MAX", float, 30.0))

    gateway_retry_max = Integer(
        help="""Reconnection attempts of a kernel's websocket before the kernel is given up:
        its clients' websockets are closed (1011, with the reason) and it leaves the kernel
        list. (JUPYTER_GATEWAY_RETRY_MAX)"""
    ).tag(config=True)

    @default("gateway_retry_max")
    def _default_gateway_retry_max(self) -> int:
        return int(_from_env("JUPYTER_GATEWAY_RETRY_MAX", int, 5))

    kernel_manager_class = DottedObjectName(
        "jupyter_server_lite.gateway.managers.GatewayMappingKernelManager",
        help="""The kernel manager of gateway mode (ServerApp.kernel_manager_class's default
        when url is set); a replacement subclasses this one.""",
    ).tag(config=True)
    kernel_spec_manager_class = DottedObjectName(
        "jupyter_server_lite.gateway.managers.GatewayKernelSpecManager",
        help="""The kernelspec manager of gateway mode (ServerApp.kernel_spec_manager_class's
        default when url is set); a replacement subclasses this one.""",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._http: Any = None
        self._http_loop: asyncio.AbstractEventLoop | None = None

    @property
    def enabled(self) -> bool:
        """Whether gateway mode is on (``url`` is set)."""
        return bool(self.url)

    # -- building requests ---------------------------------------------------------

    def request_headers(self) -> dict[str, str]:
        """The headers of every request: ``headers``, then the token's (never logged)."""
        headers: dict[str, str] = dict(json.loads(self.headers or "{}"))
        if self.auth_token:
            headers[self.auth_header_key] = (
                f"{self.auth_scheme} {self.auth_token}" if self.auth_scheme else self.auth_token
            )
        return headers

    def http_url(self, *parts: str) -> str:
        return _join(self.url or "", *parts)

    def ws_request(self, path: str) -> Any:
        """The ``HTTPRequest`` of a websocket to ``path`` (below ws_url)."""
        return self._request(_join(self.ws_url or "", path), "GET", None, self.request_timeout)

    def _request(self, url: str, method: str, body: bytes | None, timeout: float) -> Any:
        headers = self.request_headers()
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        return HTTPRequest(
            url,
            method=method,
            body=body,
            headers=headers,
            connect_timeout=self.connect_timeout,
            request_timeout=timeout,
            validate_cert=self.validate_cert,
            ca_certs=self.ca_certs,
            client_cert=self.client_cert,
            client_key=self.client_key,
            auth_username=self.http_user,
            auth_password=self.http_pwd,
            follow_redirects=False,
        )

    def start_timeout(self) -> tuple[float, int]:
        """``(seconds a start or restart request may take, KERNEL_LAUNCH_TIMEOUT to send)``.

        As jupyter_server: the request may take ``KERNEL_LAUNCH_TIMEOUT +
        launch_timeout_pad`` (the variable from this server's environment, 40
        when unset) or ``request_timeout`` if longer, and the gateway is told
        that time less the pad.
        """
        launch = int(_from_env("KERNEL_LAUNCH_TIMEOUT", int, DEFAULT_LAUNCH_TIMEOUT))
        timeout = max(self.request_timeout, launch + self.launch_timeout_pad)
        return timeout, int(timeout - self.launch_timeout_pad)

    # -- sending them ------------------------------------------------------------

    def _client(self) -> Any:
        """This loop's HTTP client (tornado's clients belong to one event loop)."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop:
            self._http = AsyncHTTPClient(force_instance=True, max_clients=MAX_CLIENTS, max_body_size=MAX_BODY_BYTES)
            self._http_loop = loop
        return self._http

    def close(self) -> None:
        """Close the HTTP client (the server stops)."""
        if self._http is not None:
            self._http.close()
            self._http = None

    async def fetch(
        self,
        path: str,
        method: str = "GET",
        body: Any = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """``method path`` on the gateway (``body`` sent as JSON): the ``HTTPResponse``.

        Raises ``tornado.web.HTTPError`` as the module docstring says.
        """
        payload = None if body is None else json.dumps(body).encode()
        if payload is None and method in ("POST", "PUT", "PATCH"):
            payload = b"{}"
        seconds = self.request_timeout if timeout is None else timeout
        request = self._request(self.http_url(path), method, payload, seconds)
        what = f"{method} {path}"
        for attempt in range(RETRIES + 1):
            retry = attempt < RETRIES and method in ("GET", "DELETE")
            try:
                return await self._client().fetch(request)
            except HTTPClientError as err:
                if err.code == 599:  # no HTTP answer: a timeout or a dropped connection
                    if "timeout" in str(err).lower():
                        raise web.HTTPError(
                            504,
                            f"Gateway {self.url} did not answer {what} within {seconds:g}s "
                            f"(GatewayClient.connect_timeout {self.connect_timeout:g}s, request_timeout)",
                        ) from err
                    if retry:
                        await asyncio.sleep(RETRY_PAUSE * 2**attempt)
                        continue
                    raise self._unreachable(what, err) from err
                if err.code in RETRIED_STATUSES and retry:
                    await asyncio.sleep(RETRY_PAUSE * 2**attempt)
                    continue
                raise self._refusal(what, err) from err
            except OSError as err:  # refused, reset, no such host
                if retry:
                    await asyncio.sleep(RETRY_PAUSE * 2**attempt)
                    continue
                raise self._unreachable(what, err) from err
        raise AssertionError("unreachable")  # the loop returns or raises

    def _unreachable(self, what: str, err: BaseException) -> web.HTTPError:
        return web.HTTPError(
            503,
            f"Gateway {self.url} is unreachable ({what}): {_describe(err)}; check that it runs and GatewayClient.url",
        )

    def _refusal(self, what: str, err: Any) -> web.HTTPError:
        """The gateway's own error answer, with its message."""
        said = _message_of(err.response.body if err.response is not None else b"") or err.message or ""
        status = f"{err.code} {err.message or ''}".strip()
        if err.code in (401, 407):
            return web.HTTPError(
                502,
                f"Gateway {self.url} refused this server's credentials ({status}) for {what}"
                f"{': ' + said if said and said != err.message else ''}; "
                "check GatewayClient.auth_token and auth_scheme",
            )
        return web.HTTPError(err.code, f"Gateway {self.url} answered {status} to {what}: {said or 'no reason given'}")


def _join(base: str, *parts: str) -> str:
    """``base`` and path ``parts`` joined with single slashes."""
    url = base.rstrip("/")
    for part in parts:
        if part:
            url += "/" + part.strip("/")
    return url


def _describe(err: BaseException) -> str:
    """A one-line account of a connection failure (tornado's 599 message, or the OS error)."""
    text = getattr(err, "message", None) or str(err) or type(err).__name__
    return text.splitlines()[0]


def _message_of(body: bytes) -> str:
    """The ``message`` (else ``reason``) of a gateway's JSON error body; its text otherwise (bounded)."""
    try:
        model = json.loads(body)
    except ValueError:
        return body[:500].decode("utf-8", "replace").strip()
    if isinstance(model, dict):
        return str(model.get("message") or model.get("reason") or "")
    return ""
