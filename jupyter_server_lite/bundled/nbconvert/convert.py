"""The calls into ``nbconvert``: blocking, so the handlers run each in a worker thread.

``nbconvert`` is optional (the ``[nbconvert]`` extra) and heavy: importing
it takes 2-4 s here (``python -X importtime -c "import nbconvert"``; most
of it its markdown and HTML-sanitizing dependencies), so it is imported
here only, in a thread, on the first request that needs it -- never when
the server starts, and never on the event loop.  When it is missing,
:func:`require_nbconvert` raises :class:`NbconvertMissing`, which the
handlers answer with a ``503`` that says how to install it.

A format is always looked up among the exporters nbconvert lists
(:func:`export_formats`) before :func:`make_exporter` asks nbconvert for
it: nbconvert would otherwise import any dotted name it is given
(``/nbconvert/os.path/...``), a module import chosen by a URL.
"""

from __future__ import annotations

import importlib.util
import io
import os
import zipfile
from typing import Any

from ...deferred import import_jsonschema

#: How to get the package, for every message that says it is missing.
INSTALL_HINT = "pip install 'jupyter_server_lite[nbconvert]'"


class NbconvertMissing(ImportError):
    """nbconvert cannot be imported; the message says why and how to install it."""


class NotebookInvalid(ValueError):
    """The notebook does not validate; the message is nbformat's first problem."""


def nbconvert_installed() -> bool:
    """Whether ``nbconvert`` can be found, without importing it (a look along ``sys.path``)."""
    try:
        return importlib.util.find_spec("nbconvert") is not None
    except (ImportError, ValueError):
        return False


def require_nbconvert() -> None:
    """Import ``nbconvert`` (blocking: seconds the first time); :class:`NbconvertMissing` if it cannot be."""
    if not nbconvert_installed():
        raise NbconvertMissing(f"nbconvert is not installed: the nbconvert service needs it ({INSTALL_HINT})")
    try:
        import_jsonschema()  # under nbformat: without its slow optional grammar
        import nbconvert  # noqa: F401  # start-up cost: nbconvert (2-4 s, see the module docstring)
    except ImportError as err:
        raise NbconvertMissing(f"nbconvert is installed but cannot be imported: {err} ({INSTALL_HINT})") from err


def export_formats(log: Any) -> dict[str, str]:
    """Every enabled exporter nbconvert knows, by name, with its output MIME type (``""`` when
    it depends on the notebook, as for ``script``).  Blocking: seconds on first call.

    An exporter that cannot be loaded (a broken plugin package) is left out
    with one WARNING line, rather than taking the whole list down.
    """
    require_nbconvert()
    # start-up cost: nbconvert (see the module docstring)
    from nbconvert.exporters.base import ExporterDisabledError, get_export_names, get_exporter

    formats = {}
    for name in get_export_names():
        try:
            formats[name] = get_exporter(name).output_mimetype or ""
        except (ExporterDisabledError, ValueError):
            continue  # disabled by config, or uninstalled meanwhile
        except Exception as err:
            log.warning("nbconvert exporter %r cannot be loaded, so it is not offered: %s", name, err)
    return formats


def make_exporter(format: str, config: Any, log: Any, sanitize_html: bool | None) -> Any:
    """An exporter for ``format`` (one of :func:`export_formats`) with the server's ``config``."""
    from nbconvert.exporters.base import get_exporter  # start-up cost: nbconvert (see the module docstring)

    exporter = get_exporter(format)(config=config, log=log)
    if sanitize_html is not None and hasattr(exporter, "sanitize_html"):
        exporter.sanitize_html = sanitize_html
    return exporter


def notebook_node(content: Any) -> Any:
    """``content`` (a notebook as a dict) as a version-4 nbformat node; :class:`NotebookInvalid` if it is not valid.

    A notebook as stored on disk (lines as lists of strings) or from an
    older nbformat reads the same as JupyterLab's in-memory model.
    """
    import nbformat  # start-up cost: nbformat and jsonschema
    from nbformat.v4.rwbase import rejoin_lines  # start-up cost: nbformat and jsonschema

    if not isinstance(content, dict):
        raise NotebookInvalid(f"a notebook is a JSON object, not {type(content).__name__}")
    node = nbformat.from_dict(content)
    try:
        nbformat.validate(node)
        if node.get("nbformat") != 4:
            node = nbformat.convert(node, 4)
    except nbformat.ValidationError as err:
        raise NotebookInvalid(str(err.message)) from err
    except Exception as err:  # no schema for its nbformat version, and the like
        raise NotebookInvalid(str(err)) from err
    return rejoin_lines(node)


def convert(exporter: Any, content: Any, resources: dict[str, Any]) -> tuple[str | bytes, dict[str, Any]]:
    """``(output, resources)`` of ``exporter`` on the notebook ``content``. Blocking."""
    output, resources = exporter.from_notebook_node(notebook_node(content), resources=resources)
    return output, resources


def zip_outputs(name: str, output: str | bytes, resources: dict[str, Any]) -> bytes | None:
    """The output and its extra files (images of a markdown export...) as one zip; None when there are none.

    Files are stored by their base names, beside the output named after the notebook.
    """
    outputs = resources.get("outputs") or {}
    if not outputs:
        return None

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(output_name(name, resources), output if isinstance(output, bytes) else output.encode())
        for filename, data in outputs.items():
            archive.writestr(os.path.basename(filename), data)
    return buffer.getvalue()


def output_name(name: str, resources: dict[str, Any]) -> str:
    """``analysis.ipynb`` exported to HTML is ``analysis.html``."""
    return os.path.splitext(name)[0] + (resources.get("output_extension") or "")


__all__ = [
    "INSTALL_HINT",
    "NbconvertMissing",
    "NotebookInvalid",
    "convert",
    "export_formats",
    "make_exporter",
    "nbconvert_installed",
    "output_name",
    "require_nbconvert",
    "zip_outputs",
]
