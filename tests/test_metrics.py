"""GET /metrics (jupyter_server_lite/metrics/): real requests, kernels, websockets, files and shells move it.

Every scrape is parsed with prometheus_client's own parser. Without
prometheus_client is tested for real: a fresh interpreter whose sys.path
holds every installed package but that one (``python -S`` and a folder of
links to site-packages), so the import genuinely fails.
"""

from __future__ import annotations

import json
import logging
import os
import site
import subprocess
import sys
from pathlib import Path

import prometheus_client
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from support import wait_for
from tornado.httpclient import AsyncHTTPClient

import jupyter_server_lite
from jupyter_server_lite.extension.application import ExtensionApp
from jupyter_server_lite.metrics.recorder import BUCKETS, MISSING

SHELL = ["/bin/bash", "--noprofile", "--norc"]


async def scrape(fetch, **kwargs) -> list[Sample]:
    """Every sample of one scrape, parsed as Prometheus parses the text format."""
    r = await fetch("metrics", **kwargs)
    assert r.code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return [s for family in text_string_to_metric_families(r.body.decode()) for s in family.samples]


def total(samples: list[Sample], metric: str, /, **labels: str) -> float:
    """The sum of the samples called ``metric`` whose labels include ``labels``."""
    return sum(s.value for s in samples if s.name == metric and labels.items() <= s.labels.items())


def names(samples: list[Sample]) -> set[str]:
    return {s.name for s in samples}


# -- the format and the requests ---------------------------------------------------------


async def test_scrape_parses_and_names_what_jupyter_server_names(jsl_fetch):
    await jsl_fetch("api", "status")
    samples = await scrape(jsl_fetch)
    assert {
        "http_request_duration_seconds_bucket",
        "terminal_currently_running_total",
        "jupyter_server_info",
        "jupyter_server_extension_info",
        "jupyter_server_started_timestamp_seconds",
        "jupyter_server_last_activity_timestamp_seconds",
        "jupyter_server_active_duration_seconds",
        "process_resident_memory_bytes",
    } <= names(samples)
    info = next(s for s in samples if s.name == "jupyter_server_info")
    assert info.labels["version"] == jupyter_server_lite.__version__


async def test_requests_by_route_pattern_and_status(jsl_fetch, jsl_expect_log):
    before = await scrape(jsl_fetch)
    for _ in range(3):
        await jsl_fetch("api", "status")
    with jsl_expect_log(r"^404 GET .*/api/no-such-route"):
        r = await jsl_fetch("api", "no-such-route", raise_error=False)
    assert r.code == 404
    after = await scrape(jsl_fetch)

    count = "http_request_duration_seconds_count"
    status = {"method": "GET", "handler": "/api/status", "status_code": "200"}
    assert total(after, count, **status) - total(before, count, **status) == 3
    missing = {"method": "GET", "handler": "/api/.*", "status_code": "404"}
    assert total(after, count, **missing) - total(before, count, **missing) == 1
    assert total(after, count, status_code="404") - total(before, count, status_code="404") == 1
    # The scrape before this one is counted too, once it has finished.
    assert total(after, count, handler="/metrics", status_code="200") >= 1
    # Buckets: every prometheus_client default bound (and 1 ms, 2.5 ms), cumulative up to +Inf = count.
    buckets = [
        s for s in after if s.name == "http_request_duration_seconds_bucket" and s.labels.items() >= status.items()
    ]
    assert [b.labels["le"] for b in buckets] == [*(str(float(b)) for b in BUCKETS), "+Inf"]
    assert [b.value for b in buckets] == sorted(b.value for b in buckets)
    assert buckets[-1].value == total(after, count, **status)
    assert total(after, "http_request_duration_seconds_sum", **status) > 0


async def test_labels_never_hold_a_path(jsl_fetch, jsl_expect_log):
    """A label value per kernel id, file name or odd method would grow without bound."""
    secret = "no-such-kernel-4f2a9c"
    with jsl_expect_log(rf"^404 GET .*/api/kernels/{secret}"):
        await jsl_fetch("api", "kernels", secret, raise_error=False)
    with jsl_expect_log(r"^404 GET .*/a%40b/nowhere/"):
        await jsl_fetch("nowhere", secret, raise_error=False)
    with jsl_expect_log(r"^405 PROPFIND"):
        r = await jsl_fetch("api", "status", method="PROPFIND", allow_nonstandard_methods=True, raise_error=False)
    assert r.code == 405
    samples = await scrape(jsl_fetch)
    requests = [s for s in samples if s.name == "http_request_duration_seconds_count"]
    assert not [s for s in requests if any(secret in v for v in s.labels.values())]
    count = "http_request_duration_seconds_count"
    assert total(samples, count, handler="/api/kernels/(?P<kernel_id>[^/]+)/?", status_code="404") == 1
    # A path no route matches: the default handler, labelled by its class as jupyter_server does.
    page = "jupyter_server_lite.web.handlers.PageNotFoundHandler"
    assert total(samples, count, handler=page, status_code="404") == 1
    assert total(samples, count, method="other", handler="/api/status", status_code="405") == 1
    assert "PROPFIND" not in {s.labels["method"] for s in requests}


async def test_a_static_file_is_labelled_by_its_own_route(jsl_fetch, jsl_serverapp):
    """Several rules serve the core's static handler; each request gets the rule that matched."""
    await AsyncHTTPClient().fetch(f"http://127.0.0.1:{jsl_serverapp.actual_port}/favicon.ico")  # not below base_url
    await jsl_fetch("static", "jupyter_server_lite", "style.css", authenticated=False)
    samples = await scrape(jsl_fetch)
    count = "http_request_duration_seconds_count"
    assert total(samples, count, handler=r"/(favicon\.ico)", status_code="200") == 1
    assert total(samples, count, handler="/static/jupyter_server_lite/(.*)", status_code="200") == 1


async def test_openmetrics_when_the_scraper_asks(jsl_fetch):
    r = await jsl_fetch("metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert r.headers["Content-Type"].startswith("application/openmetrics-text")
    families = {f.name for f in parse_openmetrics(r.body.decode())}
    assert {"http_request_duration_seconds", "jupyter_server_kernel_events", "jupyter_server"} <= families


# -- what the server holds -------------------------------------------------------------------


async def test_kernels_and_their_websocket_move_the_gauges(jsl_fetch, jsl_ws_connect, jsl_serverapp):
    before = await scrape(jsl_fetch)
    assert "kernel_currently_running_total" not in names(before), "no kernel type has run yet"
    assert total(before, "jupyter_server_websocket_connections", service="kernels") == 0
    r = await jsl_fetch("api", "kernels", method="POST", body={"name": "python3"})
    kernel_id = json.loads(r.body)["id"]

    async def scraped(name: str, expected: int, **labels: str) -> list[Sample] | None:
        samples = await scrape(jsl_fetch)
        return samples if total(samples, name, **labels) == expected else None

    # "started" comes once the kernel has answered the server's probe (the kernel_started hook's moment).
    running = await wait_for(lambda: scraped("jupyter_server_kernel_events_total", 1, event="started"))
    assert total(running, "kernel_currently_running_total", type="python3") == 1
    assert total(running, "jupyter_server_kernels") == 1
    assert jsl_serverapp.kernel_manager.kernel_model(kernel_id)["execution_state"] == "idle"
    assert total(running, "jupyter_server_kernels", execution_state="idle") == 1

    conn = await jsl_ws_connect("api", "kernels", kernel_id, "channels")

    # The server counts a client once its open() has run, and stops once its on_close() has.
    await wait_for(lambda: scraped("jupyter_server_websocket_connections", 1, service="kernels"))
    conn.close()
    await wait_for(lambda: scraped("jupyter_server_websocket_connections", 0, service="kernels"))

    await jsl_fetch("api", "kernels", kernel_id, method="DELETE")
    gone = await scrape(jsl_fetch)
    assert [(s.labels, s.value) for s in gone if s.name == "kernel_currently_running_total"] == [
        ({"type": "python3"}, 0)
    ], "a type seen running stays, at 0"
    assert total(gone, "jupyter_server_kernels") == 0
    assert total(gone, "jupyter_server_kernel_events_total", event="shutdown") == 1


async def test_contents_operations_are_counted(jsl_fetch):
    operations = "jupyter_server_contents_operations_total"

    async def counts() -> dict[str, float]:
        return {s.labels["action"]: s.value for s in await scrape(jsl_fetch) if s.name == operations}

    steps = [
        (
            "save",
            ("api", "contents", "a.txt"),
            {"method": "PUT", "body": {"type": "file", "format": "text", "content": "hi"}},
        ),
        ("get", ("api", "contents", "a.txt"), {}),
        ("rename", ("api", "contents", "a.txt"), {"method": "PATCH", "body": {"path": "b.txt"}}),
        ("copy", ("api", "contents"), {"method": "POST", "body": {"copy_from": "b.txt"}}),
        ("delete", ("api", "contents", "b.txt"), {"method": "DELETE"}),
    ]
    for action, parts, kwargs in steps:
        before = await counts()
        await jsl_fetch(*parts, **kwargs)
        after = await counts()
        assert after[action] - before[action] == 1, action
        # Nothing else moves, but the "get" of the model some answers carry.
        assert {a: after[a] - before[a] for a in after if a not in (action, "get")} == dict.fromkeys(
            set(after) - {action, "get"}, 0
        ), action


async def test_terminals_and_their_websocket(jsl_server_factory, jsl_fetch, jsl_ws_connect):
    app = jsl_server_factory(config={"TerminalManager": {"shell_command": SHELL}}, start=False)
    await app.start_server()
    name = json.loads((await jsl_fetch("api", "terminals", method="POST", body={}, app=app)).body)["name"]
    conn = await jsl_ws_connect("terminals", "websocket", name, app=app)
    await conn.read_message()  # ["setup", {}]: the server has registered this client
    samples = await scrape(jsl_fetch, app=app)
    assert total(samples, "terminal_currently_running_total") == 1
    assert total(samples, "jupyter_server_websocket_connections", service="terminals") == 1
    conn.close()
    await jsl_fetch("api", "terminals", name, method="DELETE", app=app)
    samples = await scrape(jsl_fetch, app=app)
    assert total(samples, "terminal_currently_running_total") == 0


class BrokenHandlersApp(ExtensionApp):
    name = "metrics_broken"

    def initialize_handlers(self) -> None:
        raise ValueError("broken on purpose")


async def test_extensions_states_and_load_times(jsl_server_factory, jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"Extension metrics_broken failed \(load\)", logging.ERROR):
        app = jsl_server_factory(extensions=[BrokenHandlersApp], start=False)
    await app.start_server()
    samples = await scrape(jsl_fetch, app=app)
    state = "jupyter_server_extension_state"
    assert total(samples, state, name="contents", state="loaded") == 1
    assert total(samples, state, name="metrics_broken", state="failed") == 1
    assert total(samples, state, name="metrics_broken") == 1, "one state per extension"
    phases = {
        s.labels["phase"]
        for s in samples
        if s.name == "jupyter_server_extension_load_seconds" and s.labels["name"] == "contents"
    }
    assert phases == {"import", "configure", "load"}
    record = app.extension_manager.get("contents")
    load = total(samples, "jupyter_server_extension_load_seconds", name="contents", phase="import")
    assert load == pytest.approx(record.timings["import"])
    info = {s.labels["name"] for s in samples if s.name == "jupyter_server_extension_info"}
    assert {"contents", "terminado", "metrics_broken"} <= info


async def test_activity_gauges_are_the_servers(jsl_fetch, jsl_serverapp):
    samples = await scrape(jsl_fetch)
    started = total(samples, "jupyter_server_started_timestamp_seconds")
    assert started == pytest.approx(jsl_serverapp.activity.started.timestamp())
    assert total(samples, "jupyter_server_last_activity_timestamp_seconds") >= started


# -- who may scrape ---------------------------------------------------------------------


async def test_anonymous_scrape_is_refused_by_default(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"^403 GET .*/metrics"):
        r = await jsl_fetch("metrics", authenticated=False, raise_error=False)
    assert r.code == 403
    assert r.headers["Content-Type"] == "application/json"
    assert json.loads(r.body)["message"].startswith("Authentication required")


async def test_bearer_token_as_prometheus_sends_it(jsl_fetch, jsl_serverapp):
    token = jsl_serverapp.identity_provider.token
    assert await scrape(jsl_fetch, headers={"Authorization": f"Bearer {token}"})


async def test_authenticate_prometheus_false_lets_a_scraper_in_and_nothing_else(
    jsl_server_factory, jsl_fetch, jsl_expect_log
):
    app = jsl_server_factory(config={"ServerApp": {"authenticate_prometheus": False}}, start=False)
    await app.start_server()
    assert "jupyter_server_kernels" in names(await scrape(jsl_fetch, app=app, authenticated=False))
    samples = await scrape(jsl_fetch, app=app, authenticated=False)
    assert total(samples, "http_request_duration_seconds_count", handler="/metrics", status_code="200") == 1
    with jsl_expect_log(r"^403 GET .*/api/status"):
        r = await jsl_fetch("api", "status", app=app, authenticated=False, raise_error=False)
    assert r.code == 403
    with jsl_expect_log(r"^403 POST .*/metrics"):
        r = await jsl_fetch("metrics", method="POST", app=app, authenticated=False, raise_error=False)
    assert r.code == 403


# -- one registry per server; switching requests off --------------------------------------------


async def test_two_servers_in_one_process_count_apart(jsl_server_factory, jsl_fetch):
    one = jsl_server_factory(start=False)
    two = jsl_server_factory(start=False)
    await one.start_server()
    await two.start_server()
    for _ in range(4):
        await jsl_fetch("api", "status", app=one)
    await jsl_fetch("api", "status", app=two)
    count = "http_request_duration_seconds_count"
    assert total(await scrape(jsl_fetch, app=one), count, handler="/api/status") == 4
    assert total(await scrape(jsl_fetch, app=two), count, handler="/api/status") == 1
    assert one.metrics.registry(one) is not two.metrics.registry(two)
    assert prometheus_client.REGISTRY not in (one.metrics.registry(one), two.metrics.registry(two))
    assert "http_request_duration_seconds" not in prometheus_client.REGISTRY._names_to_collectors


async def test_record_http_request_metrics_false(jsl_server_factory, jsl_fetch):
    app = jsl_server_factory(config={"ServerApp": {"record_http_request_metrics": False}}, start=False)
    await app.start_server()
    await jsl_fetch("api", "status", app=app)
    samples = await scrape(jsl_fetch, app=app)
    assert not [s for s in samples if s.name.startswith("http_request_duration_seconds")]
    assert "jupyter_server_kernels" in names(samples)


# -- start-up, and a server without prometheus_client --------------------------------------------

PROBE = """
import asyncio, importlib.util, json, sys
from tornado.httpclient import AsyncHTTPClient
from jupyter_server_lite.serverapp import ServerApp

async def main():
    app = ServerApp()
    app.initialize(sys.argv[1:])
    await app.start_server()
    out = {"installed": importlib.util.find_spec("prometheus_client") is not None}
    out["imported_at_start"] = "prometheus_client" in sys.modules
    base = f"http://127.0.0.1:{app.actual_port}/"
    headers = {"Authorization": "token probe-token"}
    out["status"] = (await AsyncHTTPClient().fetch(base + "api/status", headers=headers)).code
    out["imported_after_a_request"] = "prometheus_client" in sys.modules
    r = await AsyncHTTPClient().fetch(base + "metrics", headers=headers, raise_error=False)
    out["metrics"] = [r.code, r.headers["Content-Type"], r.body.decode()]
    out["imported_after_the_scrape"] = "prometheus_client" in sys.modules
    await app.stop_server()
    print(json.dumps(out))

asyncio.run(main())
"""


def run_probe(root: Path, python_args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> dict:
    argv = [
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.open_browser=False",
        "--IdentityProvider.token=probe-token",
        f"--ServerApp.root_dir={root}",
    ]
    proc = subprocess.run(
        [sys.executable, *python_args, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["stderr"] = proc.stderr
    return out


def test_start_up_does_not_import_prometheus_client(jsl_dirs):
    """A property of the start path, in a fresh process: the first scrape imports it."""
    out = run_probe(jsl_dirs.root)
    assert out["installed"] and out["status"] == 200
    assert not out["imported_at_start"] and not out["imported_after_a_request"]
    assert out["metrics"][0] == 200 and "jupyter_server_kernels{" in out["metrics"][2]
    assert out["imported_after_the_scrape"]


def site_packages_without(folder: Path, hidden: str) -> Path:
    """A folder of links to every installed distribution but ``hidden`` (and its metadata)."""
    folder.mkdir()
    for directory in [*site.getsitepackages(), site.getusersitepackages()]:
        if not Path(directory).is_dir():
            continue
        for entry in Path(directory).iterdir():
            if not entry.name.startswith(hidden) and not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry)
    return folder


def test_without_prometheus_client_the_server_runs_and_metrics_say_503(jsl_dirs, tmp_path):
    """``python -S`` skips site (and every .pth, sitecustomize); PYTHONPATH holds this
    checkout and the installed packages, prometheus_client left out."""
    checkout = Path(jupyter_server_lite.__file__).resolve().parents[1]
    packages = site_packages_without(tmp_path / "site", "prometheus_client")
    env = {**os.environ, "PYTHONPATH": f"{checkout}:{packages}"}
    out = run_probe(jsl_dirs.root, ("-S",), env)
    assert not out["installed"], "prometheus_client is still importable: the test would prove nothing"
    assert out["status"] == 200
    code, content_type, body = out["metrics"]
    assert code == 503 and content_type == "application/json"
    assert json.loads(body) == {"message": MISSING, "reason": "Service Unavailable"}
    assert "jupyter_server_lite[metrics]" in MISSING
    assert not out["imported_after_the_scrape"]
    warnings = [line for line in out["stderr"].splitlines() if line.startswith(("[W", "[E"))]
    assert len(warnings) == 1 and "503 GET /metrics" in warnings[0], out["stderr"]
