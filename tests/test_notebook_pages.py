"""bundled/notebook: Notebook 7's pages at jupyter_server + notebook's URLs, with a real contents service."""

from __future__ import annotations

import json
import re

import pytest
from frontends import use_installed_frontends


@pytest.fixture
def jsl_server_config(monkeypatch, jsl_dirs):
    use_installed_frontends(monkeypatch)
    (jsl_dirs.root / "work").mkdir()
    (jsl_dirs.root / "work" / "a b.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8"
    )
    (jsl_dirs.root / "work" / "notes.txt").write_text("hi\n", encoding="utf-8")
    return {}


def page_config(body: bytes) -> dict:
    found = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', body, re.S)
    assert found, body[:500]
    return json.loads(found.group(1))


@pytest.mark.parametrize(
    ("path", "page"),
    [
        ("tree", "tree"),
        ("tree/work", "tree"),
        ("notebooks/work/a%20b.ipynb", "notebooks"),
        ("edit/work/notes.txt", "edit"),
        ("consoles/work/a%20b.ipynb", "consoles"),
        ("terminals/1", "terminals"),
    ],
)
async def test_each_page_renders_notebooks_template(jsl_fetch, jsl_serverapp, path, page):
    r = await jsl_fetch(path)
    config = page_config(r.body)
    assert config["notebookPage"] == page and config["appName"] == "Jupyter Notebook"
    assert config["fullStaticUrl"] == "/a%40b/static/notebook" and config["baseUrl"] == "/a%40b/"
    assert config["settingsUrl"] == "/lab/api/settings" and config["token"] == ""
    assert jsl_serverapp.identity_provider.token.encode() not in r.body
    if path == "tree/work":
        assert config["treePath"] == "work"


async def test_tree_redirects_files_to_their_pages(jsl_fetch):
    r = await jsl_fetch("tree/work/a%20b.ipynb", raise_error=False)
    assert r.code == 302 and r.headers["Location"] == "/a%40b/notebooks/work/a%20b.ipynb"
    r = await jsl_fetch("tree/work/notes.txt", raise_error=False)
    assert r.code == 302 and r.headers["Location"] == "/a%40b/files/work/notes.txt"
    r = await jsl_fetch("notebooks/work", raise_error=False)
    assert r.code == 302 and r.headers["Location"] == "/a%40b/tree/work"


@pytest.mark.parametrize("path", ["notebooks/work/missing.ipynb", "tree/nowhere", "edit/no.txt"])
async def test_a_missing_path_is_a_readable_404_page(jsl_fetch, jsl_expect_log, path):
    with jsl_expect_log(r"404 GET"):
        r = await jsl_fetch(path, raise_error=False)
    assert r.code == 404 and r.headers["Content-Type"].startswith("text/html")
    assert b"No such file or directory" in r.body and b"Traceback" not in r.body


async def test_the_terminals_websocket_is_the_terminals_services_beside_the_page(jsl_fetch, jsl_ws_connect):
    model = json.loads((await jsl_fetch("api", "terminals", method="POST", body={})).body)
    assert page_config((await jsl_fetch("terminals", model["name"])).body)["notebookPage"] == "terminals"
    ws = await jsl_ws_connect("terminals", "websocket", model["name"])
    assert json.loads(await ws.read_message())[0] == "setup"
    ws.close()
    await jsl_fetch("api", "terminals", model["name"], method="DELETE")


async def test_custom_css_is_the_users_or_empty(jsl_fetch, jsl_dirs):
    r = await jsl_fetch("custom/custom.css")
    assert r.code == 200 and r.body == b"" and r.headers["Content-Type"].startswith("text/css")
    (jsl_dirs.user / "custom").mkdir()
    (jsl_dirs.user / "custom" / "custom.css").write_text("body { color: red; }\n")
    assert (await jsl_fetch("custom/custom.css")).body == b"body { color: red; }\n"


async def test_notebook_static_and_favicons_are_served(jsl_fetch):
    body = (await jsl_fetch("tree")).body
    main = re.search(rb'src="/a%40b/static/notebook/(main\.[0-9a-f]+\.js)', body).group(1).decode()
    assert (await jsl_fetch("static", "notebook", main, authenticated=False)).code == 200
    for icon in ("favicon.ico", "favicon-notebook.ico", "favicon-busy-1.ico", "favicon-terminal.ico"):
        assert (await jsl_fetch("static", "favicons", icon, authenticated=False)).code == 200, icon
