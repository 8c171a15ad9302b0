"""Event schemas: loaded, checked as Jupyter Events checks them, and validating event data.

An event schema is a JSON Schema (draft 7) with three fields Jupyter Events
requires besides: ``$id`` (an absolute URI, the schema's name on the wire),
``version`` (a string; an integer is taken as its string) and
``properties`` (the fields of the event's data).  Property names starting
with ``__`` are refused at any depth: Jupyter Events reserves them for its
own metadata (``__timestamp__``...).  That is exactly what ``jupyter_events``
checks at registration (its event and property metaschemas), so a schema
Jupyter Server accepts is accepted here and the other way round.

Event data is validated against the schema with draft-7 semantics, formats
included (``date-time``, ``uri``, ``email``...; unknown formats pass, as
in ``jsonschema``), by ``fastjsonschema``: it compiles a schema into a
Python function on first use, imports in ~15 ms, and is already installed
as a dependency of ``nbformat``.  ``jupyter_events`` itself is not used: it
validates with ``jsonschema``, whose format checkers in a Jupyter
environment import ``rfc3987_syntax``, which compiles a grammar at import
time -- 4 s here (``python -X importtime -c "import jupyter_events"``),
paid by the first event.  Nothing here is imported when the server starts.

Schemas are code: a schema is compiled into Python, so only register
schemas you trust (from your package), never ones sent by a client.  A
``$ref`` may point inside the schema only; remote references are refused
rather than fetched.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

#: What :meth:`EventLogger.register_event_schema` takes: a dict, JSON (or
#: YAML) text, or the path of a ``.json``, ``.yaml`` or ``.yml`` file.
SchemaSource = dict[str, Any] | str | PurePath

_DRAFT_7 = "http://json-schema.org/draft-07/schema#"


class EventError(ValueError):
    """An event or schema that cannot be used; the message says what is wrong and where."""


class EventSchema:
    """One registered schema: its ``id``, ``version``, ``properties``, and :meth:`validate`."""

    def __init__(self, schema: dict[str, Any]) -> None:
        check_schema(schema)
        self.schema = schema
        self.id: str = schema["$id"]
        self.version: str = str(schema["version"])
        self._validator: Callable[[Any], Any] | None = None

    @property
    def properties(self) -> dict[str, Any]:
        return self.schema["properties"]

    def __repr__(self) -> str:
        return f"EventSchema({self.id!r}, version={self.version!r})"

    def validate(self, data: Any) -> None:
        """Raise :class:`EventError` naming the first field of ``data`` that breaks the schema."""
        if self._validator is None:
            self._validator = _compile(self.schema)
        import fastjsonschema  # start-up cost: fastjsonschema (imported by _compile already)

        try:
            self._validator(data)
        except fastjsonschema.JsonSchemaValueException as err:
            raise EventError(
                f"event data does not match schema {self.id} version {self.version}: {err.message}"
            ) from None


def load_schema(source: SchemaSource) -> dict[str, Any]:
    """The schema dict of ``source``: a dict (copied), JSON or YAML text, or a file path.

    YAML (the format of Jupyter Server's own schema files) needs PyYAML; the
    message says so when it is missing.
    """
    if isinstance(source, dict):
        return copy.deepcopy(source)
    if isinstance(source, PurePath):
        try:
            with open(source, encoding="utf-8") as f:
                text = f.read()
        except OSError as err:
            raise EventError(f"cannot read the event schema file {os.fspath(source)}: {err.strerror or err}") from err
        loaded = _parse(text, str(source), yaml=PurePath(source).suffix.lower() in (".yaml", ".yml"))
    elif isinstance(source, str):
        if "\n" not in source and source.strip().lower().endswith((".json", ".yaml", ".yml")):
            raise EventError(f"{source!r} looks like a file name: pass the file as pathlib.Path({source!r})")
        loaded = _parse(source, "the schema text", yaml=not source.lstrip().startswith("{"))
    else:
        raise EventError(
            f"an event schema is a dict, JSON or YAML text, or a pathlib path, not {type(source).__name__}"
        )
    if not isinstance(loaded, dict):
        raise EventError(f"an event schema must be a mapping (a JSON object), not {type(loaded).__name__}")
    return loaded


def _parse(text: str, where: str, yaml: bool) -> Any:
    if not yaml:
        try:
            return json.loads(text)
        except ValueError as err:
            raise EventError(f"{where} is not valid JSON: {err}") from err
    try:
        pyyaml = importlib.import_module("yaml")  # optional (PyYAML), for YAML schemas only
    except ImportError:
        raise EventError(
            f"{where} is YAML, which needs PyYAML (pip install pyyaml); or give the schema as JSON"
        ) from None
    try:
        return pyyaml.safe_load(text)
    except pyyaml.YAMLError as err:
        raise EventError(f"{where} is not valid YAML: {err}") from err


def check_schema(schema: dict[str, Any]) -> None:
    """Refuse a schema Jupyter Events would refuse, naming the field (see the module docstring)."""
    schema_id = schema.get("$id")
    if not isinstance(schema_id, str) or not schema_id:
        raise EventError("an event schema needs '$id', a URI naming it (https://events.example.org/my_app/v1)")
    parts = urlsplit(schema_id)
    if not parts.scheme or any(c.isspace() for c in schema_id):
        raise EventError(f"event schema $id {schema_id!r} is not an absolute URI")
    version = schema.get("version")
    if isinstance(version, bool) or not isinstance(version, (str, int)):
        raise EventError(f"event schema {schema_id} needs 'version', a string such as \"1\"")
    for key in ("title", "description"):
        if key in schema and not isinstance(schema[key], str):
            raise EventError(f"event schema {schema_id}: {key!r} must be a string")
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        raise EventError(f"event schema {schema_id} needs 'properties', an object of the event's fields")
    for where in _reserved_names(properties, "properties"):
        raise EventError(
            f"event schema {schema_id}: {where} starts with '__', which Jupyter Events reserves for its metadata"
        )


def _reserved_names(node: Mapping[str, Any], where: str) -> Iterator[str]:
    """Where a key starting with ``__`` sits in ``node`` or any object below it (not inside lists,
    as in Jupyter Events' property metaschema)."""
    for key, value in node.items():
        if key.startswith("__"):
            yield f"{where}.{key}"
        if isinstance(value, dict):
            yield from _reserved_names(value, f"{where}.{key}")


class _NoRemoteRefs(Mapping[str, Callable[[str], Any]]):
    """fastjsonschema's URI handlers: every scheme refused (it would fetch with urllib otherwise)."""

    def __getitem__(self, scheme: str) -> Callable[[str], Any]:
        return _refuse_remote

    def __contains__(self, scheme: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _refuse_remote(uri: str) -> Any:
    raise EventError(f"event schemas may not refer to other documents ($ref {uri!r})")


def _compile(schema: dict[str, Any]) -> Callable[[Any], Any]:
    """A draft-7 validator for ``schema``; :class:`EventError` if it is not a usable JSON Schema."""
    import fastjsonschema  # start-up cost: fastjsonschema, on the first event of this schema (see the module docstring)

    draft7 = {**schema, "$schema": _DRAFT_7}  # Jupyter Events validates with draft 7 whatever $schema says
    try:
        return fastjsonschema.compile(draft7, handlers=_NoRemoteRefs(), use_default=False)
    except EventError:
        raise
    except Exception as err:  # JsonSchemaDefinitionException, or a compile error of a malformed keyword
        raise EventError(f"event schema {schema['$id']} is not a valid JSON Schema: {err}") from err


__all__ = ["EventError", "EventSchema", "SchemaSource", "check_schema", "load_schema"]
