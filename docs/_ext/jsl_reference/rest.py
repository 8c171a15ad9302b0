"""The REST reference: every route of ``services/openapi.json``, by tag.

For each operation: its method and path, summary and description, whether
it is public, its parameters, its request body and every documented
response with its schema; then every schema of ``components`` with its
fields.  ``tests/test_openapi.py`` holds the document to the code (every
core route is in it, every answer fits it), so this page is as true as the
document.
"""

from __future__ import annotations

import json
from typing import Any

from . import code, inline_text

METHODS = ("get", "put", "post", "patch", "delete")


def load_spec() -> dict[str, Any]:
    from jupyter_server_lite.services.openapi import SPEC_PATH

    with open(SPEC_PATH, encoding="utf-8") as f:
        return json.load(f)


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(METHOD, path, operation)`` for every operation, in document order."""
    return [
        (method.upper(), path, item[method])
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    ]


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _resolve(spec: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    """Follow one ``$ref`` (``#/components/<kind>/<name>``)."""
    if "$ref" not in obj:
        return obj
    node: Any = spec
    for part in obj["$ref"].lstrip("#/").split("/"):
        node = node[part]
    return node


def schema_text(schema: dict[str, Any]) -> str:
    """A short Markdown name for a schema: a link to a component, or its type."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#schema-{name.lower()})"
    if schema.get("type") == "array" and "items" in schema:
        return f"array of {schema_text(schema['items'])}"
    if "oneOf" in schema or "anyOf" in schema:
        return " or ".join(schema_text(s) for s in schema.get("oneOf", schema.get("anyOf", [])))
    kind = schema.get("type", "any")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    return code(f"{kind}{' (' + schema['format'] + ')' if 'format' in schema else ''}")


def _content(spec: dict[str, Any], holder: dict[str, Any]) -> str:
    parts = []
    for media, body in holder.get("content", {}).items():
        schema = body.get("schema")
        parts.append(f"{code(media)}: {schema_text(schema)}" if schema else code(media))
    return "; ".join(parts)


def operation_markdown(spec: dict[str, Any], method: str, path: str, op: dict[str, Any]) -> list[str]:
    lines = [f"### {code(f'{method} {path}')}", ""]
    if op.get("summary"):
        lines += [
            f"**{inline_text(op['summary'])}.**"
            if not op["summary"].endswith(".")
            else f"**{inline_text(op['summary'])}**",
            "",
        ]
    if op.get("description"):
        lines += [inline_text(op["description"]), ""]
    if op.get("security") == []:
        lines += ["Public: answers without credentials.", ""]
    params = [_resolve(spec, p) for p in spec["paths"][path].get("parameters", []) + op.get("parameters", [])]
    if params:
        lines += ["| Parameter | In | Type | Meaning |", "| --- | --- | --- | --- |"]
        for p in params:
            required = "" if p.get("required") else " (optional)"
            lines.append(
                f"| {code(p['name'])}{required} | {p['in']} | {schema_text(p.get('schema', {}))} | {inline_text(p.get('description', ''))} |"
            )
        lines.append("")
    if "requestBody" in op:
        body = _resolve(spec, op["requestBody"])
        required = "required" if body.get("required") else "optional"
        lines += [
            f"Request body ({required}): {_content(spec, body)}. {inline_text(body.get('description', ''))}".rstrip(),
            "",
        ]
    lines += ["| Status | Meaning | Body |", "| --- | --- | --- |"]
    for status, response in op["responses"].items():
        resolved = _resolve(spec, response)
        lines.append(
            f"| {status} | {inline_text(resolved.get('description', ''))} | {_content(spec, resolved) or '(none)'} |"
        )
    lines.append("")
    return lines


def schema_markdown(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"(schema-{name.lower()})=", f"### {code(name)}", ""]
    if schema.get("description"):
        lines += [inline_text(schema["description"]), ""]
    properties = schema.get("properties", {})
    if not properties:
        lines += [f"Type: {schema_text(schema)}.", ""]
        return lines
    required = set(schema.get("required", []))
    lines += ["| Field | Type | Meaning |", "| --- | --- | --- |"]
    for field, sub in properties.items():
        mark = "" if field in required else " (optional)"
        lines.append(f"| {code(field)}{mark} | {schema_text(sub)} | {inline_text(sub.get('description', ''))} |")
    lines.append("")
    return lines


def rest_reference() -> str:
    """The Markdown of the REST reference: operations by tag, then the schemas."""
    spec = load_spec()
    lines = [inline_text(spec["info"].get("description", "")), ""]
    ops = operations(spec)
    for tag in spec.get("tags", []):
        lines += [f"## {tag['name'].capitalize()}", "", inline_text(tag.get("description", "")), ""]
        for method, path, op in ops:
            if tag["name"] in op.get("tags", []):
                lines += operation_markdown(spec, method, path, op)
    untagged = [o for o in ops if not set(o[2].get("tags", [])) & {t["name"] for t in spec.get("tags", [])}]
    if untagged:
        lines += ["## Other", ""]
        for method, path, op in untagged:
            lines += operation_markdown(spec, method, path, op)
    lines += ["## Schemas", ""]
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        lines += schema_markdown(name, schema)
    return "\n".join(lines)
