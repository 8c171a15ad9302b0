"""The extension docs cannot drift from the code they show.

* ``docs/extensions-tutorial.md``: a code block after ``<!-- file: PATH -->``
  is the whole of file PATH of the example package, and every source file of
  that package appears in the tutorial.
* ``docs/extension-cli.md``: the ``list --json`` field table names exactly
  the fields the command prints.  (The commands' ``--help`` texts are in the
  generated CLI reference: tests/test_reference_docs.py.)

After a deliberate change, ``JSL_UPDATE_DOCS=1 python -m pytest
tests/test_extension_docs.py`` rewrites the blocks from the code; review the
diff.
"""

import json
import os
import re
from pathlib import Path

from jupyter_server_lite.cli import extension as cli

ROOT = Path(__file__).parents[1]
TUTORIAL = ROOT / "docs" / "extensions-tutorial.md"
CLI_DOC = ROOT / "docs" / "extension-cli.md"
EXAMPLE = ROOT / "examples" / "jsl_hello"
UPDATE = os.environ.get("JSL_UPDATE_DOCS") == "1"

# A marker comment, then a fenced block (any language); group 3 is the body.
BLOCK = re.compile(r"<!-- (file): ([^>]+?) -->\n```[\w-]*\n(.*?)```", re.S)


def blocks(path, kind):
    return [(m.group(2), m.group(3), m) for m in BLOCK.finditer(path.read_text()) if m.group(1) == kind]


def sync(path, kind, expected_for):
    """Compare each block with ``expected_for(key)``; rewrite them when updating."""
    text = path.read_text()
    found = blocks(path, kind)
    assert found, f"{path.name} has no <!-- {kind}: ... --> blocks"
    stale = [key for key, body, _ in found if body != expected_for(key)]
    if UPDATE and stale:
        for key, _body, m in reversed(found):
            text = text[: m.start(3)] + expected_for(key) + text[m.end(3) :]
        path.write_text(text)
        return
    assert not stale, f"{path.name}: blocks no longer match the code: {stale} (see this module's docstring)"


def example_files():
    skip = {"__pycache__", "build", "dist"}
    return sorted(
        p.relative_to(ROOT).as_posix()
        for p in EXAMPLE.rglob("*")
        if p.is_file()
        and not any(
            part in skip or part.startswith(".") or part.endswith(".egg-info") for part in p.relative_to(EXAMPLE).parts
        )
    )


def file_text(relpath):
    text = (ROOT / relpath).read_text()
    return text if text.endswith("\n") else text + "\n"


def test_tutorial_blocks_are_the_example_files():
    sync(TUTORIAL, "file", file_text)


def test_tutorial_shows_every_example_file():
    shown = {key for key, _, _ in blocks(TUTORIAL, "file")}
    assert set(example_files()) <= shown, f"not in the tutorial: {sorted(set(example_files()) - shown)}"


def test_cli_reference_names_every_list_json_field(jsl_dirs, capsys):
    jsl_dirs.write_config(
        "user", "jupyter_server_lite_config.d/json.json", {"ServerApp": {"jpserver_extensions": {"json": True}}}
    )
    assert cli.main(["list", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["extensions"][0]
    table = CLI_DOC.read_text().split("<!-- list-json-fields -->", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", table, re.M)
    assert documented == list(row)
