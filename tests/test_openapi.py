"""The OpenAPI document: valid, complete for every core route, and true of real responses."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import types
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from tornado import web

from jupyter_server_lite import bundled
from jupyter_server_lite.extension.mount import Mount, normalize_pattern
from jupyter_server_lite.extension.points import points_of
from jupyter_server_lite.services.openapi import SPEC_PATH
from jupyter_server_lite.web.application import core_routes

with open(SPEC_PATH, encoding="utf-8") as f:
    SPEC: dict[str, Any] = json.load(f)

SPEC_URI = "urn:jupyter-server-lite:openapi"
REGISTRY = Registry().with_resource(SPEC_URI, Resource.from_contents(SPEC, default_specification=DRAFT202012))
HTTP_METHODS = ("get", "put", "post", "patch", "delete")
#: A plausible value for each path parameter, to match documented paths against route patterns.
SAMPLES = {
    "kernel_id": "0e6a5c3e-2b1f-4f8e-9d6a-1b2c3d4e5f60",
    "session_id": "7d1f3a2b-9c4e-4d5f-8a6b-0c1d2e3f4a5b",
    "kernel_name": "python3",
    "resource": "logo-64x64.png",
    "extension_name": "jsl_hello",
    "path": "work/a.ipynb",
    "checkpoint_id": "checkpoint",
    "format": "html",
    "terminal_name": "1",
    "section_name": "notebook",
}


def pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def check_response(path: str, method: str, status: int, body: bytes, content_type: str | None = None) -> None:
    """Fail unless ``status`` is documented for the operation and ``body`` fits its schema."""
    responses = SPEC["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answered {status}, which the document does not list"
    where = ("paths", path, method, "responses", str(status))
    response = responses[str(status)]
    if "$ref" in response:
        where = ("components", "responses", response["$ref"].rsplit("/", 1)[-1])
        response = SPEC["components"]["responses"][where[-1]]
    content = response.get("content")
    if content is None:
        assert not body, f"{method.upper()} {path} {status} must have no body"
        return
    if "application/json" not in content:
        if content_type is not None and "*/*" not in content:
            assert content_type.split(";")[0] in content, f"{method.upper()} {path} {status}: {content_type}"
        return  # a file or a page: any bytes
    if content_type is not None:
        assert content_type.startswith("application/json"), f"{method.upper()} {path} {status}: {content_type}"
    ref = "#" + pointer("", *where, "content", "application/json", "schema")
    validator = Draft202012Validator({"$ref": SPEC_URI + ref}, registry=REGISTRY)
    try:
        data = json.loads(body)
    except ValueError:
        raise AssertionError(f"{method.upper()} {path} {status}: the body is not JSON: {body[:120]!r}") from None
    errors = sorted(validator.iter_errors(data), key=str)
    assert not errors, f"{method.upper()} {path} {status}: " + "; ".join(e.message for e in errors)


def api_routes() -> list[tuple[re.Pattern[str], type]]:
    """The routes the document must cover: the core's JSON API and kernelspec resources,
    and the standard services' routes of the bundled providers (service_routes)."""
    out = []
    for pattern, handler, *_ in core_routes():
        if pattern.startswith(("/api", "/kernelspecs")):
            out.append((re.compile(pattern), handler))
    return out + service_routes()


def service_routes() -> list[tuple[re.Pattern[str], type]]:
    """The routes each bundled service provider Mounts (terminals, config...), as full patterns."""
    import importlib

    out = []
    for module in bundled.BUNDLED_EXTENSIONS:
        for point in points_of(importlib.import_module(module)):
            app_class = point.app_class
            if app_class is None or not app_class.provides:
                continue
            app = app_class()
            app.initialize_handlers()  # a provider's routes need no settings
            for mount in app.handlers:
                if isinstance(mount, Mount):
                    for pattern, handler, *_ in mount.routes:
                        out.append((re.compile("/" + mount.prefix + normalize_pattern(pattern)), handler))
    return out


def handler_methods(handler: type) -> set[str]:
    """The HTTP methods a handler class implements (CORS OPTIONS and HEAD aside)."""
    return {m for m in HTTP_METHODS if getattr(handler, m) is not getattr(web.RequestHandler, m)}


def sample_url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m.group(1)], path)


def route_for(path: str) -> type:
    url = sample_url(path)
    for regex, handler in api_routes():
        if regex.fullmatch(url):
            return handler
    raise AssertionError(f"the document lists {path}, but no core or service route serves {url}")


# -- the document itself --------------------------------------------------------


def test_document_is_valid_openapi():
    validate_spec(SPEC)  # raises on any violation of the OpenAPI 3.1 schema
    assert SPEC["openapi"].startswith("3.1")


def test_every_documented_operation_is_implemented():
    for path, item in SPEC["paths"].items():
        documented = {m for m in HTTP_METHODS if m in item}
        assert documented == handler_methods(route_for(path)), path


def test_every_core_and_service_route_is_documented():
    documented = {route_for(path) for path in SPEC["paths"]}
    missing = [regex.pattern for regex, handler in api_routes() if handler not in documented]
    assert not missing, f"routes missing from openapi.json: {missing}"


def test_every_error_response_uses_the_error_model():
    """Every documented error is {message, reason}, kernelspec resources included
    (the health probe's 503 aside)."""
    error = "#/components/schemas/Error"
    for path, item in SPEC["paths"].items():
        for method in HTTP_METHODS:
            for status, response in item.get(method, {}).get("responses", {}).items():
                if int(status) < 400 or (path, status) == ("/api/health", "503"):
                    continue
                if "$ref" in response:
                    response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
                assert [c["schema"] for c in response["content"].values()] == [{"$ref": error}], (method, path, status)


def test_public_operations_match_handlers():
    """security: [] exactly where the handler lets anonymous callers in."""
    for path, item in SPEC["paths"].items():
        handler = route_for(path)
        for method in HTTP_METHODS:
            if method in item:
                public = item[method].get("security") == []
                assert public == handler.allow_unauthenticated, (method, path)


def test_rest_api_doc_covers_every_path():
    """docs/rest-api.md names every documented route (placeholders aside)."""
    doc = (Path(__file__).parent.parent / "docs" / "rest-api.md").read_text(encoding="utf-8")
    named = {re.sub(r"<[^>]+>", "<>", p) for p in re.findall(r"`(?:GET|POST|PATCH|DELETE) (/[^`?]*)`", doc)}
    for path, item in SPEC["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                assert re.sub(r"\{[^}]+\}", "<>", path) in named, (
                    f"docs/rest-api.md does not describe {method.upper()} {path}"
                )


# -- served -----------------------------------------------------------------------


async def test_served_document_is_the_file_and_public(jsl_fetch):
    r = await jsl_fetch("api", "openapi.json", authenticated=False)
    assert r.code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert json.loads(r.body) == SPEC
    check_response("/api/openapi.json", "get", r.code, r.body)


# -- real responses against the schemas ----------------------------------------------


async def _call(jsl_fetch, path: str, method: str = "get", *parts: str, **kwargs: Any) -> Any:
    r = await jsl_fetch(*parts, method=method.upper(), raise_error=False, **kwargs)
    check_response(path, method, r.code, r.body, r.headers.get("Content-Type"))
    return r


async def test_server_responses_match_schemas(jsl_fetch, jsl_expect_log, jsl_serverapp):
    await _call(jsl_fetch, "/api", "get", "api", authenticated=False)
    await _call(jsl_fetch, "/api/status", "get", "api", "status")
    await _call(jsl_fetch, "/api/health", "get", "api", "health", authenticated=False)
    await _call(jsl_fetch, "/api/me", "get", "api", "me", params={"permissions": json.dumps({"kernels": ["read"]})})
    with jsl_expect_log(r"400 GET .*/api/me"):
        await _call(jsl_fetch, "/api/me", "get", "api", "me", params={"permissions": "[1"})
    with jsl_expect_log(r"403 GET .*/api/status"):
        await _call(jsl_fetch, "/api/status", "get", "api", "status", authenticated=False)
    jsl_serverapp.request_stop()  # nothing here waits on it: the server keeps answering
    with jsl_expect_log(r"503 GET .*/api/health", logging.WARNING):
        r = await _call(jsl_fetch, "/api/health", "get", "api", "health", authenticated=False)
    assert r.code == 503


async def test_extension_responses_match_schemas(
    jsl_server_factory, jsl_fetch, jsl_expect_log, jsl_dirs, tmp_path, monkeypatch
):
    """Records of a loaded, a failed and a conf.d-enabled extension all fit the schema."""
    loaded = types.ModuleType("jsl_openapi_probe")
    loaded._load_jupyter_server_extension = lambda serverapp: None
    (tmp_path / "jsl_openapi_enabled.py").write_text("def _load_jupyter_server_extension(serverapp):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    enabler = jsl_dirs.write_config(
        "user",
        "jupyter_server_lite_config.d/jsl_openapi_enabled.json",
        {"ServerApp": {"jpserver_extensions": {"jsl_openapi_enabled": True}}},
    )
    with jsl_expect_log(r"Extension .*no_such_extension_module failed", logging.ERROR):
        app = jsl_server_factory(extensions=[loaded, "no_such_extension_module"], start=False)
    await app.start_server()
    r = await _call(jsl_fetch, "/api/extensions", "get", "api", "extensions", app=app)
    records = {e["module"]: e for e in json.loads(r.body)["extensions"]}
    states = {module: e["state"] for module, e in records.items()}
    assert states == {
        "jsl_openapi_probe": "loaded",
        "no_such_extension_module": "failed",
        "jsl_openapi_enabled": "loaded",
        **dict.fromkeys(bundled.BUNDLED_EXTENSIONS, "loaded"),  # bundled: on in every server
    }
    assert records["jsl_openapi_enabled"]["enabled_by"] == {
        "path": str(enabler),
        "level": "user",
        "directory": str(jsl_dirs.user),
    }
    assert records["jsl_openapi_probe"]["enabled_by"] is None
    await _call(
        jsl_fetch, "/api/extensions/{extension_name}", "get", "api", "extensions", "jsl_openapi_enabled", app=app
    )
    await _call(
        jsl_fetch, "/api/extensions/{extension_name}", "get", "api", "extensions", "no_such_extension_module", app=app
    )
    with jsl_expect_log(r"404 GET .*/api/extensions/nope"):
        await _call(jsl_fetch, "/api/extensions/{extension_name}", "get", "api", "extensions", "nope", app=app)


async def test_a_replaced_and_a_providing_record_match_the_schema(jsl_server_factory, jsl_fetch, monkeypatch):
    """A bundled provider that stepped aside, and the extension providing its service instead."""
    from jupyter_server_lite import bundled

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "extensions"))
    monkeypatch.setattr(bundled, "BUNDLED_EXTENSIONS", (*bundled.BUNDLED_EXTENSIONS, "ext_bundled_contents"))
    app = jsl_server_factory(extensions=["ext_contents_ro"], start=False)
    await app.start_server()
    for name, state in (("bundledcontents", "replaced"), ("rocontents", "loaded")):
        r = await _call(jsl_fetch, "/api/extensions/{extension_name}", "get", "api", "extensions", name, app=app)
        assert json.loads(r.body)["state"] == state


async def test_kernelspec_responses_match_schemas(jsl_fetch, jsl_expect_log):
    r = await _call(jsl_fetch, "/api/kernelspecs", "get", "api", "kernelspecs")
    specs = json.loads(r.body)
    name = specs["default"]
    await _call(jsl_fetch, "/api/kernelspecs/{kernel_name}", "get", "api", "kernelspecs", name)
    for url in specs["kernelspecs"][name]["resources"].values():
        resource = url.rsplit("/", 1)[-1]
        await _call(jsl_fetch, "/kernelspecs/{kernel_name}/{resource}", "get", "kernelspecs", name, resource)
    with jsl_expect_log(r"404 GET .*/api/kernelspecs/nope"):
        await _call(jsl_fetch, "/api/kernelspecs/{kernel_name}", "get", "api", "kernelspecs", "nope")
    with jsl_expect_log(r"404 GET .*/kernelspecs/.*/no-such-file"):
        await _call(jsl_fetch, "/kernelspecs/{kernel_name}/{resource}", "get", "kernelspecs", name, "no-such-file.png")
    with jsl_expect_log(r"404 GET .*/kernelspecs/nope/"):
        await _call(jsl_fetch, "/kernelspecs/{kernel_name}/{resource}", "get", "kernelspecs", "nope", resource)
    with jsl_expect_log(r"403 GET .*/kernelspecs/"):
        r = await _call(
            jsl_fetch,
            "/kernelspecs/{kernel_name}/{resource}",
            "get",
            "kernelspecs",
            name,
            resource,
            authenticated=False,
        )
    assert r.code == 403


async def wait_idle(jsl_fetch, kernel_id: str, timeout: float = 30) -> None:
    """Poll the kernel's model until its state is idle (bounded)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while json.loads((await jsl_fetch("api", "kernels", kernel_id)).body)["execution_state"] != "idle":
        assert asyncio.get_running_loop().time() < deadline, f"kernel {kernel_id} not idle after {timeout}s"
        await asyncio.sleep(0.05)


async def test_kernel_and_session_responses_match_schemas(jsl_fetch, jsl_expect_log):
    r = await _call(jsl_fetch, "/api/kernels", "post", "api", "kernels", body={})
    kid = json.loads(r.body)["id"]
    await wait_idle(jsl_fetch, kid)  # a SIGINT while Python is still booting would kill it
    await _call(jsl_fetch, "/api/kernels", "get", "api", "kernels")
    await _call(jsl_fetch, "/api/kernels/{kernel_id}", "get", "api", "kernels", kid)
    await _call(jsl_fetch, "/api/kernels/{kernel_id}/interrupt", "post", "api", "kernels", kid, "interrupt")
    await _call(jsl_fetch, "/api/kernels/{kernel_id}/restart", "post", "api", "kernels", kid, "restart")
    with jsl_expect_log(r"400 POST .*/api/kernels"):
        await _call(jsl_fetch, "/api/kernels", "post", "api", "kernels", body={"name": "no-such-kernel"})
    with jsl_expect_log(r"404 GET .*/api/kernels/"):
        await _call(jsl_fetch, "/api/kernels/{kernel_id}", "get", "api", "kernels", SAMPLES["kernel_id"])

    r = await _call(
        jsl_fetch,
        "/api/sessions",
        "post",
        "api",
        "sessions",
        body={"path": "a.ipynb", "type": "notebook", "kernel": {"id": kid}},
    )
    sid = json.loads(r.body)["id"]
    await _call(jsl_fetch, "/api/sessions", "get", "api", "sessions")
    await _call(jsl_fetch, "/api/sessions/{session_id}", "get", "api", "sessions", sid)
    await _call(jsl_fetch, "/api/sessions/{session_id}", "patch", "api", "sessions", sid, body={"name": "b"})
    with jsl_expect_log(r"400 POST .*/api/sessions"):
        await _call(jsl_fetch, "/api/sessions", "post", "api", "sessions", body={"path": 3, "type": "notebook"})
    with jsl_expect_log(r"400 PATCH .*/api/sessions/"):
        await _call(
            jsl_fetch, "/api/sessions/{session_id}", "patch", "api", "sessions", sid, body={"kernel": {"id": "nope"}}
        )
    with jsl_expect_log(r"404 GET .*/api/sessions/"):
        await _call(jsl_fetch, "/api/sessions/{session_id}", "get", "api", "sessions", SAMPLES["session_id"])
    await _call(jsl_fetch, "/api/sessions/{session_id}", "delete", "api", "sessions", sid)
    with jsl_expect_log(r"404 DELETE .*/api/kernels/"):
        await _call(jsl_fetch, "/api/kernels/{kernel_id}", "delete", "api", "kernels", kid)


async def test_channels_refusals_match_schemas(jsl_fetch, jsl_expect_log):
    """An unknown kernel and a plain GET without Upgrade are documented JSON errors."""
    with jsl_expect_log(r"404 GET .*/channels"):
        await _call(
            jsl_fetch, "/api/kernels/{kernel_id}/channels", "get", "api", "kernels", SAMPLES["kernel_id"], "channels"
        )
    kid = json.loads((await jsl_fetch("api", "kernels", method="POST", body={})).body)["id"]
    with jsl_expect_log(r"400 GET .*/channels"):
        await _call(jsl_fetch, "/api/kernels/{kernel_id}/channels", "get", "api", "kernels", kid, "channels")


async def test_contents_and_files_responses_match_schemas(jsl_fetch, jsl_expect_log, jsl_dirs):
    (jsl_dirs.root / "work").mkdir()
    path, item = "/api/contents/{path}", ("api", "contents")
    nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    await _call(jsl_fetch, path, "put", *item, "work/a.ipynb", body={"type": "notebook", "content": nb})
    await _call(jsl_fetch, path, "put", *item, "work/a.ipynb", body={"type": "notebook", "content": nb})
    await _call(jsl_fetch, path, "get", *item, "work", params={"hash": "1"})
    await _call(jsl_fetch, path, "get", *item, "work/a.ipynb", params={"hash": "1"})
    await _call(jsl_fetch, path, "post", *item, "work", body={"type": "file", "ext": ".txt"})
    await _call(jsl_fetch, path, "post", *item, "work", body={"copy_from": "work/a.ipynb"})
    await _call(jsl_fetch, path, "patch", *item, "work/a-Copy1.ipynb", body={"path": "work/b.ipynb"})
    await _call(jsl_fetch, path, "delete", *item, "work/b.ipynb")
    cp, one = "/api/contents/{path}/checkpoints", "/api/contents/{path}/checkpoints/{checkpoint_id}"
    await _call(jsl_fetch, cp, "post", *item, "work/a.ipynb", "checkpoints")
    await _call(jsl_fetch, cp, "get", *item, "work/a.ipynb", "checkpoints")
    await _call(jsl_fetch, one, "post", *item, "work/a.ipynb", "checkpoints", "checkpoint")
    await _call(jsl_fetch, one, "delete", *item, "work/a.ipynb", "checkpoints", "checkpoint")
    for method, parts, kwargs, status in (
        ("get", ("work/nope.txt",), {}, 404),
        ("get", ("work",), {"params": {"content": "2"}}, 400),
        ("put", ("nope/x.txt",), {"body": {"type": "file", "format": "text", "content": ""}}, 404),
        ("patch", ("work/a.ipynb",), {"body": {"path": "work/untitled.txt"}}, 409),
    ):
        with jsl_expect_log(rf"{status} {method.upper()} "):
            r = await _call(jsl_fetch, path, method, *item, *parts, **kwargs)
        assert r.code == status
    with jsl_expect_log(r"404 POST .*checkpoints/checkpoint"):
        await _call(jsl_fetch, one, "post", *item, "work/a.ipynb", "checkpoints", "checkpoint")
    files = "/files/{path}"
    await _call(jsl_fetch, files, "get", "files", "work/untitled.txt")
    await _call(jsl_fetch, files, "get", "files", "work/a.ipynb", headers={"Range": "bytes=0-1"})
    with jsl_expect_log(r"404 GET .*files/work/none"):
        await _call(jsl_fetch, files, "get", "files", "work/none")
    with jsl_expect_log(r"416 GET .*files/"):
        await _call(jsl_fetch, files, "get", "files", "work/a.ipynb", headers={"Range": "bytes=99999-"})


async def test_events_and_nbconvert_responses_match_schemas(jsl_fetch, jsl_expect_log, jsl_dirs, monkeypatch):
    import nbformat
    from test_nbconvert import NBCONVERT_DATA

    monkeypatch.setenv("JUPYTER_PATH", NBCONVERT_DATA)  # nbconvert's templates, outside the isolated data folders

    event = {"schema_id": "https://events.jupyter.org/jupyter_server/contents_service/v1", "version": "1"}
    await _call(
        jsl_fetch, "/api/events", "post", "api", "events", body={**event, "data": {"action": "get", "path": ""}}
    )
    with jsl_expect_log(r"400 POST .*/api/events"):
        await _call(jsl_fetch, "/api/events", "post", "api", "events", body={**event, "data": {"action": "nope"}})
    with jsl_expect_log(r"400 GET .*/api/events/subscribe"):
        await _call(jsl_fetch, "/api/events/subscribe", "get", "api", "events", "subscribe")
    await _call(jsl_fetch, "/api/nbconvert", "get", "api", "nbconvert")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# hi")])
    nbformat.write(nb, str(jsl_dirs.root / "a.ipynb"))
    one, post = "/nbconvert/{format}/{path}", "/nbconvert/{format}"
    await _call(jsl_fetch, one, "get", "nbconvert", "html", "a.ipynb")
    await _call(jsl_fetch, post, "post", "nbconvert", "script", body={"content": json.loads(nbformat.writes(nb))})
    for parts, status in ((("nope", "a.ipynb"), 400), (("html", "none.ipynb"), 404)):
        with jsl_expect_log(rf"{status} GET .*/nbconvert/"):
            await _call(jsl_fetch, one, "get", "nbconvert", *parts)
    with jsl_expect_log(r"400 POST .*/nbconvert/html"):
        await _call(jsl_fetch, post, "post", "nbconvert", "html", body={"content": []})


async def test_terminal_and_config_responses_match_schemas(jsl_server_factory, jsl_fetch, jsl_expect_log, jsl_dirs):
    app = jsl_server_factory(config={"TerminalManager": {"shell_command": ["/bin/sh"]}}, start=False)
    await app.start_server()
    terminals = "/api/terminals"
    one = "/api/terminals/{terminal_name}"
    await _call(jsl_fetch, terminals, "post", "api", "terminals", body={"name": "t1"}, app=app)
    await _call(jsl_fetch, terminals, "get", "api", "terminals", app=app)
    await _call(jsl_fetch, one, "get", "api", "terminals", "t1", app=app)
    await _call(jsl_fetch, "/api/status", "get", "api", "status", app=app)
    with jsl_expect_log(r"409 POST .*/api/terminals"):
        await _call(jsl_fetch, terminals, "post", "api", "terminals", body={"name": "t1"}, app=app)
    with jsl_expect_log(r"400 POST .*/api/terminals"):
        await _call(jsl_fetch, terminals, "post", "api", "terminals", body={"cwd": "/"}, app=app)
    with jsl_expect_log(r"400 GET .*/terminals/websocket/t1"):
        await _call(jsl_fetch, "/terminals/websocket/{terminal_name}", "get", "terminals", "websocket", "t1", app=app)
    await _call(jsl_fetch, one, "delete", "api", "terminals", "t1", app=app)
    with jsl_expect_log(r"404 DELETE .*/api/terminals/t1"):
        await _call(jsl_fetch, one, "delete", "api", "terminals", "t1", app=app)
    with jsl_expect_log(r"404 GET .*/terminals/websocket/t1"):
        await _call(jsl_fetch, "/terminals/websocket/{terminal_name}", "get", "terminals", "websocket", "t1", app=app)

    section = "/api/config/{section_name}"
    await _call(jsl_fetch, section, "put", "api", "config", "notebook", body={"a": {"b": 1}}, app=app)
    await _call(jsl_fetch, section, "patch", "api", "config", "notebook", body={"a": {"c": 2}}, app=app)
    await _call(jsl_fetch, section, "get", "api", "config", "notebook", app=app)
    with jsl_expect_log(r"400 PUT .*/api/config/notebook"):
        await _call(jsl_fetch, section, "put", "api", "config", "notebook", body="[1]", app=app)
    with jsl_expect_log(r"400 GET .*/api/config/\.\."):
        await _call(jsl_fetch, section, "get", "api", "config", "..", app=app)
    jsl_dirs.write_config("user", "serverconfig/broken.json", "{")
    with (
        jsl_expect_log(r"409 PATCH .*/api/config/broken"),
        jsl_expect_log(r"broken\.json: invalid JSON", logging.ERROR),
    ):
        await _call(jsl_fetch, section, "patch", "api", "config", "broken", body={}, app=app)
        await _call(jsl_fetch, section, "get", "api", "config", "broken", app=app)
