"""bundled/events: the event bus, POST /api/events, the subscribe websocket, contents events, JupyterLab's client."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pathlib
import re
import socket
import struct
import subprocess
import sys
from typing import Any, ClassVar

import pytest
from support import wait_for
from test_jupyterlab_services import CLIENT_TIMEOUT, JS_DIR, NPM_INSTALL_TIMEOUT, node_client, run_client
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import default

from jupyter_server_lite import ExtensionAPIHandler, ExtensionApp
from jupyter_server_lite.bundled.events import CONTENTS_SCHEMA_ID, EventsApp
from jupyter_server_lite.bundled.events.logger import EventLogger
from jupyter_server_lite.bundled.events.schema import EventError

__all__ = ["node_client"]  # the fixture, shared with test_jupyterlab_services

CONTENTS = {"schema_id": CONTENTS_SCHEMA_ID, "version": "1"}
MESSAGE_SCHEMA = {
    "$id": "https://events.example.org/jsl-test/message/v1",
    "version": "1",
    "title": "A test message",
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string"},
        "count": {"type": "integer", "minimum": 0},
        "when": {"type": "string", "format": "date-time"},
        "flavour": {"type": "string", "format": "no-such-format"},
    },
    "additionalProperties": False,
}


def events_app(serverapp) -> EventsApp:
    record = serverapp.extension_manager.get("events")
    assert record is not None and record.state == "loaded", record
    return record.apps[0]


def body(response) -> Any:
    return json.loads(response.body)


async def next_event(ws, timeout: float = 10) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.read_message(), timeout)
    assert message is not None, "the subscription closed"
    return json.loads(message)


async def started(factory, **kwargs: Any):
    """A server from ``jsl_server_factory``, started on the running loop (an async test's)."""
    app = factory(start=False, **kwargs)
    await app.start_server()
    return app


async def subscribe(jsl_ws_connect, app=None):
    """A subscriber, connected once the server has it (so no event can be missed)."""
    ws = await jsl_ws_connect("api", "events", "subscribe", app=app)
    return ws


# -- the bus: schemas, emit, listeners ------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"version": "1", "properties": {}}, "needs '$id'"),
        ({"$id": "not a uri", "version": "1", "properties": {}}, "is not an absolute URI"),
        ({"$id": "relative/name", "version": "1", "properties": {}}, "is not an absolute URI"),
        ({"$id": "urn:x:y", "properties": {}}, "needs 'version'"),
        ({"$id": "urn:x:y", "version": 1.5, "properties": {}}, "needs 'version'"),
        ({"$id": "urn:x:y", "version": "1"}, "needs 'properties'"),
        ({"$id": "urn:x:y", "version": "1", "title": 3, "properties": {}}, "'title' must be a string"),
        ({"$id": "urn:x:y", "version": "1", "properties": {"__x": {}}}, "properties.__x starts with '__'"),
        (
            {"$id": "urn:x:y", "version": "1", "properties": {"a": {"properties": {"__deep": {}}}}},
            "properties.a.properties.__deep starts with '__'",
        ),
    ],
)
def test_a_schema_jupyter_events_refuses_is_refused(schema, problem):
    with pytest.raises(EventError, match=re.escape(problem)):
        EventLogger().register_event_schema(schema)


def test_schemas_from_files_and_text(tmp_path):
    logger = EventLogger()
    json_file = tmp_path / "message.json"
    json_file.write_text(json.dumps(MESSAGE_SCHEMA))
    assert logger.register_event_schema(json_file).version == "1"
    yaml_file = tmp_path / "other.yaml"  # Jupyter Server's own schema files are YAML
    yaml_file.write_text("$id: urn:jsl:other\nversion: 2\nproperties:\n  name:\n    type: string\n")
    other = logger.register_event_schema(yaml_file)
    assert (other.id, other.version, other.properties) == ("urn:jsl:other", "2", {"name": {"type": "string"}})
    assert (
        logger.register_event_schema('{"$id": "urn:jsl:text", "version": "1", "properties": {}}').id == "urn:jsl:text"
    )
    assert sorted(logger.schemas) == [MESSAGE_SCHEMA["$id"], "urn:jsl:other", "urn:jsl:text"]
    with pytest.raises(EventError, match="is registered already"):
        logger.register_event_schema(MESSAGE_SCHEMA)
    with pytest.raises(EventError, match=r"looks like a file name: pass the file as pathlib.Path"):
        logger.register_event_schema(str(json_file))
    with pytest.raises(EventError, match=r"cannot read the event schema file .*nope\.json"):
        logger.register_event_schema(tmp_path / "nope.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(EventError, match=r"broken\.json is not valid JSON"):
        logger.register_event_schema(tmp_path / "broken.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(EventError, match="must be a mapping"):
        logger.register_event_schema(tmp_path / "list.json")


def test_emit_validates_every_time_with_draft_7_semantics():
    logger = EventLogger()
    logger.register_event_schema(MESSAGE_SCHEMA)
    schema_id = MESSAGE_SCHEMA["$id"]
    capsule = logger.emit(schema_id=schema_id, data={"text": "hi", "count": 2, "flavour": "anything"})
    assert capsule["text"] == "hi" and capsule["__schema__"] == schema_id and capsule["__schema_version__"] == "1"
    assert capsule["__metadata_version__"] == 1 and capsule["__timestamp__"].endswith("Z")
    for data, problem in (
        ({}, "data must contain \\['text'\\]"),
        ({"text": 3}, "data.text must be string"),
        ({"text": "a", "count": -1}, "data.count must be bigger than or equal to 0"),
        ({"text": "a", "when": "yesterday"}, "data.when must be date-time"),
        ({"text": "a", "extra": 1}, "data must not contain {'extra'} properties"),
    ):
        with pytest.raises(EventError, match=f"event data does not match schema {schema_id} version 1: {problem}"):
            logger.emit(schema_id=schema_id, data=data)
    with pytest.raises(EventError, match=r"unknown event schema 'urn:nope' \(registered: https://"):
        logger.emit(schema_id="urn:nope", data={})
    with pytest.raises(EventError, match="event data must be a JSON object, not list"):
        logger.emit(schema_id=schema_id, data=[])  # type: ignore[arg-type]  # the wrong type is the point


def test_remote_references_are_refused_not_fetched():
    logger = EventLogger()
    logger.register_event_schema(
        {"$id": "urn:jsl:remote", "version": "1", "properties": {"a": {"$ref": "http://127.0.0.1:9/schema.json"}}}
    )
    with pytest.raises(EventError, match="may not refer to other documents"):
        logger.emit(schema_id="urn:jsl:remote", data={"a": 1})
    logger.register_event_schema({"$id": "urn:jsl:bad", "version": "1", "properties": {"a": {"type": "nonsense"}}})
    with pytest.raises(EventError, match="urn:jsl:bad is not a valid JSON Schema"):
        logger.emit(schema_id="urn:jsl:bad", data={"a": 1})


async def test_listeners_sync_and_async_and_their_failures(jsl_serverapp, jsl_expect_log):
    logger = jsl_serverapp.event_logger
    logger.register_event_schema(MESSAGE_SCHEMA)
    heard: list[tuple[str, str, Any]] = []

    def sync(*, logger, schema_id, data):
        heard.append(("sync", schema_id, dict(data)))
        data["text"] = "changed by a listener"  # listeners get their own copy

    async def later(*, logger, schema_id, data):
        await asyncio.sleep(0)
        heard.append(("async", schema_id, dict(data)))

    def broken(**kwargs):
        raise RuntimeError("listener bug")

    async def broken_later(**kwargs):
        raise RuntimeError("async listener bug")

    logger.add_listener(schema_id=MESSAGE_SCHEMA["$id"], listener=sync)
    logger.add_listener(listener=later)  # every schema, this one registered already or not
    logger.add_listener(schema_id=MESSAGE_SCHEMA["$id"], listener=broken)
    logger.add_listener(schema_id=MESSAGE_SCHEMA["$id"], listener=broken_later)
    data = {"text": "hello"}
    with (
        jsl_expect_log(r"Event listener .*broken failed on an event of https://events.example.org", logging.ERROR),
        jsl_expect_log(r"event listener .*broken_later .* failed: async listener bug", logging.ERROR),
    ):
        logger.emit(schema_id=MESSAGE_SCHEMA["$id"], data=data)
        await logger.gather_listeners()
    assert data == {"text": "hello"}
    assert heard == [
        ("sync", MESSAGE_SCHEMA["$id"], {"text": "hello"}),
        ("async", MESSAGE_SCHEMA["$id"], {"text": "hello"}),
    ]
    for listener in (sync, later, broken, broken_later):
        logger.remove_listener(listener=listener)
    logger.remove_listener(listener=sync)  # not there any more: ignored
    logger.emit(schema_id=MESSAGE_SCHEMA["$id"], data=data)
    await logger.gather_listeners()
    assert len(heard) == 2
    with pytest.raises(TypeError, match="must be callable"):
        logger.add_listener(listener="not a function")  # type: ignore[arg-type]  # the wrong type is the point


def test_the_event_logger_needs_the_events_service(jsl_server_factory):
    app = jsl_server_factory(
        config={"ServerApp": {"jpserver_extensions": {"jupyter_server_lite.bundled.events": False}}}
    )
    with pytest.raises(RuntimeError, match="no events service"):
        app.event_logger  # noqa: B018


# -- POST /api/events ----------------------------------------------------------------------


async def test_a_posted_event_reaches_every_subscriber(jsl_fetch, jsl_ws_connect, jsl_serverapp):
    first, second = await subscribe(jsl_ws_connect), await subscribe(jsl_ws_connect)
    await wait_for(lambda: len(events_app(jsl_serverapp).subscribers) == 2)
    event = {**CONTENTS, "data": {"action": "save", "path": "notes/a.txt"}}
    r = await jsl_fetch("api", "events", method="POST", body=event)
    assert r.code == 204 and r.body == b""
    expected = {"schema_id": CONTENTS_SCHEMA_ID, "action": "save", "path": "notes/a.txt"}
    assert await next_event(first) == expected and await next_event(second) == expected
    # Jupyter Server's timestamp form, an integer version (compared as text), and an ISO one with Z
    for timestamp, version in (("2022-05-26T12:50:00+06:00Z", 1), ("2022-05-26T06:50:00Z", "1")):
        event = {**CONTENTS, "version": version, "data": {"action": "get", "path": ""}, "timestamp": timestamp}
        assert (await jsl_fetch("api", "events", method="POST", body=event)).code == 204
        assert await next_event(first) == {"schema_id": CONTENTS_SCHEMA_ID, "action": "get", "path": ""}


BAD_POSTS = [
    ("", "No JSON data provided"),
    ("{", "Request body is not valid JSON"),
    ([], "Request body must be a JSON object, not list"),
    ({"version": "1", "data": {}}, "Missing field in JSON data: schema_id"),
    ({"schema_id": CONTENTS_SCHEMA_ID, "data": {}}, "Missing field in JSON data: version"),
    ({**CONTENTS}, "Missing field in JSON data: data"),
    ({**CONTENTS, "schema_id": 5, "data": {}}, "Field 'schema_id' must be a string, not int"),
    ({**CONTENTS, "data": "save"}, "Field 'data' must be a JSON object, not str"),
    (
        {**CONTENTS, "schema_id": "https://nope.example/v1", "data": {}},
        "Unknown event schema 'https://nope.example/v1'",
    ),
    (
        {**CONTENTS, "version": 2, "data": {"action": "get", "path": ""}},
        "Version 2 of event schema .* is not registered",
    ),
    (
        {**CONTENTS, "data": {"action": "explode", "path": ""}},
        r"Event data does not match schema .* version 1: data.action must be one of \['get', ",
    ),
    ({**CONTENTS, "data": {"action": "get"}}, r"data must contain \['path'\] properties"),
    ({**CONTENTS, "data": {"action": "get", "path": 3}}, "data.path must be string"),
    ({**CONTENTS, "data": {"action": "get", "path": ""}, "timestamp": "2022-05-26 12:50"}, "Field 'timestamp' must be"),
    ({**CONTENTS, "data": {"action": "get", "path": ""}, "timestamp": 7}, "Field 'timestamp' must be"),
]


@pytest.mark.parametrize(("payload", "message"), BAD_POSTS)
async def test_a_bad_event_is_a_precise_400_and_reaches_nobody(
    jsl_fetch, jsl_ws_connect, jsl_serverapp, jsl_expect_log, payload, message
):
    ws = await subscribe(jsl_ws_connect)
    await wait_for(lambda: events_app(jsl_serverapp).subscribers)
    with jsl_expect_log(r"400 POST .*/api/events"):
        r = await jsl_fetch("api", "events", method="POST", body=payload, raise_error=False)
    assert r.code == 400 and r.headers["Content-Type"].startswith("application/json")
    assert body(r)["reason"] == "Bad Request"
    assert re.search(message, body(r)["message"]), body(r)["message"]
    good = {**CONTENTS, "data": {"action": "delete", "path": "after"}}
    await jsl_fetch("api", "events", method="POST", body=good)
    assert (await next_event(ws))["path"] == "after", "the bad event was never sent"


async def test_an_event_bigger_than_a_subscriber_may_queue_is_413(jsl_server_factory, jsl_fetch, jsl_expect_log):
    app = await started(jsl_server_factory, config={"EventsApp": {"subscriber_buffer_bytes": 2048}})
    event = {**CONTENTS, "data": {"action": "save", "path": "x" * 3000}}
    with jsl_expect_log(r"413 POST .*/api/events"):
        r = await jsl_fetch("api", "events", method="POST", body=event, app=app, raise_error=False)
    assert r.code == 413 and "events are at most 2048 (EventsApp.subscriber_buffer_bytes)" in body(r)["message"]
    chunked = (json.dumps(event).encode()[i : i + 1000] for i in range(0, 4000, 1000))  # no Content-Length

    async def producer(write):
        for chunk in chunked:
            await write(chunk)

    request = HTTPRequest(
        f"http://127.0.0.1:{app.actual_port}{app.base_url}api/events",
        method="POST",
        body_producer=producer,
        headers={"Authorization": f"token {app.identity_provider.token}"},
    )
    with jsl_expect_log(r"413 POST .*/api/events"):
        r = await AsyncHTTPClient().fetch(request, raise_error=False)
    assert r.code == 413 and "The event is 3134 bytes" in body(r)["message"]


async def test_posting_needs_credentials_and_the_xsrf_token_with_a_cookie(jsl_fetch, jsl_serverapp, jsl_expect_log):
    from test_auth import cookie_session

    event = {**CONTENTS, "data": {"action": "get", "path": ""}}
    with jsl_expect_log(r"403 POST .*/api/events"):
        r = await jsl_fetch("api", "events", method="POST", body=event, authenticated=False, raise_error=False)
    assert r.code == 403 and "Authentication required" in body(r)["message"]
    cookies, xsrf = await cookie_session(jsl_fetch, jsl_serverapp)  # a browser's login
    as_browser = {"authenticated": False, "raise_error": False}
    with jsl_expect_log(r"403 POST .*/api/events.*XSRF"):
        r = await jsl_fetch("api", "events", method="POST", body=event, headers={"Cookie": cookies}, **as_browser)
    assert r.code == 403
    headers = {"Cookie": cookies, "X-XSRFToken": xsrf}
    assert (await jsl_fetch("api", "events", method="POST", body=event, headers=headers, **as_browser)).code == 204
    with jsl_expect_log(r"405 GET .*/api/events"):
        r = await jsl_fetch("api", "events", raise_error=False)
    assert r.code == 405 and body(r)["reason"] == "Method Not Allowed"


# -- the subscribe websocket ---------------------------------------------------------------


async def test_subscribing_needs_credentials_a_trusted_origin_and_an_upgrade(
    jsl_ws_connect, jsl_fetch, jsl_serverapp, jsl_expect_log
):
    with jsl_expect_log(r"403 GET .*/api/events/subscribe"), pytest.raises(HTTPClientError) as anonymous:
        await jsl_ws_connect("api", "events", "subscribe", authenticated=False)
    assert anonymous.value.code == 403
    with jsl_expect_log(r"403 GET .*/api/events/subscribe.*Cross-origin"), pytest.raises(HTTPClientError) as foreign:
        await jsl_ws_connect("api", "events", "subscribe", headers={"Origin": "https://evil.example"})
    assert foreign.value.code == 403
    with jsl_expect_log(r"400 GET .*/api/events/subscribe"):
        r = await jsl_fetch("api", "events", "subscribe", raise_error=False)
    assert r.code == 400 and "needs 'Upgrade: websocket'" in body(r)["message"]
    assert events_app(jsl_serverapp).subscribers == set()
    same_origin = f"http://127.0.0.1:{jsl_serverapp.actual_port}"
    ws = await jsl_ws_connect("api", "events", "subscribe", headers={"Origin": same_origin})
    await wait_for(lambda: events_app(jsl_serverapp).subscribers)
    ws.write_message("ignored")  # subscribers only listen
    ws.close()
    await wait_for(lambda: not events_app(jsl_serverapp).subscribers)


async def test_a_browser_subscribes_with_its_login_cookie(jsl_fetch, jsl_ws_connect, jsl_serverapp):
    from test_auth import cookie_session

    cookies, _xsrf = await cookie_session(jsl_fetch, jsl_serverapp)
    origin = f"http://127.0.0.1:{jsl_serverapp.actual_port}"
    ws = await jsl_ws_connect(
        "api", "events", "subscribe", authenticated=False, headers={"Cookie": cookies, "Origin": origin}
    )
    await wait_for(lambda: events_app(jsl_serverapp).subscribers)
    await jsl_fetch("api", "events", method="POST", body={**CONTENTS, "data": {"action": "get", "path": "c"}})
    assert (await next_event(ws))["path"] == "c"


async def test_subscribers_are_pinged(jsl_server_factory, jsl_ws_connect):
    app = await started(jsl_server_factory, config={"EventsApp": {"ping_interval": 0.05}})
    ws = await subscribe(jsl_ws_connect, app=app)
    pings: list[bytes] = []
    ws.on_ping = pings.append  # tornado's client answers each with a pong by itself
    await wait_for(lambda: len(pings) >= 3, timeout=10, interval=0.02)
    assert len(events_app(app).subscribers) == 1  # answered pings keep it subscribed


async def test_an_allowed_cross_origin_may_subscribe(jsl_server_factory, jsl_ws_connect):
    app = await started(jsl_server_factory, config={"ServerApp": {"allow_origin": "https://lab.example"}})
    await jsl_ws_connect("api", "events", "subscribe", headers={"Origin": "https://lab.example"}, app=app)
    await wait_for(lambda: events_app(app).subscribers)


async def test_contents_changes_are_emitted_through_the_listener_seam(
    jsl_fetch, jsl_ws_connect, jsl_serverapp, jsl_dirs
):
    """Real files through the real contents service; the events are Jupyter Server's."""
    ws = await subscribe(jsl_ws_connect)
    await wait_for(lambda: events_app(jsl_serverapp).subscribers)
    api = ("api", "contents")
    await jsl_fetch(*api, "notes.txt", method="PUT", body={"type": "file", "format": "text", "content": "v1"})
    await jsl_fetch(*api, "notes.txt", method="PATCH", body={"path": "renamed.txt"})
    await jsl_fetch(*api, "", method="POST", body={"copy_from": "renamed.txt"})
    await jsl_fetch(*api, "renamed.txt")
    await jsl_fetch(*api, "renamed.txt", method="DELETE")
    seen = [await next_event(ws) for _ in range(6)]
    assert {e["schema_id"] for e in seen} == {CONTENTS_SCHEMA_ID}
    assert [{k: v for k, v in e.items() if k != "schema_id"} for e in seen] == [
        {"action": "save", "path": "notes.txt"},
        {"action": "rename", "path": "renamed.txt", "source_path": "notes.txt"},
        {"action": "get", "path": "renamed.txt"},  # the PATCH answers with the new model, as in Jupyter Server
        {"action": "copy", "path": "renamed-Copy1.txt", "source_path": "renamed.txt"},
        {"action": "get", "path": "renamed.txt"},
        {"action": "delete", "path": "renamed.txt"},
    ]
    assert sorted(p.name for p in jsl_dirs.root.iterdir()) == ["renamed-Copy1.txt"]


async def test_contents_events_stop_with_the_server(jsl_server_factory, jsl_dirs):
    app = await started(jsl_server_factory)
    contents = app.contents_manager
    heard = []
    app.event_logger.add_listener(listener=lambda **kw: heard.append(kw["data"]["action"]))
    await contents.save({"type": "file", "format": "text", "content": "x"}, "a.txt")
    assert heard == ["save"]
    await app.stop_server()
    await contents.delete("a.txt")
    assert heard == ["save"], "a stopped server's events service no longer listens"


async def test_the_bus_hears_the_service_only_while_someone_subscribes(jsl_serverapp, jsl_ws_connect):
    """So a server nobody watches builds no contents event per request (EventLogger.listened)."""
    logger = jsl_serverapp.event_logger
    assert not logger.listened(CONTENTS_SCHEMA_ID)
    ws = await subscribe(jsl_ws_connect)
    await wait_for(lambda: events_app(jsl_serverapp).subscribers)
    assert logger.listened(CONTENTS_SCHEMA_ID) and logger.listened("urn:any:schema")
    ws.close()
    await wait_for(lambda: not events_app(jsl_serverapp).subscribers)
    assert not logger.listened(CONTENTS_SCHEMA_ID)

    def own(**kwargs: Any) -> None:
        pass

    logger.add_listener(schema_id=CONTENTS_SCHEMA_ID, listener=own)
    assert logger.listened(CONTENTS_SCHEMA_ID) and not logger.listened("urn:any:schema")
    logger.remove_listener(schema_id=CONTENTS_SCHEMA_ID, listener=own)
    assert not logger.listened(CONTENTS_SCHEMA_ID)


async def test_without_a_contents_service_events_still_work(jsl_server_factory, jsl_fetch, jsl_ws_connect):
    off = {"jupyter_server_lite.bundled.contents": False, "jupyter_server_lite.bundled.files": False}
    app = await started(jsl_server_factory, config={"ServerApp": {"jpserver_extensions": off}})
    with pytest.raises(RuntimeError, match="no contents service"):
        app.contents_manager  # noqa: B018
    ws = await subscribe(jsl_ws_connect, app=app)
    await wait_for(lambda: events_app(app).subscribers)
    event = {**CONTENTS, "data": {"action": "get", "path": "elsewhere"}}  # a client's, or another provider's
    assert (await jsl_fetch("api", "events", method="POST", body=event, app=app)).code == 204
    assert (await next_event(ws))["path"] == "elsewhere"


# -- an extension's own events -------------------------------------------------------------


class EmitHandler(ExtensionAPIHandler):
    def post(self) -> None:
        capsule = self.serverapp.event_logger.emit(
            schema_id=MESSAGE_SCHEMA["$id"], data={"text": self.get_json_object()["text"]}
        )
        self.finish_json({"timestamp": capsule["__timestamp__"]})


class EmitterApp(ExtensionApp):
    """What a Jupyter Server extension does: register its schema file, emit from a handler."""

    name = "emitter"
    handlers = [("/say", EmitHandler)]
    schema_file: ClassVar[pathlib.Path]  # in a package: pathlib.Path(__file__).parent / "message.json"

    @default("extension_url")
    def _no_landing(self) -> str:
        return ""

    def initialize_settings(self) -> None:
        self.serverapp.event_logger.register_event_schema(self.schema_file)


async def test_an_extension_registers_its_schema_and_emits_from_a_request(
    jsl_server_factory, jsl_fetch, jsl_ws_connect, tmp_path
):
    (tmp_path / "message.json").write_text(json.dumps(MESSAGE_SCHEMA))

    class App(EmitterApp):
        schema_file = tmp_path / "message.json"

    app = await started(jsl_server_factory, extensions=[App])
    ws = await subscribe(jsl_ws_connect, app=app)
    await wait_for(lambda: events_app(app).subscribers)
    r = await jsl_fetch("extension", "api", "emitter", "say", method="POST", body={"text": "from a request"}, app=app)
    assert body(r)["timestamp"].endswith("Z")
    assert await next_event(ws) == {"schema_id": MESSAGE_SCHEMA["$id"], "text": "from a request"}
    posted = {"schema_id": MESSAGE_SCHEMA["$id"], "version": "1", "data": {"text": "posted", "count": 1}}
    assert (await jsl_fetch("api", "events", method="POST", body=posted, app=app)).code == 204
    assert await next_event(ws) == {"schema_id": MESSAGE_SCHEMA["$id"], "text": "posted", "count": 1}


async def test_the_services_doc_example_emits(jsl_server_factory, jsl_fetch, jsl_ws_connect, tmp_path, monkeypatch):
    """docs/services.md, "Emitting from an extension": its schema and module, run as a package."""
    doc = (pathlib.Path(__file__).parents[1] / "docs" / "services.md").read_text()
    section = doc.split("### Emitting from an extension", 1)[1].split("\n### ", 1)[0]
    package = tmp_path / "my_app"
    package.mkdir()
    (package / "greeting.json").write_text(re.search(r"```json\n(.*?)```", section, re.S).group(1))
    (package / "__init__.py").write_text(re.search(r"```python\n(.*?)```", section, re.S).group(1))
    monkeypatch.syspath_prepend(str(tmp_path))
    app = await started(jsl_server_factory, extensions=["my_app"])
    assert app.extension_manager.get("my_app").state == "loaded", app.extension_manager.get("my_app").error
    ws = await subscribe(jsl_ws_connect, app=app)
    await wait_for(lambda: events_app(app).subscribers)
    r = await jsl_fetch("extension", "api", "my_app", "greet", method="POST", body={"name": "Ada"}, app=app)
    assert r.code == 204
    received = await next_event(ws)
    assert received == {"schema_id": "https://events.example.org/my_app/greeting/v1", "name": "Ada"}
    promised = re.search(r"A subscriber then receives `(.*?)`", section, re.S).group(1)
    assert json.loads(promised.replace("\n", " ")) == received


# -- a slow subscriber ---------------------------------------------------------------------


async def raw_subscriber(app) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A websocket client at the TCP level that reads nothing until told: a tiny receive buffer,
    an asyncio reader that stops reading from the socket once 1 KiB waits in it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", app.actual_port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
    writer.write(
        (
            f"GET {app.base_url}api/events/subscribe HTTP/1.1\r\nHost: 127.0.0.1:{app.actual_port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: token {app.identity_provider.token}\r\n\r\n"
        ).encode()
    )
    status = await reader.readuntil(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 101"), status
    return reader, writer


async def read_frames(reader: asyncio.StreamReader) -> tuple[int, tuple[int, str] | None]:
    """Read server frames to the end: ``(text messages, (close code, reason) or None)``."""
    texts = 0
    while True:
        try:
            head = await asyncio.wait_for(reader.readexactly(2), 10)
        except asyncio.IncompleteReadError:
            return texts, None
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await reader.readexactly(8))
        payload = await reader.readexactly(length)
        if opcode == 0x8:
            return texts, (struct.unpack("!H", payload[:2])[0], payload[2:].decode())
        texts += opcode == 0x1


async def test_a_subscriber_that_does_not_read_is_cut_off_not_buffered(
    jsl_server_factory, jsl_ws_connect, jsl_expect_log
):
    limit = 64 * 1024
    app = await started(
        jsl_server_factory, config={"EventsApp": {"subscriber_buffer_bytes": limit, "ping_interval": 0}}
    )
    service = events_app(app)
    fast = await subscribe(jsl_ws_connect, app=app)
    await wait_for(lambda: len(service.subscribers) == 1)
    fast_handler = next(iter(service.subscribers))
    reader, writer = await raw_subscriber(app)
    await wait_for(lambda: len(service.subscribers) == 2)
    (slow,) = service.subscribers - {fast_handler}
    data = {"action": "save", "path": "p" * 1000}
    sent = 0
    with jsl_expect_log(r"Events subscriber 127.0.0.1 cut off: it has not read \d+ bytes of events"):
        while slow in service.subscribers:
            assert sent < 20_000, "20 MB of events and the slow subscriber is still queued"
            for _ in range(16):
                app.event_logger.emit(schema_id=CONTENTS_SCHEMA_ID, data=data)
            sent += 16
            assert slow._pending_bytes <= limit
            for _ in range(16):  # the fast one reads each batch: it keeps up, and stays
                assert (await next_event(fast))["path"] == data["path"]
    assert service.subscribers == {fast_handler}
    texts, close = await read_frames(reader)  # now it reads: what was queued, then the reason
    assert close == (1008, f"too slow: more than {limit} bytes of events unread")
    assert 0 < texts < sent
    writer.close()
    # the fast one still hears everything
    app.event_logger.emit(schema_id=CONTENTS_SCHEMA_ID, data={"action": "get", "path": "still here"})
    assert (await next_event(fast))["path"] == "still here"


async def test_stopping_the_server_closes_its_subscribers(jsl_server_factory, jsl_ws_connect):
    app = await started(jsl_server_factory)
    ws = await subscribe(jsl_ws_connect, app=app)
    await wait_for(lambda: events_app(app).subscribers)
    await app.stop_server()
    assert await asyncio.wait_for(ws.read_message(), 10) is None
    assert ws.close_code == 1001 and ws.close_reason == "the server is stopping"


# -- start-up stays light --------------------------------------------------------------------

STARTUP_PROBE = """
import asyncio, json, sys
from tornado.httpclient import AsyncHTTPClient
from jupyter_server_lite.bundled.events import CONTENTS_SCHEMA_ID
from jupyter_server_lite.serverapp import ServerApp

HEAVY = ("jsonschema", "jupyter_events", "fastjsonschema", "nbconvert", "yaml")

def loaded():
    return sorted(m for m in HEAVY if m in sys.modules)

async def main():
    app = ServerApp()
    app.initialize(sys.argv[1:])
    await app.start_server()
    out = {"started": loaded(), "loaded": [r.name for r in app.extension_manager.records if r.state == "loaded"]}
    headers = {"Authorization": "token probe"}
    await AsyncHTTPClient().fetch(f"http://127.0.0.1:{app.actual_port}/api/contents/", headers=headers)
    out["listed"] = loaded()  # announced, but nobody listens: no event built
    url = f"http://127.0.0.1:{app.actual_port}/api/events"
    event = {"schema_id": CONTENTS_SCHEMA_ID, "version": "1", "data": {"action": "get", "path": ""}}
    r = await AsyncHTTPClient().fetch(url, method="POST", body=json.dumps(event), headers=headers)
    out["emitted"] = [r.code, loaded()]
    await app.stop_server()
    print(json.dumps(out))

asyncio.run(main())
"""


def test_a_server_start_imports_no_validator_and_no_nbconvert(jsl_dirs):
    """In a fresh process: neither jsonschema, jupyter_events nor nbconvert come with a start, nor
    with a contents read nobody listens to; the validator (fastjsonschema, never jsonschema) comes
    with the first event emitted."""
    argv = [
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.open_browser=False",
        "--IdentityProvider.token=probe",
        f"--ServerApp.root_dir={jsl_dirs.root}",
    ]
    proc = subprocess.run([sys.executable, "-c", STARTUP_PROBE, *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"events", "nbconvert_service", "contents"} <= set(out["loaded"])
    assert out["started"] == [] and out["listed"] == []
    assert out["emitted"] == [204, ["fastjsonschema"]]


# -- JupyterLab's own client -----------------------------------------------------------------


@pytest.mark.timeout(CLIENT_TIMEOUT + NPM_INSTALL_TIMEOUT)
async def test_jupyterlab_event_manager(node_client, jsl_serverapp, jsl_expect_log):
    """@jupyterlab/services' EventManager (tests/js/events.mjs): subscribe, emit, receive; one socket throughout."""
    assert os.path.exists(JS_DIR / "events.mjs")
    with jsl_expect_log(r"400 POST .*/api/events"):
        out = await run_client([node_client[0], str(JS_DIR / "events.mjs")], jsl_serverapp)
    assert out["emitted"] == {"schema_id": CONTENTS_SCHEMA_ID, "action": "save", "path": "from-lab.txt"}
    assert out["contents_events"] == [
        {"schema_id": CONTENTS_SCHEMA_ID, "action": "save", "path": "lab-notes.txt"},
        {
            "schema_id": CONTENTS_SCHEMA_ID,
            "action": "rename",
            "path": "lab-renamed.txt",
            "source_path": "lab-notes.txt",
        },
        {"schema_id": CONTENTS_SCHEMA_ID, "action": "get", "path": "lab-renamed.txt"},
        {"schema_id": CONTENTS_SCHEMA_ID, "action": "delete", "path": "lab-renamed.txt"},
    ]
    assert out["refused"]["status"] == 400 and "data.action must be one of" in out["refused"]["message"]
    assert out["sockets_opened"] == 1, "the subscription stayed open: no reconnection"
    await wait_for(lambda: not events_app(jsl_serverapp).subscribers)  # disposed: the server let it go
