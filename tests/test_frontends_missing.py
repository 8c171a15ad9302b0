"""Without the [lab] extra: the lab and notebook extensions load, say they are not installed, and fail nothing.

``jsl_dirs`` isolates every jupyter data path, where no JupyterLab is
installed: exactly a server without the extra (notebook_frontend alone
is not enough, it needs jupyterlab-js's schemas and settings).
"""

from __future__ import annotations

import json

from jupyter_server_lite.cli.extension import main as extension_main


async def test_records_say_not_installed_and_loaded(jsl_fetch):
    records = {r["name"]: r for r in json.loads((await jsl_fetch("api", "extensions")).body)["extensions"]}
    for name in ("lab", "notebook"):
        assert records[name]["state"] == "loaded" and records[name]["error"] == ""
        assert 'pip install "jupyter_server_lite[lab]"' in records[name]["missing_assets"]
        assert records[name]["url"] == "", "no landing page to send / to"


async def test_root_is_the_landing_page_which_says_how_to_install(jsl_fetch):
    r = await jsl_fetch("")
    assert r.code == 200
    assert (
        b"Not installed" in r.body and b"jupyter_server_lite[lab]" in r.body and b'href="/a%40b/dashboard/"' in r.body
    )


async def test_lab_and_notebook_pages_say_how_to_install(jsl_fetch, jsl_expect_log):
    for path in ("lab", "lab/tree/x.ipynb", "doc", "tree", "notebooks/x.ipynb"):
        r = await jsl_fetch(path)
        assert r.code == 200 and b"is not installed" in r.body and b"jupyter_server_lite[lab]" in r.body, path
    with jsl_expect_log(r"404 GET .*/lab/api/settings"):
        r = await jsl_fetch("lab", "api", "settings", raise_error=False)
    assert r.code == 404 and "not installed" in json.loads(r.body)["message"]


def test_extension_list_says_not_installed(jsl_dirs, capsys):
    assert extension_main(["list"]) == 0
    out = capsys.readouterr().out
    lab = next(line for line in out.splitlines() if line.startswith("  jupyter_server_lite.bundled.lab "))
    assert "enabled, ok, not installed: JupyterLab's assets (jupyterlab-js) are not installed" in lab
    assert 'pip install "jupyter_server_lite[lab]"' in lab
