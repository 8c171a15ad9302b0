"""The generated reference pages of the docs: code in, MyST Markdown out.

Each module turns one part of the code into the Markdown of one reference
page, so the page cannot drift from the code:

* :mod:`.config` -- every configurable trait, from the classes themselves;
* :mod:`.cli` -- every command's ``--help``, from the applications;
* :mod:`.hooks` -- every hookspec, from ``extension/hooks.py``;
* :mod:`.rest` -- every route, from ``services/openapi.json``.

These modules import neither Sphinx nor docutils: the tests import them to
check that the references are complete, in an environment without the
``docs`` extra.  :mod:`.directives` is the Sphinx side: one directive per
generator, which parses the Markdown into the page that holds it.
"""

from __future__ import annotations

import re

#: ASCII punctuation that Markdown may read as markup outside code spans.
_MARKUP = re.compile(r"([\\*_<>\[\]|{}$#~!])")
#: A code span: a run of backticks, text, the same run (CommonMark).
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def inline_text(text: str) -> str:
    """``text`` (a help string, a description) as Markdown that shows it literally.

    Code spans (`` `x` `` and ````x````, the markup help strings already use)
    stay code; every other markup character is escaped, so ``jsl-auth-<port>``
    is not swallowed as an HTML tag and ``*`` starts no emphasis.
    """
    out, last = [], 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_MARKUP.sub(r"\\\1", text[last : match.start()]))
        out.append(code(match.group(2).strip()))
        last = match.end()
    out.append(_MARKUP.sub(r"\\\1", text[last:]))
    return "".join(out)


def paragraphs(text: str) -> list[str]:
    """A help string or docstring as Markdown blocks that show it faithfully.

    Help strings are wrapped in code, so a paragraph's lines are joined into
    one; a block of ``* `` or ``- `` items stays a list; an indented block
    (after ``::`` or ``.. code-block::``, as jupyter_client and traitlets
    write examples) becomes a code block, its lines kept as they are.
    """
    import inspect

    out: list[str] = []
    for block in re.split(r"\n\s*\n", inspect.cleandoc(text)):
        lines = block.splitlines()
        if not block.strip() or lines[0].startswith(".. "):
            continue  # an rST directive line: its content follows as an indented block
        if all(line.startswith((" ", "\t")) or not line.strip() for line in lines):
            out.append("```text\n" + textwrap_dedent(block) + "\n```")
        elif lines[0].lstrip().startswith(("* ", "- ")):
            items = re.split(r"\n\s*[*-] ", "\n" + block.strip())
            out.append("\n".join("* " + inline_text(" ".join(i.split())) for i in items if i.strip()))
        else:
            out.append(inline_text(" ".join(block.split())))
    return out


def textwrap_dedent(block: str) -> str:
    import textwrap

    return textwrap.dedent(block).strip("\n")


def code(text: str) -> str:
    """``text`` as one inline code span, whatever backticks it holds."""
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
