"""The extension docs cannot drift from the code they show.

* ``docs/extensions-tutorial.md``: a code block after ``<!-- file: PATH -->``
  is the whole of file PATH of the example package, and every source file of
  that package appears in the tutorial.
* ``docs/extension-cli.md``: the ``list --json`` field table names exactly
  the fields the command prints.  (The commands' ``--help`` texts are in the
  generated CLI reference: tests/test_reference_docs.py.)
* ``docs/services.md``: its table is ``SERVICES``, each service has its
  section, and the complete example provider serves contents for real.
* ``docs/extension-lifecycle.md``: the reserved names are ``RESERVED_NAMES``.

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
SERVICES_DOC = ROOT / "docs" / "services.md"
LIFECYCLE_DOC = ROOT / "docs" / "extension-lifecycle.md"
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


# -- services.md and the reserved names --------------------------------------------------------


def test_services_doc_table_is_the_service_table():
    from jupyter_server_lite.extension.services import SERVICES

    text = SERVICES_DOC.read_text()
    table = text.split("The table is", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (`.*`) \|$", table, re.M)
    documented = {name: tuple(p.strip("`/") for p in re.findall(r"`[^`]+`", paths)) for name, paths in rows}
    assert rows, "no service table in docs/services.md"
    assert documented == {name: tuple(paths) for name, paths in SERVICES.items()}
    headings = re.findall(r"^## (\w+)$", text, re.M)
    assert [h for h in headings if h in SERVICES] == list(SERVICES)  # one section per service, in table order


async def test_services_doc_example_serves_contents(jsl_server_factory, jsl_fetch, jsl_dirs, tmp_path, monkeypatch):
    section = SERVICES_DOC.read_text().split("## A complete small provider", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "my_ro_contents.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    (jsl_dirs.root / "a.txt").write_text("from the docs", encoding="utf-8")
    app = jsl_server_factory(extensions=["my_ro_contents"], start=False)
    await app.start_server()
    record = app.extension_manager.get("my_ro_contents")
    assert record.state == "loaded" and record.provides == ["contents"], record.error
    listing = json.loads((await jsl_fetch("api", "contents", app=app)).body)
    assert [c["name"] for c in listing["content"]] == ["a.txt"]
    assert json.loads((await jsl_fetch("api", "contents", "a.txt", app=app)).body)["content"] == "from the docs"


def test_lifecycle_doc_lists_the_reserved_names():
    from jupyter_server_lite.extension.mount import RESERVED_NAMES
    from jupyter_server_lite.extension.services import top_level_services

    section = " ".join(LIFECYCLE_DOC.read_text().split("### Reserved names", 1)[1].split("\n#", 1)[0].split())
    reserved = section.split("refused (compared without case):", 1)[1].split("These are the paths", 1)[0]
    assert set(re.findall(r"`([^`]+)`", reserved)) == set(RESERVED_NAMES)
    services = section.split("standard services and refused too:", 1)[1].split(";", 1)[0]
    assert set(re.findall(r"`([^`]+)`", services)) == set(top_level_services())
