"""The events service: ``POST /api/events``, the ``/api/events/subscribe`` websocket, and the event bus.

The bundled provider of the ``events`` service (``provides = ("events",)``),
mounted at the service's standard path and wire-compatible with Jupyter
Server's, so JupyterLab's ``EventManager`` keeps its subscription open here
instead of retrying every few seconds.  See ``docs/services.md``.

It owns the server's :class:`~.logger.EventLogger`,
``serverapp.event_logger``: extensions register their schemas there and
emit (``serverapp.event_logger.emit(schema_id=..., data=...)``, as with
Jupyter Server), and every event emitted reaches every subscriber.

Contents changes become events: once the server has started, the app adds
one listener to the active contents manager (``serverapp.contents_manager``,
whichever extension provides it) and emits each announcement --
``get``, ``save``, ``rename``, ``copy``, ``delete`` -- under Jupyter
Server's ``https://events.jupyter.org/jupyter_server/contents_service/v1``
schema, with the same data, whenever anyone listens (a subscriber, or a
listener in Python): every read is announced, and a server nobody watches
need not build an event per request.

Starting the server imports nothing beyond this package and tornado: the
validator (``fastjsonschema``) comes with the first event emitted.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from traitlets import Float, Instance, Integer, default

from ...extension.application import ExtensionApp
from ...extension.hooks import hookimpl
from ...extension.mount import Mount
from .handlers import ROUTES
from .logger import EventLogger
from .schema import EventError, EventSchema

if TYPE_CHECKING:
    from ...serverapp import ServerApp
    from .handlers import SubscribeHandler

#: Jupyter Server's schema of contents events, registered on every server.
CONTENTS_SCHEMA_ID = "https://events.jupyter.org/jupyter_server/contents_service/v1"
CONTENTS_SCHEMA: dict[str, Any] = {
    "$id": CONTENTS_SCHEMA_ID,
    "version": "1",
    "title": "Contents Manager activities",
    "personal-data": True,
    "description": "An operation on a file or folder through the contents service that succeeded.",
    "type": "object",
    "required": ["action", "path"],
    "properties": {
        "action": {
            "enum": ["get", "create", "save", "upload", "rename", "copy", "delete"],
            "description": "What was done: read (or listed), saved, renamed, copied or deleted.",
        },
        "path": {"type": "string", "description": "The API path acted on (the new path of a rename or copy)."},
        "source_path": {"type": "string", "description": "The path a rename or copy started from."},
    },
}


class EventsApp(ExtensionApp):
    """The bundled events service."""

    name = "events"
    description = "The events service: emit events (POST /api/events) and subscribe to them (/api/events/subscribe)."
    provides = ("events",)

    subscriber_buffer_bytes = Integer(
        1024 * 1024,
        min=1024,
        help="""Most bytes of events queued for one /api/events/subscribe client that the
        network has not taken yet. An event that would pass it disconnects that client
        (close code 1008, with the reason) instead of growing the server's memory; a
        POST /api/events body bigger than this is refused (413).""",
    ).tag(config=True)
    ping_interval = Float(
        30.0,
        help="""Seconds between pings to each /api/events/subscribe client; one that does not
        answer within the same time is disconnected. 0 disables pings.""",
    ).tag(config=True)

    event_logger = Instance(EventLogger, help="The event bus (serverapp.event_logger): schemas, emits, listeners.")

    @default("event_logger")
    def _default_event_logger(self) -> EventLogger:
        logger = EventLogger(log=self.log)
        logger.register_event_schema(CONTENTS_SCHEMA)
        return logger

    @default("extension_url")
    def _default_extension_url(self) -> str:
        return ""  # an API, no landing page

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._subscribers: set[SubscribeHandler] = set()
        self._contents: Any = None  # the contents manager listened to, once the server runs

    @property
    def subscribers(self) -> frozenset[SubscribeHandler]:
        """The connected /api/events/subscribe clients."""
        return frozenset(self._subscribers)

    def subscribe(self, subscriber: SubscribeHandler) -> None:
        """Send every event to ``subscriber`` from now on.

        The bus hears the app only while someone subscribes, so that a
        server nobody watches builds no event for nobody (see
        :meth:`~.logger.EventLogger.listened`).
        """
        if not self._subscribers:
            self.event_logger.add_listener(listener=self._broadcast)
        self._subscribers.add(subscriber)

    def unsubscribe(self, subscriber: SubscribeHandler) -> None:
        """Stop sending to ``subscriber``; one not subscribed is ignored."""
        if subscriber in self._subscribers:
            self._subscribers.discard(subscriber)
            if not self._subscribers:
                self.event_logger.remove_listener(listener=self._broadcast)

    def initialize_handlers(self) -> None:
        self.handlers.append(Mount("api/events", ROUTES))

    def _broadcast(self, *, logger: EventLogger, schema_id: str, data: dict[str, Any]) -> None:
        """Send one event to every subscriber, serialized once."""
        message = json.dumps({"schema_id": schema_id, **{k: v for k, v in data.items() if k != "schema_id"}}).encode()
        for subscriber in list(self._subscribers):
            subscriber.send_event(message)

    # -- contents announcements -----------------------------------------------------

    @hookimpl
    def server_started(self, serverapp: ServerApp) -> None:
        try:
            contents = serverapp.contents_manager
            contents.add_listener(self._contents_changed)
        except (RuntimeError, AttributeError) as err:  # no contents service, or one without a ContentsManager
            self.log.debug("No contents events: %s", err)
            return
        self._contents = contents

    @hookimpl
    def server_stopping(self) -> None:
        if self._contents is not None:
            self._contents.remove_listener(self._contents_changed)
            self._contents = None
        for subscriber in list(self._subscribers):
            subscriber.close(1001, "the server is stopping")

    def _contents_changed(self, event: dict[str, str]) -> None:
        if self.event_logger.listened(CONTENTS_SCHEMA_ID):  # every read is announced: for nobody, skip it
            self.event_logger.emit(schema_id=CONTENTS_SCHEMA_ID, data=event)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__, "app": EventsApp}]


__all__ = ["CONTENTS_SCHEMA", "CONTENTS_SCHEMA_ID", "EventError", "EventLogger", "EventSchema", "EventsApp"]
