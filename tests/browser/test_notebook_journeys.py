"""Notebook 7 in a real browser against the bundled notebook extension (jupyter_server_lite/bundled/notebook).

The journeys: the file browser at ``/tree``, a notebook opened at
``/notebooks/<path>`` and run, a new notebook from the New menu run and
saved.  The recorder (conftest.py) fails a journey on any failed request,
console error or reconnecting websocket.
"""

from __future__ import annotations

import json

import pytest
from journeys import KernelWatch, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


#: Errors Notebook 7's own scripts log in these journeys; each one happens just the same with
#: jupyter_server 2.21.1 + notebook 7.6.5 (checked against the bench's peer), so none is the server's:
NOTEBOOK_FRONTEND_ERRORS = [
    # The tree-extension plugin loads the settings of plugins the page does not have; the shortcuts
    # plugin then reads the schema of one that failed to load, and throws (on every Notebook page).
    r"page error: Cannot read properties of undefined \(reading 'schema'\)",
    # Opening a new notebook from the tree page disposes the tree page's kernel connection mid-request.
    r"page error: Disposed$",
    # jupyterlab_widgets opens a control comm on every kernel connection; iopub goes to every
    # connection of the kernel, so the tree page hears of a comm it never opened.
    r"^Comm not found for comm id ",
]


@pytest.fixture(autouse=True)
def _frontend_errors(recorder):
    for pattern in NOTEBOOK_FRONTEND_ERRORS:
        recorder.allow(pattern)


def test_tree_lists_the_files(page, server):
    page.goto(server.page_url("tree"))
    listing = page.locator(".jp-DirListing-content")
    listing.get_by_text("existing.ipynb").wait_for()
    listing.get_by_text("notes.txt").wait_for()
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    assert config["appName"] == "Jupyter Notebook" and config["notebookPage"] == "tree"
    assert config["fullStaticUrl"] == "/a%40b/static/notebook" and config["token"] == ""


def test_notebook_page_runs_a_cell(page, server):
    kernel = KernelWatch(page)
    page.goto(server.page_url("notebooks/existing.ipynb"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    kernel.wait_ready()
    page.locator(".jp-Cell .jp-InputPrompt").first.click()
    page.keyboard.press("Shift+Enter")  # x = 6 * 7, then the print below it
    page.keyboard.press("Shift+Enter")
    page.locator(".jp-OutputArea-output", has_text="answer=42").wait_for()


def test_new_notebook_from_the_new_menu_runs_and_saves(page, server):
    page.goto(server.page_url("tree"))
    page.locator(".jp-DirListing-content").get_by_text("existing.ipynb").wait_for()
    before = {p.name for p in server.root.glob("*.ipynb")}
    with page.context.expect_page() as opened:
        page.locator(".jp-FileBrowser-toolbar").get_by_text("New", exact=True).click()
        page.locator(".lm-Menu-item", has_text="Python 3 (ipykernel)").click()  # New > a notebook with this kernel
    notebook = opened.value
    kernel = KernelWatch(notebook)
    notebook.locator(".jp-Notebook .jp-Cell").first.wait_for()
    dialog = notebook.locator(".jp-Dialog")
    if dialog.count():  # Notebook may ask which kernel to start
        dialog.locator(".jp-mod-accept").click()
    kernel.wait_ready()
    created = sorted({p.name for p in server.root.glob("*.ipynb")} - before)
    assert len(created) == 1, created
    assert notebook.url.split("?")[0].endswith("/notebooks/" + created[0])
    notebook.locator(".jp-Cell .cm-content").first.click()
    notebook.keyboard.type("print(6*7)")
    notebook.keyboard.press("Shift+Enter")
    output = notebook.locator(".jp-OutputArea-output").first
    output.wait_for()
    assert output.inner_text().strip() == "42"
    notebook.keyboard.press("Control+s")
    path = server.root / created[0]

    def saved() -> bool:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        return bool(cells) and "".join(cells[0]["source"]) == "print(6*7)" and bool(cells[0]["outputs"])

    wait_until(notebook, saved, what=f"{created[0]} saved with its output")
