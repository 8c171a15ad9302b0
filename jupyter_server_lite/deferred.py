"""Heavy third-party imports that the server defers to first use, made as cheap as they can be.

``jsonschema`` (under ``nbformat``, and for JupyterLab's settings) imports
``rfc3987_syntax`` when it is installed -- it is, wherever ``jupyter_events``
is, so beside jupyterhub or jupyter_server -- and that module compiles a lark
grammar at import: about 2 s here, paid on the first notebook a user opens.
It serves only jsonschema's ``iri``/``iri-reference`` format checks, which no
schema of the server or of nbformat asks for.  :func:`import_jsonschema`
imports jsonschema with that one optional import refused, and then forgets
the refusal, so any other code that imports ``rfc3987_syntax`` itself still
gets it.
"""

from __future__ import annotations

import sys
from types import ModuleType

#: The optional import refused while jsonschema loads (see the module docstring).
SLOW_OPTIONAL = "rfc3987_syntax"


def import_jsonschema() -> ModuleType:
    """``jsonschema``, imported without its slow optional IRI grammar (see the module docstring).

    If jsonschema is imported already, or ``rfc3987_syntax`` is, nothing changes.
    """
    if "jsonschema" in sys.modules:
        return sys.modules["jsonschema"]
    refuse = SLOW_OPTIONAL not in sys.modules
    if refuse:
        sys.modules[SLOW_OPTIONAL] = None  # type: ignore[assignment]  # None makes "import" raise ImportError
    try:
        import jsonschema  # start-up cost: jsonschema, imported here on first use (see the module docstring)
    finally:
        if refuse and sys.modules.get(SLOW_OPTIONAL, ...) is None:
            del sys.modules[SLOW_OPTIONAL]
    return jsonschema
