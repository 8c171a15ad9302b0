"""Sessions point at contents paths: a notebook's kernel runs in its folder, and a rename moves its session."""

from __future__ import annotations

import json
import os

import nbformat


def body(response) -> dict:
    return json.loads(response.body)


def kernel_cwd(app, kernel_id: str) -> str:
    km = app.kernel_manager.get_kernel(kernel_id)
    return os.readlink(f"/proc/{km.provisioner.process.pid}/cwd")


async def test_a_notebooks_kernel_runs_in_its_folder_and_follows_renames(jsl_serverapp, jsl_fetch, jsl_dirs):
    await jsl_fetch("api/contents/work", method="PUT", body={"type": "directory"})
    nb = json.loads(nbformat.writes(nbformat.v4.new_notebook()))
    await jsl_fetch("api/contents/work/analysis.ipynb", method="PUT", body={"type": "notebook", "content": nb})
    session = body(
        await jsl_fetch(
            "api/sessions",
            method="POST",
            body={"path": "work/analysis.ipynb", "name": "analysis.ipynb", "type": "notebook"},
        )
    )
    kernel_id = session["kernel"]["id"]
    assert kernel_cwd(jsl_serverapp, kernel_id) == str(jsl_dirs.root / "work")

    await jsl_fetch("api/contents/work/analysis.ipynb", method="PATCH", body={"path": "work/final.ipynb"})
    moved = body(await jsl_fetch("api/sessions", session["id"]))
    assert (moved["path"], moved["name"], moved["kernel"]["id"]) == ("work/final.ipynb", "final.ipynb", kernel_id)

    await jsl_fetch("api/contents/work", method="PATCH", body={"path": "done"})
    moved = body(await jsl_fetch("api/sessions", session["id"]))
    assert (moved["path"], moved["name"]) == ("done/final.ipynb", "final.ipynb"), "a renamed folder moves its sessions"
    assert jsl_serverapp.session_manager.find_by_path("done/final.ipynb")["id"] == session["id"]
    await jsl_fetch("api/sessions", session["id"], method="DELETE")


async def test_rename_path_touches_only_the_path_and_what_is_below_it(jsl_serverapp, jsl_fetch):
    kernel_id = body(await jsl_fetch("api/kernels", method="POST", body={}))["id"]
    sm = jsl_serverapp.session_manager
    ids = {}
    for path, name in (("work/a.ipynb", "a.ipynb"), ("workshop/b.ipynb", "b.ipynb"), ("work", "custom name")):
        model, _created = await sm.create_session(path=path, type="notebook", name=name, kernel_id=kernel_id)
        ids[path] = model["id"]
    assert sm.rename_path("work", "play") == 2
    paths = {s["id"]: (s["path"], s["name"]) for s in sm.list_sessions()}
    assert paths[ids["work/a.ipynb"]] == ("play/a.ipynb", "a.ipynb")
    assert paths[ids["work"]] == ("play", "custom name"), "a name that is not the file name stays"
    assert paths[ids["workshop/b.ipynb"]] == ("workshop/b.ipynb", "b.ipynb"), "work is not a prefix of workshop"
    assert sm.rename_path("nothing/here", "x") == 0
    await jsl_fetch("api/kernels", kernel_id, method="DELETE")
