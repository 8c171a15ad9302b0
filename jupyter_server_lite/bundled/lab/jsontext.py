"""JSON5 text and JSON Schema validation, each paid for only when needed.

JupyterLab's settings files are JSON5 as the user wrote them (comments,
trailing commas); jupyterlab_server reads them with ``json5`` and checks
them with ``jsonschema``, the field's standard.  Both are imported here on
first use, not at start-up: ``jsonschema`` costs about 0.1 s to import here
(through :func:`~jupyter_server_lite.deferred.import_jsonschema`, which
spares it a 1.3 s grammar), and most settings text is plain JSON, which the
standard library parses faster.
"""

from __future__ import annotations

import json
from typing import Any

from ...deferred import import_jsonschema


def loads(text: str) -> Any:
    """Parse JSON5 ``text``; plain JSON takes the fast path.  ``ValueError`` says what is wrong."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    import json5  # start-up cost: json5, only for text that is not plain JSON

    try:
        return json5.loads(text)
    except ValueError:
        raise
    except Exception as err:  # json5 reports some malformed input with other types
        raise ValueError(str(err)) from err


def schema_problem(schema: dict[str, Any], instance: Any) -> str:
    """Why ``instance`` does not satisfy ``schema`` (JSON Schema draft 7), ``""`` when it does.

    The message names the failing path, as jupyterlab_server's does.  A
    schema that is itself invalid is reported the same way, as a problem of
    the schema.
    """
    jsonschema = import_jsonschema()

    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as err:
        return f"the plugin's schema is invalid: {err.message}"
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(schema).iter_errors(instance))
    if error is None:
        return ""
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message} (at {where or 'the top level'})"
