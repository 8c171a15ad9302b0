"""GatewayClient's settings (jupyter_server's names and environment variables), how gateway
mode is selected, what a start sends, and that a server without a gateway never loads it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from traitlets import TraitError
from traitlets.config import Config

from jupyter_server_lite.gateway.client import GatewayClient
from jupyter_server_lite.gateway.managers import GatewayKernelSpecManager, GatewayMappingKernelManager
from jupyter_server_lite.services.kernels.manager import MappingKernelManager
from jupyter_server_lite.services.kernelspecs.manager import KernelSpecManager

ENV_TRAITS = [
    ("url", "JUPYTER_GATEWAY_URL", "http://gw:8888", "http://gw:8888"),
    ("ws_url", "JUPYTER_GATEWAY_WS_URL", "ws://other:9999/", "ws://other:9999"),
    ("kernels_endpoint", "JUPYTER_GATEWAY_KERNELS_ENDPOINT", "/k", "/k"),
    ("kernelspecs_endpoint", "JUPYTER_GATEWAY_KERNELSPECS_ENDPOINT", "/ks", "/ks"),
    ("kernelspecs_resource_endpoint", "JUPYTER_GATEWAY_KERNELSPECS_RESOURCE_ENDPOINT", "/r", "/r"),
    ("connect_timeout", "JUPYTER_GATEWAY_CONNECT_TIMEOUT", "3.5", 3.5),
    ("request_timeout", "JUPYTER_GATEWAY_REQUEST_TIMEOUT", "7", 7.0),
    ("launch_timeout_pad", "JUPYTER_GATEWAY_LAUNCH_TIMEOUT_PAD", "1.5", 1.5),
    ("validate_cert", "JUPYTER_GATEWAY_VALIDATE_CERT", "false", False),
    ("client_cert", "JUPYTER_GATEWAY_CLIENT_CERT", "/c.pem", "/c.pem"),
    ("client_key", "JUPYTER_GATEWAY_CLIENT_KEY", "/k.pem", "/k.pem"),
    ("ca_certs", "JUPYTER_GATEWAY_CA_CERTS", "/ca.pem", "/ca.pem"),
    ("http_user", "JUPYTER_GATEWAY_HTTP_USER", "ann", "ann"),
    ("http_pwd", "JUPYTER_GATEWAY_HTTP_PWD", "pw", "pw"),
    ("headers", "JUPYTER_GATEWAY_HEADERS", '{"X-Team": "blue"}', '{"X-Team": "blue"}'),
    ("auth_header_key", "JUPYTER_GATEWAY_AUTH_HEADER_KEY", "X-Auth", "X-Auth"),
    ("auth_token", "JUPYTER_GATEWAY_AUTH_TOKEN", "s3cret", "s3cret"),
    ("auth_scheme", "JUPYTER_GATEWAY_AUTH_SCHEME", "Bearer", "Bearer"),
    ("allowed_envs", "JUPYTER_GATEWAY_ALLOWED_ENVS", "A,B", "A,B"),
    ("gateway_retry_interval", "JUPYTER_GATEWAY_RETRY_INTERVAL", "0.5", 0.5),
    ("gateway_retry_interval_max", "JUPYTER_GATEWAY_RETRY_INTERVAL_MAX", "9", 9.0),
    ("gateway_retry_max", "JUPYTER_GATEWAY_RETRY_MAX", "3", 3),
]


@pytest.mark.parametrize(("trait", "variable", "raw", "value"), ENV_TRAITS)
def test_each_trait_reads_jupyter_servers_environment_variable(monkeypatch, trait, variable, raw, value):
    monkeypatch.setenv(variable, raw)
    assert getattr(GatewayClient(), trait) == value
    monkeypatch.delenv(variable)
    assert getattr(GatewayClient(), trait) != value, "the default differs"


def test_configuration_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("JUPYTER_GATEWAY_REQUEST_TIMEOUT", "7")
    monkeypatch.setenv("JUPYTER_GATEWAY_URL", "http://from-env")
    client = GatewayClient(config=Config({"GatewayClient": {"request_timeout": 11.0, "url": "https://configured/"}}))
    assert (client.request_timeout, client.url, client.ws_url) == (11.0, "https://configured", "wss://configured")


def test_the_older_env_whitelist_variable_still_works(monkeypatch):
    monkeypatch.setenv("JUPYTER_GATEWAY_ENV_WHITELIST", "OLD")
    assert GatewayClient().allowed_envs == "OLD"


def test_defaults_are_jupyter_servers():
    client = GatewayClient()
    assert (client.url, client.connect_timeout, client.request_timeout, client.launch_timeout_pad) == (None, 40, 42, 2)
    assert (client.auth_scheme, client.auth_header_key, client.validate_cert) == ("token", "Authorization", True)
    assert (client.gateway_retry_interval, client.gateway_retry_interval_max, client.gateway_retry_max) == (1, 30, 5)
    assert client.kernels_endpoint == "/api/kernels" and not client.enabled


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"url": "gw:8888"}, "GatewayClient.url must be an http:// or https:// URL, not 'gw:8888'"),
        ({"url": "http://gw", "ws_url": "http://gw"}, "GatewayClient.ws_url must be a ws:// or wss:// URL"),
        ({"headers": "{not json"}, "GatewayClient.headers is not JSON"),
        ({"headers": '["a"]'}, "GatewayClient.headers must be a JSON object of strings"),
    ],
)
def test_bad_settings_are_refused_naming_them(settings, problem):
    with pytest.raises(TraitError, match=problem.replace(".", r"\.").replace("(", r"\(")):
        GatewayClient(config=Config({"GatewayClient": settings}))


def test_a_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("JUPYTER_GATEWAY_CONNECT_TIMEOUT", "soon")
    with pytest.raises(TraitError, match="environment variable JUPYTER_GATEWAY_CONNECT_TIMEOUT='soon' is not valid"):
        GatewayClient().connect_timeout  # noqa: B018


def test_ws_url_follows_url_and_keeps_its_path():
    client = GatewayClient(config=Config({"GatewayClient": {"url": "https://GW.example/Base/"}}))
    assert client.ws_url == "wss://GW.example/Base"
    assert client.http_url("/api/kernels", "k1") == "https://GW.example/Base/api/kernels/k1"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"auth_token": "t"}, {"X-Team": "blue", "Authorization": "token t"}),
        (
            {"auth_token": "t", "auth_scheme": "Bearer", "auth_header_key": "X-Auth"},
            {"X-Team": "blue", "X-Auth": "Bearer t"},
        ),
        ({"auth_token": "t", "auth_scheme": ""}, {"X-Team": "blue", "Authorization": "t"}),
        ({"auth_token": ""}, {"X-Team": "blue"}),
    ],
)
def test_request_headers(settings, expected):
    client = GatewayClient(config=Config({"GatewayClient": {"headers": '{"X-Team": "blue"}', **settings}}))
    assert client.request_headers() == expected


@pytest.mark.parametrize(
    ("launch", "request_timeout", "expected"),
    [(None, 42.0, (42.0, 40)), ("100", 42.0, (102.0, 100)), ("10", 60.0, (60.0, 58))],
)
def test_start_timeout_pads_the_launch_timeout(monkeypatch, launch, request_timeout, expected):
    if launch is None:
        monkeypatch.delenv("KERNEL_LAUNCH_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("KERNEL_LAUNCH_TIMEOUT", launch)
    client = GatewayClient(config=Config({"GatewayClient": {"request_timeout": request_timeout}}))
    assert client.start_timeout() == expected


# -- selecting gateway mode --------------------------------------------------------


@pytest.mark.parametrize("how", ["config", "flag", "environment"])
def test_setting_the_url_selects_the_gateway_managers(jsl_server_factory, monkeypatch, how):
    monkeypatch.delenv("JUPYTER_GATEWAY_URL", raising=False)
    config, argv = {}, []
    if how == "config":
        config = {"GatewayClient": {"url": "http://127.0.0.1:1"}}
    elif how == "flag":
        argv = ["--gateway-url=http://127.0.0.1:1"]
    else:
        monkeypatch.setenv("JUPYTER_GATEWAY_URL", "http://127.0.0.1:1")
    app = jsl_server_factory(config=config, argv=argv, start=False)
    assert type(app.kernel_manager) is GatewayMappingKernelManager
    assert type(app.kernel_spec_manager) is GatewayKernelSpecManager
    assert app.kernel_manager.gateway.url == "http://127.0.0.1:1"


def test_without_a_url_the_managers_are_local(jsl_server_factory, monkeypatch):
    monkeypatch.delenv("JUPYTER_GATEWAY_URL", raising=False)
    app = jsl_server_factory(config={"GatewayClient": {"request_timeout": 3.0}}, start=False)
    assert type(app.kernel_manager) is MappingKernelManager and type(app.kernel_spec_manager) is KernelSpecManager
    assert app.gateway_client is None


def test_an_explicit_manager_class_wins_over_gateway_mode(jsl_server_factory):
    app = jsl_server_factory(
        config={
            "GatewayClient": {"url": "http://127.0.0.1:1"},
            "ServerApp": {"kernel_manager_class": "jupyter_server_lite.services.kernels.manager.MappingKernelManager"},
        },
        start=False,
    )
    assert type(app.kernel_manager) is MappingKernelManager
    assert type(app.kernel_spec_manager) is GatewayKernelSpecManager


def test_what_a_start_sends_the_gateway(jsl_server_factory, monkeypatch):
    monkeypatch.setenv("KERNEL_IMAGE", "elyra/kernel-py:3.2.3")
    monkeypatch.setenv("KERNEL_LAUNCH_TIMEOUT", "50")
    monkeypatch.setenv("SPARK_OPTS", "--master k8s")
    monkeypatch.setenv("HOME_SECRET", "never sent")
    app = jsl_server_factory(
        config={
            "GatewayClient": {"url": "http://127.0.0.1:1", "allowed_envs": "SPARK_OPTS, NOT_SET", "http_user": "ann"}
        },
        start=False,
    )
    env = app.kernel_manager.kernel_env("/work/dir")
    assert env == {
        "KERNEL_IMAGE": "elyra/kernel-py:3.2.3",
        "KERNEL_LAUNCH_TIMEOUT": "50",
        "SPARK_OPTS": "--master k8s",
        "KERNEL_USERNAME": "ann",
        "KERNEL_WORKING_DIR": "/work/dir",
    }


# -- the cost of not using it --------------------------------------------------------

PROBE = """
import json, sys
from jupyter_server_lite.serverapp import ServerApp
app = ServerApp()
app.initialize(sys.argv[1:] + ["--no-browser", "--ServerApp.port=0"])
print(json.dumps(sorted(m for m in sys.modules if m.startswith("jupyter_server_lite.gateway"))))
"""


@pytest.mark.parametrize("gateway", [False, True])
def test_nothing_of_gateway_mode_is_imported_without_it(jsl_dirs, gateway):
    argv = ["--gateway-url=http://127.0.0.1:1"] if gateway else []
    out = subprocess.run(
        [sys.executable, "-c", PROBE, f"--ServerApp.root_dir={jsl_dirs.root}", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    if gateway:
        assert {"jupyter_server_lite.gateway.managers", "jupyter_server_lite.gateway.connection"} <= set(loaded)
    else:
        assert loaded == []
