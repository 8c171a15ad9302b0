"""Notebooks read, checked and written with ``nbformat``, the format's own library.

``nbformat`` (and ``jsonschema`` under it) is imported on the first
notebook read or written, never when the server starts: together they cost
tens of milliseconds and several MiB, and a server may never open a
notebook.

Reading is lenient, as in Jupyter Server: a file that is not JSON, or not
a notebook at all, is a ``400`` naming the file and the problem; a notebook
that breaks the schema is still returned, with the problem in the model's
``message``.  Writing is strict: content that does not validate is a
``400`` naming the first problem and where it is (``cells/3: 'source' is a
required property``), and nothing is written.
"""

from __future__ import annotations

import json
from collections import defaultdict
from types import ModuleType
from typing import Any

from tornado import web

from ...deferred import import_jsonschema

#: The notebook format this server reads to and writes.
NBFORMAT = 4


def _nbformat() -> ModuleType:
    """nbformat, imported on first use (see the module docstring), jsonschema
    under it without its slow optional grammar (see :mod:`jupyter_server_lite.deferred`)."""
    import_jsonschema()
    import nbformat  # start-up cost: nbformat and jsonschema (see the module docstring)

    return nbformat


def _validator(minor: Any) -> Any:
    """nbformat's fast validator for 4.<minor> (compiled once per minor by nbformat)."""
    validator = _nbformat().validator

    return validator.get_validator(version=NBFORMAT, version_minor=minor if isinstance(minor, int) else None)


def parse(data: bytes, path: str) -> tuple[dict[str, Any], str | None]:
    """``(notebook, validation message or None)`` from a file's bytes.

    A version-4 notebook is checked in place (no conversion, no copy); an
    older one is converted to version 4 by nbformat.
    """
    try:
        nb = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise web.HTTPError(400, f"Unreadable Notebook: {path}: not valid JSON ({err})") from err
    if not isinstance(nb, dict) or not isinstance(nb.get("nbformat"), int):
        raise web.HTTPError(400, f"Unreadable Notebook: {path}: not a notebook (no integer 'nbformat' field)")
    if nb["nbformat"] != NBFORMAT:
        nb = _convert(nb, path)
    message = None
    try:
        _validator(nb.get("nbformat_minor")).validate(nb)
    except Exception:  # a jsonschema ValidationError: described below
        message = f"Notebook validation failed: {describe(nb)}"
    return _as_served(nb), message


def _as_served(nb: dict[str, Any]) -> dict[str, Any]:
    """What nbformat's reader gives clients: multi-line strings joined, transient fields dropped.

    On disk a cell's ``source`` (and an output's text) is a list of lines;
    Jupyter Server serves it as one string, and clients expect that.  Done
    in place on the parsed dict (nbformat's own helpers need NotebookNodes).
    """
    metadata = nb.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("signature", None)
        metadata.pop("orig_nbformat", None)
    for cell in nb.get("cells") or ():
        if not isinstance(cell, dict):
            continue
        _join(cell, "source")
        if isinstance(cell.get("metadata"), dict):
            cell["metadata"].pop("trusted", None)
        for bundle in (cell.get("attachments") or {}).values():
            _join_bundle(bundle)
        for output in cell.get("outputs") or ():
            if not isinstance(output, dict):
                continue
            if output.get("output_type") in ("execute_result", "display_data"):
                _join_bundle(output.get("data"))
            else:
                _join(output, "text")
    return nb


def _join(holder: dict[str, Any], key: str) -> None:
    value = holder.get(key)
    if isinstance(value, list):
        try:
            holder[key] = "".join(value)
        except TypeError:  # not all strings: leave it as it is
            pass


def _join_bundle(bundle: Any) -> None:
    """Join the lines of a mime bundle's text values (JSON values stay structured)."""
    if not isinstance(bundle, dict):
        return
    for mime in list(bundle):
        if not (mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))):
            _join(bundle, mime)


def _convert(nb: dict[str, Any], path: str) -> dict[str, Any]:
    nbformat = _nbformat()
    try:
        return json.loads(json.dumps(nbformat.convert(nbformat.from_dict(nb), NBFORMAT)))
    except Exception as err:
        raise web.HTTPError(
            400, f"Unreadable Notebook: {path}: cannot convert nbformat {nb['nbformat']}: {err}"
        ) from err


def serialize(content: Any, path: str) -> bytes:
    """The file bytes of notebook ``content``; a ``400`` if it is not a valid notebook.

    The layout is nbformat's own (sorted keys, one-space indent, multi-line
    strings as lists of lines), so a notebook saved here diffs like one saved
    by Jupyter Server.
    """
    if not isinstance(content, dict):
        raise web.HTTPError(400, f"Notebook content for {path!r} must be a JSON object, not {type(content).__name__}")
    if content.get("nbformat") != NBFORMAT:
        raise web.HTTPError(
            400, f"Notebook {path!r} has nbformat {content.get('nbformat')!r}; this server writes nbformat {NBFORMAT}"
        )
    try:
        _validator(content.get("nbformat_minor")).validate(content)
    except Exception as err:
        raise web.HTTPError(400, f"Notebook {path!r} is not valid: {describe(content)}") from err
    nbformat = _nbformat()
    text = nbformat.writes(nbformat.from_dict(content), version=nbformat.NO_CONVERT)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def new_notebook() -> dict[str, Any]:
    """An empty notebook, as nbformat makes one."""
    nbformat = _nbformat()
    return json.loads(nbformat.writes(nbformat.v4.new_notebook()))


def describe(nb: dict[str, Any]) -> str:
    """The first schema problem of ``nb`` in words, with where it is.

    nbformat's fast validator says only that a cell matches none of the cell
    schemas; jsonschema, asked again on this (already failed) path, can say
    why: the sub-schema for the cell's own ``cell_type`` is the one whose
    errors are shown.
    """
    validator = _nbformat().validator

    checker = validator.get_validator(version=NBFORMAT, version_minor=_minor(nb), name="jsonschema")
    errors = list(checker.iter_errors(nb))
    if not errors:
        return "the notebook does not match the nbformat schema"
    error = errors[0]
    while error.context:
        groups: dict[Any, list[Any]] = defaultdict(list)
        for sub in error.context:
            groups[sub.relative_schema_path[0] if sub.relative_schema_path else None].append(sub)
        own = [g for g in groups.values() if not any(_wrong_kind(e) for e in g)]
        error = (own or sorted(groups.values(), key=len))[0][0]
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def _minor(nb: dict[str, Any]) -> int | None:
    minor = nb.get("nbformat_minor")
    return minor if isinstance(minor, int) else None


def _wrong_kind(error: Any) -> bool:
    """An error saying a cell or output is of another kind (so its branch is not its own)."""
    path = list(error.absolute_path)
    return bool(path) and path[-1] in ("cell_type", "output_type") and error.validator in ("enum", "const")
