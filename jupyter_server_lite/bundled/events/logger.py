"""The event bus: registered schemas, validated emits, and the listeners that hear them.

``serverapp.event_logger`` is an :class:`EventLogger`, the one the events
service owns.  It speaks the part of ``jupyter_events.EventLogger`` that
Jupyter Server extensions use, with the same names and keywords, so their
code carries over::

    logger = self.serverapp.event_logger
    logger.register_event_schema(pathlib.Path(__file__).parent / "my_event.json")
    logger.emit(schema_id="https://events.example.org/my_app/v1", data={"msg": "hi"})
    logger.add_listener(schema_id=..., listener=on_event)  # (logger, schema_id, data)

It differs where Jupyter Events is weak or heavy:

* every :meth:`~EventLogger.emit` validates, and raises :class:`~.schema.EventError`
  for an unknown schema or data that breaks it -- also when nobody listens
  (Jupyter Events skips validation then, and only warns for an unknown
  schema), so a broken emit fails where it is written, every time;
* a listener added without ``schema_id`` hears every schema, those
  registered later included;
* a listener may be a plain function (called at once, in order) or a
  coroutine function (run as a task, as in Jupyter Events); an exception in
  either is logged with its name and stops nothing;
* no modifiers and no ``logging`` handlers: a listener does what either did.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from .schema import EventError, EventSchema, SchemaSource, load_schema

#: ``listener(logger=..., schema_id=..., data=...)``; may return an awaitable (run as a task).
Listener = Callable[..., Awaitable[None] | None]

#: The ``__metadata_version__`` of the capsules :meth:`EventLogger.emit` returns (Jupyter Events' own).
EVENTS_METADATA_VERSION = 1


def utc_timestamp(moment: datetime | None = None) -> str:
    """``moment`` (now by default; a naive one is taken as UTC) as ``2024-05-26T07:50:00.000000Z``."""
    if moment is None:
        moment = datetime.now(timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class EventLogger:
    """The server's event bus; see the module docstring."""

    def __init__(self, log: logging.Logger | logging.LoggerAdapter[Any] | None = None) -> None:
        self.log = log or logging.getLogger(__name__)
        self._schemas: dict[str, EventSchema] = {}
        #: The registered schemas by ``$id`` (read-only: register with :meth:`register_event_schema`).
        self.schemas: Mapping[str, EventSchema] = MappingProxyType(self._schemas)
        self._listeners: dict[str | None, list[Listener]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- schemas ------------------------------------------------------------------

    def register_event_schema(self, schema: SchemaSource) -> EventSchema:
        """Register ``schema`` (a dict, JSON or YAML text, or a ``pathlib`` path to a file).

        Raises :class:`~.schema.EventError` when it cannot be read, lacks what
        Jupyter Events requires (``$id``, ``version``, ``properties``), or
        has an ``$id`` registered already.
        """
        event_schema = EventSchema(load_schema(schema))
        if event_schema.id in self._schemas:
            raise EventError(f"event schema {event_schema.id} is registered already")
        self._schemas[event_schema.id] = event_schema
        return event_schema

    def get_schema(self, schema_id: str) -> EventSchema:
        """The schema registered as ``schema_id``; :class:`~.schema.EventError` naming the known ones otherwise."""
        schema = self._schemas.get(schema_id)
        if schema is None:
            known = ", ".join(sorted(self._schemas)) or "none"
            raise EventError(f"unknown event schema {schema_id!r} (registered: {known})")
        return schema

    # -- emitting -------------------------------------------------------------------

    def emit(
        self, *, schema_id: str, data: dict[str, Any], timestamp_override: datetime | None = None
    ) -> dict[str, Any]:
        """Validate ``data`` against ``schema_id`` and hand it to every listener of that schema.

        Returns the event as Jupyter Events records it: ``data`` plus
        ``__timestamp__`` (now, or ``timestamp_override``), ``__schema__``,
        ``__schema_version__`` and ``__metadata_version__``.  Raises
        :class:`~.schema.EventError` for an unknown schema or invalid data;
        nothing is delivered then.  Each listener gets its own copy of ``data``.
        """
        schema = self.get_schema(schema_id)
        if not isinstance(data, dict):
            raise EventError(f"event data must be a JSON object, not {type(data).__name__}")
        schema.validate(data)
        capsule = {
            "__timestamp__": utc_timestamp(timestamp_override),
            "__schema__": schema_id,
            "__schema_version__": schema.version,
            "__metadata_version__": EVENTS_METADATA_VERSION,
            **copy.deepcopy(data),
        }
        for listener in (*self._listeners.get(schema_id, ()), *self._listeners.get(None, ())):
            self._call(listener, schema_id, copy.deepcopy(data))
        return capsule

    def _call(self, listener: Listener, schema_id: str, data: dict[str, Any]) -> None:
        try:
            result = listener(logger=self, schema_id=schema_id, data=data)
        except Exception:
            self.log.exception("Event listener %s failed on an event of %s", _name(listener), schema_id)
            return
        if not inspect.isawaitable(result):
            return
        try:
            task = asyncio.ensure_future(result, loop=asyncio.get_running_loop())
        except RuntimeError:  # no running loop: nothing could ever run the coroutine
            if inspect.iscoroutine(result):
                result.close()
            self.log.error("Event listener %s is a coroutine, and no event loop runs to await it", _name(listener))
            return
        task.set_name(f"event listener {_name(listener)} ({schema_id})")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        err = task.exception()
        if err is not None:
            self.log.error("%s failed: %s", task.get_name(), err, exc_info=err)

    async def gather_listeners(self) -> list[Any]:
        """Wait for the coroutine listeners running now; their results or exceptions."""
        return await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- listeners ------------------------------------------------------------------

    def add_listener(self, *, listener: Listener, schema_id: str | None = None) -> None:
        """Call ``listener(logger=, schema_id=, data=)`` for every event of ``schema_id``
        (registered yet or not), or of every schema when it is None."""
        if not callable(listener):
            raise TypeError(f"an event listener must be callable, not {listener!r}")
        self._listeners.setdefault(schema_id, []).append(listener)

    def listened(self, schema_id: str) -> bool:
        """Whether an event of ``schema_id`` would reach any listener now.

        For an emitter whose data costs something to build: with nobody
        listening it may skip the emit (and its validation) altogether.
        """
        return bool(self._listeners.get(schema_id) or self._listeners.get(None))

    def remove_listener(self, *, listener: Listener, schema_id: str | None = None) -> None:
        """Stop calling ``listener`` for ``schema_id`` -- or for anything, when it is None.

        A listener that was not added is ignored.
        """
        for key in list(self._listeners) if schema_id is None else [schema_id]:
            listeners = self._listeners.get(key, [])
            while listener in listeners:
                listeners.remove(listener)


def _name(listener: Any) -> str:
    return getattr(listener, "__qualname__", None) or repr(listener)


__all__ = ["EVENTS_METADATA_VERSION", "EventLogger", "Listener", "utc_timestamp"]
