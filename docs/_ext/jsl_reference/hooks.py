"""The hook reference: every hookspec of ``extension/hooks.py``, its signature and promise."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from . import code, paragraphs


def hookspecs() -> dict[str, Callable[..., Any]]:
    """The core's hookspecs by name, in declaration order."""
    from jupyter_server_lite.extension import hooks

    marker = hooks.PROJECT_NAME + "_spec"
    return {name: f for name, f in vars(hooks).items() if callable(f) and hasattr(f, marker)}


def signature(function: Callable[..., Any]) -> str:
    """``name(serverapp: ServerApp, ...) -> None``, annotations as written in the source.

    (The module uses ``from __future__ import annotations``: inspect hands back
    the annotations as strings, shown here without quotes.)
    """

    def annotated(name: str, annotation: Any) -> str:
        return name if annotation is inspect.Parameter.empty else f"{name}: {annotation}"

    sig = inspect.signature(function)
    params = ", ".join(annotated(p.name, p.annotation) for p in sig.parameters.values())
    returns = "" if sig.return_annotation is inspect.Signature.empty else f" -> {sig.return_annotation}"
    return f"{function.__name__}({params}){returns}"


def hook_reference() -> str:
    """The Markdown of the hook reference: one section per hookspec."""
    from jupyter_server_lite.extension import hooks

    lines: list[str] = []
    for name, function in hookspecs().items():
        options = getattr(function, hooks.PROJECT_NAME + "_spec")
        lines += [f"## {code(name)}", "", "```python", f"def {signature(function)}: ...", "```", ""]
        lines += [*(block + "\n" for block in paragraphs(function.__doc__ or ""))]
        if options.get("firstresult"):
            result = (
                "The first implementation that returns something other than `None` decides; the others are not called."
            )
        else:
            result = (
                "Every implementation is called; `serverapp.call_hook()` returns each result with its extension's name."
            )
        lines += [result, ""]
    return "\n".join(lines)
