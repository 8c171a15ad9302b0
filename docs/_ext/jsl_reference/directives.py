"""The Sphinx side of the references: one directive per generator.

A reference page is a short hand-written Markdown file holding, say::

    ```{jsl-config-reference}
    ```

The directive runs its generator and parses the Markdown it returns into
the page, headings included, as if it had been written there.  Pages
holding a directive are re-read on every build (``env-get-outdated``): the
code they come from is not a source file Sphinx could watch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from .cli import cli_reference
from .config import config_reference
from .hooks import hook_reference
from .rest import rest_reference

GENERATORS: dict[str, Callable[[], str]] = {
    "jsl-config-reference": config_reference,
    "jsl-cli-reference": cli_reference,
    "jsl-hook-reference": hook_reference,
    "jsl-rest-reference": rest_reference,
}


class GeneratedReference(SphinxDirective):
    """Replaced by the Markdown its generator returns for the code as it is now."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        text = GENERATORS[self.name]()
        return self.parse_text_to_nodes(text, allow_section_headings=True)


def _pages_with_directives(app: Sphinx, env: Any, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """Every page holding a generated reference: re-read it, the code may have changed."""
    pages = []
    for docname in env.found_docs:
        path = env.doc2path(docname)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if any("{" + name + "}" in text for name in GENERATORS):
            pages.append(docname)
    return pages


def setup(app: Sphinx) -> dict[str, Any]:
    for name in GENERATORS:
        app.add_directive(name, GeneratedReference)
    app.connect("env-get-outdated", _pages_with_directives)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}


__all__ = ["GENERATORS", "setup"]
