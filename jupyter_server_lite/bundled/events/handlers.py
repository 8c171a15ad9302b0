"""``POST /api/events`` and the ``/api/events/subscribe`` websocket, as Jupyter Server speaks them.

``POST /api/events`` takes ``{"schema_id", "version", "data"[, "timestamp"]}``
and emits it through the events app's :class:`~.logger.EventLogger`: ``204``
when delivered, a ``400`` naming the problem otherwise (a missing field, an
unknown schema, another version, data that breaks the schema, a bad
timestamp) and a ``413`` for a body bigger than a subscriber may queue.

``/api/events/subscribe`` is authenticated, Host- and Origin-checked before
the upgrade, like every API route; a plain ``GET`` without ``Upgrade`` is a
JSON ``400``.  After it, every event emitted on the server arrives as one
text message, ``{"schema_id": ..., **data}`` -- what Jupyter Server sends
and JupyterLab's ``EventManager`` reads.  What the client sends is ignored.

A subscriber that does not read is cut off, never buffered without bound:
each connection keeps at most ``EventsApp.subscriber_buffer_bytes`` of
messages the network has not taken yet (the futures of ``write_message``
tell which); an event that would go past that closes the connection with
code 1008 and a reason saying so, and one WARNING line.  The bytes already
queued then drain or are dropped when tornado gives up on the close
handshake (5 s); the connection's memory is bounded by the limit either way.
"""

from __future__ import annotations

import collections
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ...extension.handler import ExtensionAPIHandler
from ...web.bodies import declared_body
from .schema import EventError

if TYPE_CHECKING:
    from asyncio import Future

    from . import EventsApp

#: The WebSocket close code for a subscriber cut off for not reading (RFC 6455: policy violation).
SLOW_SUBSCRIBER_CODE = 1008


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 time with a UTC offset (``2022-05-26T13:50:00+05:00`` or ``...Z``).

    Jupyter Server's own form, an offset followed by ``Z``
    (``2022-05-26T12:50:00+06:00Z``), is read too.  Anything else is a ``400``.
    """
    if isinstance(value, str):
        text = value[:-1] if value.endswith("Z") and len(value) > 6 and value[-7] in "+-" else value
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment
    raise web.HTTPError(
        400, f"Field 'timestamp' must be an ISO 8601 time with a UTC offset (2022-05-26T13:50:00+05:00), not {value!r}"
    )


class EventsHandler(ExtensionAPIHandler):
    """``POST /api/events``: emit one event (see the module docstring)."""

    @property
    def events_app(self) -> EventsApp:
        return self.extension_app  # type: ignore[return-value]  # mounted by EventsApp only

    async def prepare(self) -> None:
        """Refuse a declared body past the bound before reading it (a chunked one: once read)."""
        await super().prepare()
        length, _chunked = declared_body(self.request.headers)
        if length is not None:
            self.refuse_larger(length)

    def refuse_larger(self, size: int) -> None:
        limit = self.events_app.subscriber_buffer_bytes
        if size > limit:
            raise web.HTTPError(
                413, f"The event is {size} bytes; events are at most {limit} (EventsApp.subscriber_buffer_bytes)"
            )

    def post(self) -> None:
        self.refuse_larger(len(self.request.body))
        body = self.get_json_body()
        if body is None:
            raise web.HTTPError(400, 'No JSON data provided: send {"schema_id", "version", "data"}')
        if not isinstance(body, dict):
            raise web.HTTPError(400, f"Request body must be a JSON object, not {type(body).__name__}")
        for key in ("schema_id", "version", "data"):
            if key not in body:
                raise web.HTTPError(400, f"Missing field in JSON data: {key}")
        schema_id, version, data = body["schema_id"], body["version"], body["data"]
        if not isinstance(schema_id, str):
            raise web.HTTPError(400, f"Field 'schema_id' must be a string, not {type(schema_id).__name__}")
        if not isinstance(data, dict):
            raise web.HTTPError(400, f"Field 'data' must be a JSON object, not {type(data).__name__}")
        timestamp = parse_timestamp(body["timestamp"]) if "timestamp" in body else None
        logger = self.events_app.event_logger
        try:
            schema = logger.get_schema(schema_id)
            if str(version) != schema.version:
                raise EventError(
                    f"version {version!r} of event schema {schema_id} is not registered (version {schema.version!r} is)"
                )
            logger.emit(schema_id=schema_id, data=data, timestamp_override=timestamp)
        except EventError as err:
            raise web.HTTPError(400, str(err)[:1].upper() + str(err)[1:]) from err
        self.set_status(204)
        self.finish()


class SubscribeHandler(WebSocketHandler, ExtensionAPIHandler):
    """``/api/events/subscribe``: every event, as JSON text, to one client (see the module docstring)."""

    _pending: collections.deque[tuple[Future[None], int]]
    _pending_bytes = 0

    @property
    def events_app(self) -> EventsApp:
        return self.extension_app  # type: ignore[return-value]  # mounted by EventsApp only

    @property
    def ping_interval(self) -> float | None:
        return self.events_app.ping_interval or None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        if self.request.headers.get("Upgrade", "").lower() != "websocket":
            # tornado would answer in plain text; API errors are JSON
            raise web.HTTPError(400, "This is a websocket endpoint: the request needs 'Upgrade: websocket'")
        await super().get(*args, **kwargs)

    def check_origin(self, origin: str) -> bool:
        return self.origin_allowed(origin)

    def open(self, *args: Any, **kwargs: Any) -> None:
        self._pending = collections.deque()
        self.events_app.subscribe(self)

    def on_message(self, message: str | bytes) -> None:
        """Subscribers only listen; what they send is ignored, as in Jupyter Server."""

    def on_close(self) -> None:
        self.events_app.unsubscribe(self)

    def send_event(self, message: bytes) -> None:
        """Queue one event for this client, or cut it off if that would pass the bound."""
        pending = self._pending
        while pending and pending[0][0].done():
            self._pending_bytes -= pending.popleft()[1]
        limit = self.events_app.subscriber_buffer_bytes
        if self._pending_bytes + len(message) > limit:
            self.events_app.unsubscribe(self)
            self.log.warning(
                "Events subscriber %s cut off: it has not read %d bytes of events, and the next would pass "
                "EventsApp.subscriber_buffer_bytes (%d)",
                self.request.remote_ip,
                self._pending_bytes,
                limit,
            )
            self.close(SLOW_SUBSCRIBER_CODE, f"too slow: more than {limit} bytes of events unread")
            return
        try:
            future = self.write_message(message)
        except WebSocketClosedError:  # gone without a close handshake; on_close follows
            self.events_app.unsubscribe(self)
            return
        if not future.done():
            pending.append((future, len(message)))
            self._pending_bytes += len(message)


#: The routes, relative to the service's prefix ``api/events``.
ROUTES: list[tuple[str, type]] = [("", EventsHandler), ("/subscribe", SubscribeHandler)]
