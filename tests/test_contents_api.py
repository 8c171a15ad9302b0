"""``/api/contents`` over HTTP: the wire format, every refusal a precise JSON 4xx, nothing damaged.

The server runs with its bundled extensions, as a user gets it: the contents
service is on by default.  The manager's own rules are in
test_contents_manager.py; this file holds what a client sees.
"""

from __future__ import annotations

import base64
import json
import logging
import sys

import nbformat
import pytest

from jupyter_server_lite.bundled.contents import ContentsApp
from jupyter_server_lite.bundled.contents.base import ContentsManager, FileInfo

MODEL_KEYS = {
    "name",
    "path",
    "type",
    "writable",
    "created",
    "last_modified",
    "mimetype",
    "content",
    "format",
    "size",
    "hash",
    "hash_algorithm",
}


def body(response) -> dict:
    return json.loads(response.body)


async def api(jsl_fetch, path: str, method: str = "GET", **kwargs):
    """A contents request; ``path`` is sent as written (already URL-encoded where it matters)."""
    return await jsl_fetch("api/contents/" + path.lstrip("/"), method=method, raise_error=False, **kwargs)


async def refused(jsl_fetch, jsl_expect_log, path: str, status: int, words: str, method: str = "GET", **kwargs):
    with jsl_expect_log(rf"{status} {method} "):
        r = await api(jsl_fetch, path, method, **kwargs)
    assert r.code == status, (r.code, r.body)
    error = body(r)
    assert set(error) == {"message", "reason"} and words in error["message"], error
    assert "Traceback" not in r.body.decode()
    return error


def notebook(source: str = "print(1)") -> dict:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return json.loads(nbformat.writes(nb))


# -- the service is there, and replaceable ----------------------------------------------------


async def test_contents_is_on_by_default_and_is_the_servers_contents_manager(jsl_serverapp, jsl_fetch):
    assert isinstance(jsl_serverapp.contents_manager, ContentsManager)
    records = {e["module"]: e for e in body(await jsl_fetch("api", "extensions"))["extensions"]}
    assert records["jupyter_server_lite.bundled.contents"]["state"] == "loaded"
    assert "contents" in records["jupyter_server_lite.bundled.contents"]["provides"]
    assert records["jupyter_server_lite.bundled.files"]["state"] == "loaded"
    r = await api(jsl_fetch, "")
    assert r.code == 200 and body(r)["type"] == "directory"


class OtherContentsManager(ContentsManager):
    """A second provider's manager: one read-only file, to prove the handlers are reusable."""

    async def exists(self, path):
        return path.strip("/") in ("", "hello.txt")

    async def dir_exists(self, path):
        return path.strip("/") == ""

    async def file_exists(self, path):
        return path.strip("/") == "hello.txt"

    async def is_hidden(self, path):
        return False

    async def _get(self, path, content, type, format, require_hash):
        return {
            "name": path or "",
            "path": path,
            "type": "file",
            "writable": False,
            "created": "2024-01-01T00:00:00Z",
            "last_modified": "2024-01-01T00:00:00Z",
            "mimetype": "text/plain",
            "content": "from elsewhere" if content else None,
            "format": "text" if content else None,
            "size": 14,
            "hash": None,
            "hash_algorithm": None,
        }

    async def _file_info(self, path):
        return FileInfo(path=path, size=14, last_modified=0.0, etag="1")

    async def read_chunks(self, path, start, end):
        yield b"from elsewhere"[start:end]


class OtherContentsApp(ContentsApp):
    """Another provider of ``contents``: the bundled handlers over its own manager."""

    name = "other_contents"

    def initialize_settings(self) -> None:
        self.contents_manager = OtherContentsManager(parent=self, log=self.log)


async def test_another_provider_replaces_the_bundled_one(jsl_server_factory, jsl_fetch):
    app = jsl_server_factory(extensions=[OtherContentsApp], start=False)
    await app.start_server()
    assert isinstance(app.contents_manager, OtherContentsManager)
    r = await jsl_fetch("api/contents/hello.txt", app=app)
    assert body(r)["content"] == "from elsewhere"
    records = {e["module"]: e for e in body(await jsl_fetch("api", "extensions", app=app))["extensions"]}
    assert set(records["jupyter_server_lite.bundled.contents"]["replaced_by"]) == {"contents"}
    r = await jsl_fetch("files/hello.txt", app=app)
    assert r.body == b"from elsewhere", "/files/ streams from the active provider"


# -- models -----------------------------------------------------------------------------------


async def test_directory_file_and_notebook_models(jsl_fetch, jsl_dirs):
    root = jsl_dirs.root
    (root / "sub").mkdir()
    (root / "sub" / "a.txt").write_text("hello")
    (root / "sub" / "nb.ipynb").write_text(json.dumps(notebook()))
    listing = body(await api(jsl_fetch, "sub"))
    assert listing["type"] == "directory" and listing["format"] == "json" and listing["size"] is None
    assert {c["name"]: c["type"] for c in listing["content"]} == {"a.txt": "file", "nb.ipynb": "notebook"}
    for child in listing["content"]:
        assert set(child) == MODEL_KEYS and child["content"] is None and child["format"] is None
    text = body(await api(jsl_fetch, "sub/a.txt", params={"hash": "1"}))
    assert set(text) == MODEL_KEYS
    assert (text["content"], text["format"], text["size"], text["writable"]) == ("hello", "text", 5, True)
    assert text["hash_algorithm"] == "sha256" and len(text["hash"]) == 64
    assert text["created"].endswith("Z") and text["last_modified"].endswith("Z")
    nb = body(await api(jsl_fetch, "sub/nb.ipynb"))
    assert nb["type"] == "notebook" and nb["format"] == "json" and nb["content"]["cells"][0]["source"] == "print(1)"
    bare = body(await api(jsl_fetch, "sub/nb.ipynb", params={"content": "0"}))
    assert bare["content"] is None
    as_file = body(await api(jsl_fetch, "sub/nb.ipynb", params={"type": "file", "format": "base64"}))
    assert json.loads(base64.b64decode(as_file["content"])) == json.loads((root / "sub" / "nb.ipynb").read_text())


async def test_bad_query_arguments(jsl_fetch, jsl_expect_log):
    await refused(jsl_fetch, jsl_expect_log, "", 400, "content='2'", params={"content": "2"})
    await refused(jsl_fetch, jsl_expect_log, "", 400, "hash='yes'", params={"hash": "yes"})
    await refused(jsl_fetch, jsl_expect_log, "", 400, "Format 'json'", params={"format": "json"})
    await refused(jsl_fetch, jsl_expect_log, "", 400, "is a directory", params={"type": "notebook"})


# -- creating, saving, uploading -----------------------------------------------------------


async def test_post_new_untitled_and_copy(jsl_fetch, jsl_dirs, jsl_expect_log):
    r = await api(jsl_fetch, "", "POST", body={"type": "notebook"})
    assert r.code == 201 and body(r)["path"] == "Untitled.ipynb"
    assert r.headers["Location"].endswith("/api/contents/Untitled.ipynb")
    names = [body(await api(jsl_fetch, "", "POST", body={"type": "file", "ext": ".txt"}))["name"] for _ in range(2)]
    assert names == ["untitled.txt", "untitled1.txt"]
    assert body(await api(jsl_fetch, "", "POST", body={"type": "directory"}))["name"] == "Untitled Folder"
    assert body(await api(jsl_fetch, "", "POST"))["name"] == "untitled", "no body: an untitled file"
    r = await api(jsl_fetch, "", "POST", body={"copy_from": "Untitled.ipynb"})
    assert r.code == 201 and body(r)["path"] == "Untitled-Copy1.ipynb"
    await refused(jsl_fetch, jsl_expect_log, "untitled.txt", 400, "use PUT", method="POST", body={})
    await refused(jsl_fetch, jsl_expect_log, "nowhere", 404, "No such directory", method="POST", body={})
    await refused(jsl_fetch, jsl_expect_log, "", 404, "No such file", method="POST", body={"copy_from": "nope.txt"})
    await refused(jsl_fetch, jsl_expect_log, "", 400, "copy_from", method="POST", body={"copy_from": 3})
    await refused(jsl_fetch, jsl_expect_log, "", 400, "not valid JSON", method="POST", body="{")


async def test_put_save_and_upload(jsl_fetch, jsl_dirs, jsl_expect_log):
    root = jsl_dirs.root
    r = await api(jsl_fetch, "new.txt", "PUT", body={"type": "file", "format": "text", "content": "v1"})
    assert r.code == 201 and body(r)["content"] is None and (root / "new.txt").read_text() == "v1"
    r = await api(jsl_fetch, "new.txt", "PUT", body={"type": "file", "format": "text", "content": "v2"})
    assert r.code == 200 and (root / "new.txt").read_text() == "v2"
    data = bytes(range(256))
    r = await api(
        jsl_fetch,
        "bin.dat",
        "PUT",
        body={"type": "file", "format": "base64", "content": base64.b64encode(data).decode()},
    )
    assert r.code == 201 and (root / "bin.dat").read_bytes() == data
    r = await api(jsl_fetch, "nb.ipynb", "PUT", body={"type": "notebook", "content": notebook("x = 1")})
    assert r.code == 201 and body(r)["type"] == "notebook"
    r = await api(jsl_fetch, "made", "PUT", body={"type": "directory"})
    assert r.code == 201 and (root / "made").is_dir()
    await refused(jsl_fetch, jsl_expect_log, "x.txt", 400, "needs a JSON model", method="PUT", body={})
    await refused(jsl_fetch, jsl_expect_log, "x.txt", 400, "only POST", method="PUT", body={"copy_from": "new.txt"})
    await refused(jsl_fetch, jsl_expect_log, "x.txt", 400, "'type'", method="PUT", body={"content": "x"})


async def test_malformed_notebook_save_is_a_precise_400_and_nothing_changes(jsl_fetch, jsl_dirs, jsl_expect_log):
    await api(jsl_fetch, "nb.ipynb", "PUT", body={"type": "notebook", "content": notebook()})
    before = (jsl_dirs.root / "nb.ipynb").read_bytes()
    bad = notebook()
    bad["cells"][0]["outputs"] = "not a list"
    error = await refused(
        jsl_fetch,
        jsl_expect_log,
        "nb.ipynb",
        400,
        "cells/0/outputs",
        method="PUT",
        body={"type": "notebook", "content": bad},
    )
    assert "is not of type 'array'" in error["message"]
    assert (jsl_dirs.root / "nb.ipynb").read_bytes() == before
    (jsl_dirs.root / "broken.ipynb").write_text("{not json")
    await refused(jsl_fetch, jsl_expect_log, "broken.ipynb", 400, "Unreadable Notebook")


async def test_save_to_a_missing_folder(jsl_fetch, jsl_dirs, jsl_expect_log):
    await refused(
        jsl_fetch,
        jsl_expect_log,
        "missing/dir/a.txt",
        404,
        "No such directory: 'missing/dir'",
        method="PUT",
        body={"type": "file", "format": "text", "content": "x"},
    )
    assert list(jsl_dirs.root.iterdir()) == []


async def test_chunked_upload_over_http(jsl_fetch, jsl_dirs, jsl_expect_log):
    def chunk(n: int, data: bytes) -> dict:
        return {"type": "file", "format": "base64", "chunk": n, "content": base64.b64encode(data).decode()}

    r = await api(jsl_fetch, "up.bin", "PUT", body=chunk(1, b"first-"))
    assert r.code == 201 and not (jsl_dirs.root / "up.bin").exists()
    error = await refused(
        jsl_fetch, jsl_expect_log, "up.bin", 400, "expected chunk 2", method="PUT", body=chunk(3, b"x")
    )
    assert "out of order" in error["message"]
    await api(jsl_fetch, "up.bin", "PUT", body=chunk(2, b"second-"))
    r = await api(jsl_fetch, "up.bin", "PUT", body=chunk(-1, b"last"))
    assert r.code == 201 and body(r)["size"] == len(b"first-second-last")
    assert (jsl_dirs.root / "up.bin").read_bytes() == b"first-second-last"
    await refused(
        jsl_fetch, jsl_expect_log, "up.bin", 400, "no upload of it is in progress", method="PUT", body=chunk(2, b"x")
    )


# -- rename, delete, checkpoints ---------------------------------------------------------------


async def test_patch_rename(jsl_fetch, jsl_dirs, jsl_expect_log):
    root = jsl_dirs.root
    (root / "a.txt").write_text("a")
    (root / "b.txt").write_text("b")
    r = await api(jsl_fetch, "a.txt", "PATCH", body={"path": "c.txt"})
    assert r.code == 200 and body(r)["path"] == "c.txt" and r.headers["Location"].endswith("/api/contents/c.txt")
    await refused(jsl_fetch, jsl_expect_log, "c.txt", 409, "already exists", method="PATCH", body={"path": "b.txt"})
    assert (root / "b.txt").read_text() == "b" and (root / "c.txt").read_text() == "a"
    await refused(jsl_fetch, jsl_expect_log, "nope.txt", 404, "No such file", method="PATCH", body={"path": "d.txt"})
    await refused(jsl_fetch, jsl_expect_log, "c.txt", 400, "'path'", method="PATCH", body={"path": 1})
    await refused(jsl_fetch, jsl_expect_log, "c.txt", 400, "JSON object", method="PATCH", body=[])


async def test_delete_and_unknown_paths(jsl_fetch, jsl_dirs, jsl_expect_log):
    (jsl_dirs.root / "full" / "deep").mkdir(parents=True)
    (jsl_dirs.root / "full" / "deep" / "x.txt").write_text("x")
    r = await api(jsl_fetch, "full", "DELETE")
    assert r.code == 204 and not r.body and not (jsl_dirs.root / "full").exists()
    await refused(jsl_fetch, jsl_expect_log, "full", 404, "No such file or directory: 'full'", method="DELETE")
    await refused(jsl_fetch, jsl_expect_log, "no/such/file.txt", 404, "No such file or directory")
    await refused(jsl_fetch, jsl_expect_log, "", 400, "root", method="DELETE")


async def test_checkpoints_over_http(jsl_fetch, jsl_dirs, jsl_expect_log):
    await api(jsl_fetch, "f.txt", "PUT", body={"type": "file", "format": "text", "content": "v1"})
    r = await api(jsl_fetch, "f.txt/checkpoints", "POST")
    assert r.code == 201 and body(r)["id"] == "checkpoint"
    assert r.headers["Location"].endswith("/api/contents/f.txt/checkpoints/checkpoint")
    assert [c["id"] for c in body(await api(jsl_fetch, "f.txt/checkpoints"))] == ["checkpoint"]
    await api(jsl_fetch, "f.txt", "PUT", body={"type": "file", "format": "text", "content": "v2"})
    r = await api(jsl_fetch, "f.txt/checkpoints/checkpoint", "POST")
    assert r.code == 204 and (jsl_dirs.root / "f.txt").read_text() == "v1"
    r = await api(jsl_fetch, "f.txt/checkpoints/checkpoint", "DELETE")
    assert r.code == 204 and body(await api(jsl_fetch, "f.txt/checkpoints")) == []
    await refused(jsl_fetch, jsl_expect_log, "f.txt/checkpoints/checkpoint", 404, "f.txt@checkpoint", method="POST")
    await refused(jsl_fetch, jsl_expect_log, "nope.txt/checkpoints", 404, "only files have checkpoints", method="POST")


# -- confinement -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status", "words"),
    [
        ("..", 400, "'..'"),
        ("%2e%2e", 400, "'..'"),
        ("%2E%2E/outside.txt", 400, "'..'"),
        ("a/%2e%2e/%2e%2e/outside.txt", 400, "'..'"),
        ("..%2foutside.txt", 400, "'..'"),
        ("a%2f..%2f..%2foutside.txt", 400, "'..'"),
        ("a%5c..%5c..%5coutside.txt", 400, "forbidden character"),
        ("a%00b", 404, "NUL byte"),  # refused by the core for every route, before the handler
        ("./outside.txt", 400, "'.'"),
    ],
)
async def test_path_escapes_are_refused(jsl_fetch, jsl_expect_log, jsl_dirs, raw, status, words):
    outside = jsl_dirs.root.parent / "outside.txt"
    outside.write_text("secret")
    for method, kwargs in (
        ("GET", {}),
        ("PUT", {"body": {"type": "file", "format": "text", "content": "pwned"}}),
        ("DELETE", {}),
        ("PATCH", {"body": {"path": "moved.txt"}}),
    ):
        await refused(jsl_fetch, jsl_expect_log, raw, status, words, method=method, **kwargs)
    assert outside.read_text() == "secret"


async def test_absolute_and_escaping_paths_in_bodies(jsl_fetch, jsl_expect_log, jsl_dirs):
    outside = jsl_dirs.root.parent / "outside.txt"
    outside.write_text("secret")
    (jsl_dirs.root / "mine.txt").write_text("mine")
    await refused(jsl_fetch, jsl_expect_log, "", 404, "No such file", method="POST", body={"copy_from": str(outside)})
    await refused(jsl_fetch, jsl_expect_log, "", 400, "'..'", method="POST", body={"copy_from": "../outside.txt"})
    await refused(jsl_fetch, jsl_expect_log, "mine.txt", 400, "'..'", method="PATCH", body={"path": "../stolen.txt"})
    await refused(
        jsl_fetch, jsl_expect_log, "mine.txt", 400, "forbidden character", method="PATCH", body={"path": "a\x00b"}
    )
    r = await api(jsl_fetch, "mine.txt", "PATCH", body={"path": "/abs.txt"})
    assert body(r)["path"] == "abs.txt" and (jsl_dirs.root / "abs.txt").exists(), "a leading / means the root"
    assert outside.read_text() == "secret" and not (jsl_dirs.root.parent / "stolen.txt").exists()


async def test_symlinks_leaving_the_root(jsl_fetch, jsl_expect_log, jsl_dirs):
    secret_dir = jsl_dirs.root.parent / "secret"
    secret_dir.mkdir()
    (secret_dir / "key.txt").write_text("key")
    (jsl_dirs.root / "escape").symlink_to(secret_dir)
    (jsl_dirs.root / "inside").symlink_to(jsl_dirs.root)
    await refused(jsl_fetch, jsl_expect_log, "escape/key.txt", 403, "outside the root")
    await refused(
        jsl_fetch,
        jsl_expect_log,
        "escape/new.txt",
        403,
        "outside the root",
        method="PUT",
        body={"type": "file", "format": "text", "content": "x"},
    )
    await refused(jsl_fetch, jsl_expect_log, "escape", 403, "outside the root", method="DELETE")
    assert [c["name"] for c in body(await api(jsl_fetch, ""))["content"]] == ["inside"]
    assert sorted(p.name for p in secret_dir.iterdir()) == ["key.txt"]


async def test_hidden_files_over_http(jsl_fetch, jsl_expect_log, jsl_dirs):
    (jsl_dirs.root / ".env").write_text("SECRET=1")
    (jsl_dirs.root / "shown.txt").write_text("x")
    assert [c["name"] for c in body(await api(jsl_fetch, ""))["content"]] == ["shown.txt"]
    await refused(jsl_fetch, jsl_expect_log, ".env", 404, "No such file")
    await refused(
        jsl_fetch,
        jsl_expect_log,
        ".new",
        400,
        "hidden",
        method="PUT",
        body={"type": "file", "format": "text", "content": "x"},
    )
    await refused(jsl_fetch, jsl_expect_log, ".env", 400, "hidden", method="DELETE")
    await refused(jsl_fetch, jsl_expect_log, "shown.txt", 400, "hidden", method="PATCH", body={"path": ".shown"})
    await refused(jsl_fetch, jsl_expect_log, "", 400, "hidden", method="POST", body={"copy_from": ".env"})
    assert (jsl_dirs.root / ".env").read_text() == "SECRET=1"


async def test_allow_hidden(jsl_server_factory, jsl_fetch, jsl_dirs):
    (jsl_dirs.root / ".env").write_text("SECRET=1")
    app = jsl_server_factory(config={"ContentsManager": {"allow_hidden": True}}, start=False)
    await app.start_server()
    r = await jsl_fetch("api/contents/.env", app=app)
    assert body(r)["content"] == "SECRET=1"


async def test_anonymous_requests_are_refused(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"403 GET .*/api/contents"):
        r = await api(jsl_fetch, "", authenticated=False)
    assert r.code == 403


async def test_large_content_is_refused_with_a_pointer_to_files(
    jsl_server_factory, jsl_fetch, jsl_dirs, jsl_expect_log
):
    app = jsl_server_factory(config={"ContentsManager": {"max_content_size": 1000}}, start=False)
    await app.start_server()
    (jsl_dirs.root / "big.txt").write_text("x" * 1001)
    with jsl_expect_log(r"400 GET .*big.txt", logging.WARNING):
        r = await jsl_fetch("api/contents/big.txt", app=app, raise_error=False)
    assert r.code == 400 and "/files/big.txt" in body(r)["message"]


STARTUP_PROBE = """
import asyncio, json, sys
from tornado.httpclient import AsyncHTTPClient
from jupyter_server_lite.serverapp import ServerApp

HEAVY = ("nbformat", "jsonschema", "fastjsonschema")

def loaded():
    return sorted(m for m in HEAVY if m in sys.modules)

async def main():
    out = {"imported": loaded()}
    app = ServerApp()
    app.initialize(sys.argv[1:])
    await app.start_server()
    out["started"] = loaded()
    url = f"http://127.0.0.1:{app.actual_port}/api/contents/"
    headers = {"Authorization": "token probe-token"}
    listing = await AsyncHTTPClient().fetch(url, headers=headers)
    out["listed"] = [json.loads(listing.body)["content"][0]["type"], loaded()]
    await AsyncHTTPClient().fetch(url + "nb.ipynb", headers=headers)
    out["notebook_read"] = loaded()
    await app.stop_server()
    print(json.dumps(out))

asyncio.run(main())
"""


def test_start_up_loads_neither_nbformat_nor_jsonschema(jsl_dirs):
    """A property of the start path, in a fresh process: the heavy modules come with the first notebook."""
    import subprocess

    (jsl_dirs.root / "nb.ipynb").write_text(json.dumps(notebook()))
    argv = [
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.open_browser=False",
        "--IdentityProvider.token=probe-token",
        f"--ServerApp.root_dir={jsl_dirs.root}",
        "--ServerApp.jpserver_extensions=jupyter_server_lite.bundled.contents=True",
        "--ServerApp.jpserver_extensions=jupyter_server_lite.bundled.files=True",
    ]
    proc = subprocess.run([sys.executable, "-c", STARTUP_PROBE, *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["imported"] == [] and out["started"] == []
    assert out["listed"] == ["notebook", []], "a listing with a notebook in it parses nothing"
    assert set(out["notebook_read"]) >= {"nbformat", "jsonschema"}


async def test_without_a_contents_provider_the_accessor_says_so(jsl_server_factory, jsl_fetch, jsl_expect_log):
    off = {"jupyter_server_lite.bundled.contents": False}
    app = jsl_server_factory(config={"ServerApp": {"jpserver_extensions": off}}, start=False)
    await app.start_server()
    with pytest.raises(RuntimeError, match="no contents service"):
        app.contents_manager  # noqa: B018 -- the property is the test
    with jsl_expect_log(r"503 GET .*files/a.txt"):
        r = await jsl_fetch("files/a.txt", app=app, raise_error=False)
    assert r.code == 503 and body(r)["message"].startswith("No contents service")
