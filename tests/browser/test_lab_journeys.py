"""JupyterLab in a real browser against the bundled lab extension (jupyter_server_lite/bundled/lab).

Each journey is what a person does: open Lab with the token, create and run
a notebook, save it, reload, run an existing one, use a terminal, rename and
delete a file.  The recorder (conftest.py) fails a journey on any failed
request, console error or reconnecting websocket.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from journeys import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def open_lab(page: Any, server: Any, path: str = "lab") -> None:
    page.goto(server.page_url(path))
    page.wait_for_selector(".jp-LabShell")
    assert "token=" not in page.url, "the page removes the token from the address bar"


def current_notebook(page: Any, name: str) -> Any:
    """The panel of the notebook tab ``name`` once it is the current tab, its kernel idle."""
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current", has_text=name)
    tab.wait_for()
    panel = page.locator(f"[id='{tab.get_attribute('data-id')}']")
    # The status bar follows the current tab; "Idle" there means its kernel is connected and idle
    # (the toolbar's indicator shows idle before the kernel is).
    page.locator("#jp-main-statusbar", has_text="Python 3 (ipykernel) | Idle").wait_for()
    return panel


def saved_notebook(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def test_lab_opens_on_the_launcher_and_lists_root_dir(page, server):
    open_lab(page, server)
    page.wait_for_selector(".jp-Launcher")
    listing = page.locator(".jp-DirListing-content")
    listing.get_by_text("existing.ipynb").wait_for()
    listing.get_by_text("notes.txt").wait_for()
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    assert config["token"] == "" and config["baseUrl"] == "/a%40b/" and config["appName"] == "JupyterLab"


def test_lab_new_notebook_runs_saves_and_comes_back(page, server):
    open_lab(page, server)
    page.locator(".jp-LauncherCard[data-category='Notebook']").first.click()
    panel = current_notebook(page, "Untitled.ipynb")
    editor = panel.locator(".jp-Cell .cm-content").first
    editor.click()
    page.keyboard.type("print(6*7)")
    page.keyboard.press("Shift+Enter")
    output = panel.locator(".jp-OutputArea-output").first
    output.wait_for()
    assert output.inner_text().strip() == "42"
    page.keyboard.press("Control+s")
    # Lab offers a new name at the first save of an untitled notebook; keep it (renaming is the file
    # browser journey's). Renaming here would leave the old name in the saved workspace, which the
    # reload below would then ask for (a 404) before settling on the new one.
    page.locator(".jp-Dialog .jp-mod-reject").click()
    path = server.root / "Untitled.ipynb"

    def saved_with_output() -> bool:
        cells = saved_notebook(path).get("cells", [])
        return bool(cells) and "".join(cells[0]["source"]) == "print(6*7)" and bool(cells[0]["outputs"])

    wait_until(page, saved_with_output, what="Untitled.ipynb saved with its output")
    cell = saved_notebook(path)["cells"][0]
    assert cell["outputs"][0]["text"] in ("42\n", ["42\n"])

    page.reload()
    page.wait_for_selector(".jp-LabShell")
    tab = page.locator(".lm-TabBar-tab", has_text="Untitled.ipynb")
    tab.wait_for()
    page.locator(".jp-NotebookPanel .jp-Cell .cm-content", has_text="print(6*7)").first.wait_for()


def test_lab_opens_an_existing_notebook_and_runs_all(page, server):
    open_lab(page, server, "lab/tree/existing.ipynb")
    panel = current_notebook(page, "existing.ipynb")
    # Opened from the URL, the file browser has the focus; Run > Run All acts on the focused notebook.
    panel.locator(".jp-InputPrompt").first.click()
    page.locator(".lm-MenuBar-item", has_text="Run").click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
    panel.locator(".jp-OutputArea-output", has_text="answer=42").wait_for()


def terminal_output(frames: list[Any]) -> str:
    """The text of terminado's ``["stdout", text]`` frames, escape sequences removed."""
    text = "".join(json.loads(f)[1] for f in frames if isinstance(f, str) and f.startswith('["stdout"'))
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_lab_terminal_runs_a_command(page, server):
    frames: list[Any] = []

    def watch(ws: Any) -> None:
        if "/terminals/websocket/" in ws.url:
            ws.on("framereceived", lambda payload: frames.append(payload))

    page.on("websocket", watch)
    open_lab(page, server)
    page.locator("#jp-main-dock-panel .lm-TabBar-addButton").first.click()  # a new launcher
    page.locator(".jp-LauncherCard[data-category='Other']", has_text="Terminal").last.click()
    wait_until(
        page, lambda: "#" in terminal_output(frames) or "$" in terminal_output(frames), what="the shell's prompt"
    )
    page.locator(".jp-Terminal .xterm").last.click()
    page.keyboard.type("echo $((6*7))")
    page.keyboard.press("Enter")
    # xterm.js draws on a canvas: what the shell answered is read from the terminal's websocket
    wait_until(page, lambda: re.search(r"[\r\n]42\r\n", terminal_output(frames)), what="42 from the shell")


def test_lab_renames_and_deletes_a_file_from_the_file_browser(page, server):
    (server.root / "rename-me.txt").write_text("x\n", encoding="utf-8")
    open_lab(page, server)
    item = page.locator(".jp-DirListing-item", has_text="rename-me.txt")
    item.wait_for()
    item.click(button="right")
    page.locator(".lm-Menu-item", has_text="Rename").first.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("renamed.txt")
    page.keyboard.press("Enter")
    wait_until(page, lambda: (server.root / "renamed.txt").exists(), what="renamed.txt on disk")
    assert not (server.root / "rename-me.txt").exists()
    renamed = page.locator(".jp-DirListing-item", has_text="renamed.txt")
    renamed.wait_for()
    renamed.click(button="right")
    page.locator(".lm-Menu-item", has_text="Delete").first.click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    wait_until(page, lambda: not (server.root / "renamed.txt").exists(), what="renamed.txt deleted")
    page.locator(".jp-DirListing-item", has_text="renamed.txt").wait_for(state="detached")
