"""bundled/lab/workspaces.py: JupyterLab's workspaces API on real files."""

from __future__ import annotations

import hashlib
import json

import pytest
from frontends import use_installed_frontends

from jupyter_server_lite.bundled.lab.workspaces import slugify

API = "lab/api/workspaces"


@pytest.fixture
def workspaces_dir(jsl_dirs):
    return jsl_dirs.user / "lab" / "workspaces"


@pytest.fixture
def jsl_server_config(monkeypatch, workspaces_dir):
    use_installed_frontends(monkeypatch)
    monkeypatch.setenv("JUPYTERLAB_WORKSPACES_DIR", str(workspaces_dir))
    return {}


def workspace(name, data=None):
    return {"data": data or {"layout-restorer:data": {"main": {"dock": None}}}, "metadata": {"id": name}}


async def test_an_unknown_workspace_is_empty_not_an_error(jsl_fetch):
    r = await jsl_fetch(API, "never-saved")
    assert json.loads(r.body) == {"data": {}, "metadata": {"id": "/never-saved"}}


async def test_put_get_list_delete(jsl_fetch, workspaces_dir):
    body = workspace("mine")
    assert (await jsl_fetch(API, "mine", method="PUT", body=body)).code == 204
    path = workspaces_dir / (slugify("mine") + ".jupyterlab-workspace")
    assert json.loads(path.read_text(encoding="utf-8")) == body
    got = json.loads((await jsl_fetch(API, "mine")).body)
    assert got["data"] == body["data"] and got["metadata"]["id"] == "mine" and got["metadata"]["last_modified"]
    listed = json.loads((await jsl_fetch(API)).body)["workspaces"]
    assert listed["ids"] == ["mine"] and listed["values"][0]["data"] == body["data"]
    assert (await jsl_fetch(API, "mine", method="DELETE")).code == 204
    assert not path.exists()


def test_slugs_are_jupyterlab_servers():
    # the same file names jupyterlab_server writes, so an existing workspaces folder reads here
    assert slugify("default") == "default-37a8"
    assert slugify("My Work/2024") == "my-work2024-" + hashlib.sha256(b"My Work/2024").hexdigest()[:4]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "A workspace is a JSON object"),
        ('{"data": {}}', '"metadata"'),
        ('{"data": {}, "metadata": {"id": "other"}}', "ID mismatch"),
        ('{"data": 3, "metadata": {"id": "mine"}}', "A workspace is a JSON object"),
    ],
)
async def test_malformed_workspaces_are_400s_and_write_nothing(
    jsl_fetch, jsl_expect_log, workspaces_dir, body, message
):
    with jsl_expect_log(r"400 PUT"):
        r = await jsl_fetch(API, "mine", method="PUT", body=body, raise_error=False)
    assert r.code == 400 and message in json.loads(r.body)["message"]
    assert not workspaces_dir.exists() or not any(workspaces_dir.iterdir())


async def test_deleting_an_unknown_workspace_is_a_404(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"404 DELETE"):
        r = await jsl_fetch(API, "nope", method="DELETE", raise_error=False)
    assert r.code == 404 and "not found" in json.loads(r.body)["message"]


async def test_a_broken_file_is_left_out_of_the_list_with_a_warning(jsl_fetch, workspaces_dir, jsl_expect_log):
    workspaces_dir.mkdir(parents=True)
    (workspaces_dir / "bad-0000.jupyterlab-workspace").write_text("{", encoding="utf-8")
    with jsl_expect_log(r"Skipping the JupyterLab workspace .*bad-0000"):
        listed = json.loads((await jsl_fetch(API)).body)["workspaces"]
    assert listed == {"ids": [], "values": []}
