"""FileContentsManager on real files: naming, confinement, atomic saves, uploads, checkpoints.

The REST layer over it is tested in test_contents_api.py; here the manager is
driven directly, as another provider's handlers or /files would drive it.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from tornado import web

from jupyter_server_lite.bundled.contents import fileio
from jupyter_server_lite.bundled.contents.filemanager import FileContentsManager


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def cm(root: Path) -> FileContentsManager:
    return FileContentsManager(root_dir=str(root))


def notebook_json(source: str = "1 + 1") -> dict:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return json.loads(nbformat.writes(nb))


async def refused(coro, status: int, words: str = "") -> str:
    with pytest.raises(web.HTTPError) as err:
        await coro
    assert err.value.status_code == status, err.value.log_message
    message = err.value.log_message % err.value.args if err.value.args else err.value.log_message
    assert words in message, message
    return message


# -- names -------------------------------------------------------------------------


async def test_untitled_names_count_up_as_jupyter_server_names_them(cm, root):
    names = [(await cm.new_untitled("", type="file", ext=".txt"))["name"] for _ in range(3)]
    assert names == ["untitled.txt", "untitled1.txt", "untitled2.txt"]
    names = [(await cm.new_untitled("", type="notebook"))["name"] for _ in range(2)]
    assert names == ["Untitled.ipynb", "Untitled1.ipynb"]
    names = [(await cm.new_untitled("", type="directory"))["name"] for _ in range(2)]
    assert names == ["Untitled Folder", "Untitled Folder 1"]
    assert (root / "Untitled Folder 1").is_dir()
    nb = json.loads((root / "Untitled.ipynb").read_text())
    assert nb["nbformat"] == 4 and nb["cells"] == []
    assert (root / ".ipynb_checkpoints" / "Untitled-checkpoint.ipynb").is_file(), "a notebook always has a checkpoint"


async def test_copy_names(cm, root):
    (root / "nb.ipynb").write_text(json.dumps(notebook_json()))
    (root / "data.tar.gz").write_bytes(b"\x1f\x8b")
    (root / "sub").mkdir()
    assert (await cm.copy("nb.ipynb"))["path"] == "nb-Copy1.ipynb"
    assert (await cm.copy("nb.ipynb"))["path"] == "nb-Copy2.ipynb"
    assert (await cm.copy("nb-Copy1.ipynb"))["path"] == "nb-Copy3.ipynb", "a copy of a copy is not -Copy1-Copy1"
    assert (await cm.copy("data.tar.gz"))["path"] == "data-Copy1.tar.gz"
    assert (await cm.copy("nb.ipynb", "sub"))["path"] == "sub/nb.ipynb", "no suffix where the name is free"
    assert (await cm.copy("nb.ipynb", "sub/other.ipynb"))["path"] == "sub/other.ipynb"
    assert (root / "nb-Copy2.ipynb").read_bytes() == (root / "nb.ipynb").read_bytes()
    await refused(cm.copy("nb.ipynb", "sub/other.ipynb"), 409, "already exists")
    await refused(cm.copy("nb.ipynb", "nowhere/x.ipynb"), 404, "No such directory")
    await refused(cm.copy("missing.ipynb"), 404)


async def test_copy_a_folder(cm, root):
    (root / "d" / "e").mkdir(parents=True)
    (root / "d" / "e" / "f.txt").write_text("deep")
    model = await cm.copy("d")
    assert model["path"] == "d-Copy1" and model["type"] == "directory"
    assert (root / "d-Copy1" / "e" / "f.txt").read_text() == "deep"


# -- confinement -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("..", 400, "'..'"),
        ("../outside.txt", 400, "'..'"),
        ("a/../../outside.txt", 400, "'..'"),
        ("./a", 400, "'.'"),
        ("a\\..\\..\\outside.txt", 400, "forbidden character '\\\\'"),
        ("a\x00b", 400, "forbidden character '\\x00'"),
        ("a\nb", 400, "forbidden character"),
    ],
)
async def test_malformed_paths_are_refused_before_touching_disk(cm, tmp_path, path, status, words):
    (tmp_path / "outside.txt").write_text("secret")
    await refused(cm.get(path), status, words)
    await refused(cm.save({"type": "file", "format": "text", "content": "x"}, path), status, words)
    await refused(cm.delete(path), status, words)
    assert (tmp_path / "outside.txt").read_text() == "secret"


async def test_absolute_path_means_below_the_root(cm, root):
    await refused(cm.get("/etc/passwd"), 404)
    (root / "etc").mkdir()
    (root / "etc" / "passwd").write_text("mine")
    assert (await cm.get("/etc/passwd"))["content"] == "mine"
    assert (await cm.get("//etc//passwd/"))["path"] == "etc/passwd"


async def test_symlink_out_of_the_root_is_forbidden_and_not_listed(cm, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (root / "out").symlink_to(outside)
    (root / "out-file").symlink_to(outside / "secret.txt")
    await refused(cm.get("out/secret.txt"), 403, "outside the root")
    await refused(cm.get("out-file"), 403, "outside the root")
    await refused(cm.save({"type": "file", "format": "text", "content": "pwned"}, "out/secret.txt"), 403)
    await refused(cm.save({"type": "file", "format": "text", "content": "pwned"}, "out/new.txt"), 403)
    await refused(cm.delete("out-file"), 403)
    await refused(cm.rename("out-file", "mine.txt"), 403)
    await refused(cm.copy("out-file"), 403)
    await refused(cm.file_info("out/secret.txt"), 403)
    assert [c["name"] for c in (await cm.get(""))["content"]] == []
    assert (outside / "secret.txt").read_text() == "secret" and not (outside / "new.txt").exists()


async def test_symlink_inside_the_root_is_an_ordinary_entry(cm, root):
    (root / "real").mkdir()
    (root / "real" / "a.txt").write_text("inside")
    (root / "alias").symlink_to(root / "real")
    (root / "alias.txt").symlink_to(root / "real" / "a.txt")
    assert (await cm.get("alias/a.txt"))["content"] == "inside"
    listing = {c["name"]: c["type"] for c in (await cm.get(""))["content"]}
    assert listing == {"alias": "directory", "alias.txt": "file", "real": "directory"}
    await cm.save({"type": "file", "format": "text", "content": "through the link"}, "alias.txt")
    assert (root / "alias.txt").is_symlink(), "saving through a link keeps the link"
    assert (root / "real" / "a.txt").read_text() == "through the link"
    await cm.delete("alias")
    assert not (root / "alias").exists() and (root / "real" / "a.txt").exists(), "deleting a link never follows it"


# -- hidden files ---------------------------------------------------------------------------


async def test_hidden_files_are_off_unless_allowed(cm, root):
    (root / ".secret").write_text("hidden")
    (root / ".dir").mkdir()
    (root / ".dir" / "x.txt").write_text("x")
    (root / "visible.txt").write_text("v")
    (root / "link-to-hidden").symlink_to(root / ".dir")
    assert [c["name"] for c in (await cm.get(""))["content"]] == ["visible.txt"]
    await refused(cm.get(".secret"), 404)
    await refused(cm.get(".dir/x.txt"), 404)
    await refused(cm.get("link-to-hidden/x.txt"), 404)
    await refused(cm.save({"type": "file", "format": "text", "content": "x"}, ".new"), 400, "hidden")
    await refused(cm.rename("visible.txt", ".visible"), 400, "hidden")
    await refused(cm.delete(".secret"), 400, "hidden")
    await refused(cm.file_info(".secret"), 404)
    assert (root / ".secret").read_text() == "hidden" and (root / "visible.txt").exists()

    cm.allow_hidden = True
    names = {c["name"] for c in (await cm.get(""))["content"]}
    assert names == {".secret", ".dir", "visible.txt", "link-to-hidden"}
    assert (await cm.get(".secret"))["content"] == "hidden"


async def test_hide_globs_leave_names_out_of_listings_only(cm, root):
    (root / "__pycache__").mkdir()
    (root / "mod.pyc").write_bytes(b"\0")
    (root / "backup~").write_text("old")
    assert (await cm.get(""))["content"] == []
    assert (await cm.get("backup~"))["content"] == "old"


# -- models -------------------------------------------------------------------------------


async def test_file_models_formats_and_hash(cm, root):
    (root / "t.txt").write_text("héllo")
    (root / "b.bin").write_bytes(b"\xff\x00")
    text = await cm.get("t.txt", require_hash=True)
    assert (text["format"], text["content"], text["mimetype"], text["size"]) == ("text", "héllo", "text/plain", 6)
    assert text["hash_algorithm"] == "sha256" and text["hash"] == fileio.hash_bytes("héllo".encode(), "sha256")
    binary = await cm.get("b.bin")
    assert binary["format"] == "base64" and base64.b64decode(binary["content"]) == b"\xff\x00"
    assert binary["mimetype"] == "application/octet-stream"
    assert base64.b64decode((await cm.get("t.txt", format="base64"))["content"]) == "héllo".encode()
    await refused(cm.get("b.bin", format="text"), 400, "not UTF-8")
    bare = await cm.get("t.txt", content=False, require_hash=True)
    assert bare["content"] is None and bare["format"] is None and bare["hash"] == text["hash"]
    await refused(cm.get("t.txt", type="directory"), 400, "not a directory")
    await refused(cm.get("", type="file"), 400, "is a directory")


async def test_content_larger_than_the_limit_is_refused(cm, root):
    cm.max_content_size = 10
    (root / "big.txt").write_text("x" * 11)
    await refused(cm.get("big.txt"), 400, "/files/big.txt")
    assert (await cm.get("big.txt", content=False))["size"] == 11
    await refused(cm.save({"type": "file", "format": "text", "content": "y" * 11}, "big.txt"), 413, "chunks")
    assert (root / "big.txt").read_text() == "x" * 11


# -- notebooks -------------------------------------------------------------------------------


async def test_malformed_notebook_is_a_precise_400_on_save_and_nothing_is_written(cm, root):
    good = notebook_json()
    await cm.save({"type": "notebook", "content": good}, "nb.ipynb")
    before = (root / "nb.ipynb").read_bytes()
    bad = json.loads(json.dumps(good))
    del bad["cells"][0]["source"]
    message = await refused(cm.save({"type": "notebook", "content": bad}, "nb.ipynb"), 400, "cells/0")
    assert "'source' is a required property" in message
    await refused(cm.save({"type": "notebook", "content": "not a dict"}, "nb.ipynb"), 400, "JSON object")
    await refused(cm.save({"type": "notebook", "content": {"nbformat": 3}}, "nb.ipynb"), 400, "nbformat 3")
    assert (root / "nb.ipynb").read_bytes() == before


async def test_unreadable_notebook_is_a_clear_400_on_read(cm, root):
    (root / "broken.ipynb").write_text('{"cells": [')
    await refused(cm.get("broken.ipynb"), 400, "Unreadable Notebook: broken.ipynb: not valid JSON")
    (root / "list.ipynb").write_text("[]")
    await refused(cm.get("list.ipynb"), 400, "not a notebook")
    invalid = notebook_json()
    invalid["cells"][0]["cell_type"] = "nonsense"
    (root / "invalid.ipynb").write_text(json.dumps(invalid))
    model = await cm.get("invalid.ipynb")
    assert model["content"]["cells"][0]["cell_type"] == "nonsense"
    assert model["message"].startswith("Notebook validation failed: cells/0")
    assert (await cm.get("broken.ipynb", type="file"))["content"] == '{"cells": ['


async def test_notebook_saved_in_nbformat_layout(cm, root):
    nb = notebook_json("a = 1\nb = 2")
    await cm.save({"type": "notebook", "content": nb}, "nb.ipynb")
    text = (root / "nb.ipynb").read_text()
    assert text == nbformat.writes(nbformat.from_dict(nb)) + "\n"
    assert (await cm.get("nb.ipynb"))["content"]["cells"][0]["source"] == "a = 1\nb = 2"


async def test_notebook_served_as_nbformat_reads_it(cm, root):
    """Lines joined (sources, stream text, text mimetypes), JSON outputs kept, transient fields dropped."""
    nb = nbformat.v4.new_notebook(metadata={"signature": "sha256:x"})
    cell = nbformat.v4.new_code_cell("x = 1\nx", metadata={"trusted": True})
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="one\ntwo\n"),
        nbformat.v4.new_output(
            "execute_result", {"text/plain": "1\n2", "application/json": {"a": [1]}}, execution_count=1
        ),
    ]
    nb.cells += [cell, nbformat.v4.new_markdown_cell("# t\n\nbody")]
    text = nbformat.writes(nb)
    (root / "full.ipynb").write_text(text)
    expected = json.loads(json.dumps(nbformat.reads(text, as_version=4)))
    assert (await cm.get("full.ipynb"))["content"] == expected


# -- saves --------------------------------------------------------------------------------


async def test_save_to_a_folder_that_does_not_exist(cm, root):
    await refused(
        cm.save({"type": "file", "format": "text", "content": "x"}, "no/such/a.txt"), 404, "No such directory"
    )
    assert not (root / "no").exists()


async def test_save_keeps_permissions_and_refuses_bad_content(cm, root):
    target = root / "script.sh"
    target.write_text("old")
    target.chmod(0o750)
    await cm.save({"type": "file", "format": "text", "content": "new"}, "script.sh")
    assert target.read_text() == "new" and (target.stat().st_mode & 0o777) == 0o750
    await refused(cm.save({"type": "file", "format": "base64", "content": "!!!"}, "script.sh"), 400, "base64")
    await refused(cm.save({"type": "file", "content": "x"}, "script.sh"), 400, "'format'")
    await refused(cm.save({"type": "file", "format": "text", "content": 3}, "script.sh"), 400, "string")
    await refused(cm.save({"type": "file", "format": "text", "content": "\ud800"}, "script.sh"), 400, "not valid text")
    await refused(cm.save({"type": "thing", "content": ""}, "script.sh"), 400, "'type'")
    await refused(cm.save({"type": "file", "format": "text", "content": "x"}, ""), 400, "root")
    assert target.read_text() == "new"
    assert [p.name for p in root.iterdir() if p.name.startswith(".~")] == [], "no temporary file left behind"


async def test_interrupted_save_leaves_the_old_file_intact(cm, root):
    """A write that fails between writing and the rename (a full disk) changes nothing."""
    target = root / "precious.txt"
    target.write_text("the user's work")

    def write_then_fail(f):
        f.write(b"half of the new conte")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        fileio.atomic_write(str(target), write_then_fail)
    assert target.read_text() == "the user's work"
    assert sorted(p.name for p in root.iterdir()) == ["precious.txt"], "the temporary file is gone"


def test_killed_save_leaves_the_old_file_intact(root):
    """A process killed (SIGKILL) mid-save, after writing and before the rename."""
    target = root / "precious.txt"
    target.write_text("the user's work")
    script = textwrap.dedent(
        """
        import os, signal, sys
        from jupyter_server_lite.bundled.contents import fileio

        def write(f):
            f.write(b"x" * 1_000_000)
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        fileio.atomic_write(sys.argv[1], write)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    assert target.read_text() == "the user's work"
    leftovers = [p for p in root.iterdir() if p.name != "precious.txt"]
    assert [p.name.startswith(".~precious.txt.") for p in leftovers] == [True], "only a hidden temporary file remains"
    os.unlink(leftovers[0])


# -- chunked uploads ---------------------------------------------------------------------


def chunk(n: int, data: bytes) -> dict:
    return {"type": "file", "format": "base64", "chunk": n, "content": base64.b64encode(data).decode()}


async def test_chunked_upload_commits_at_the_last_chunk(cm, root):
    target = root / "big.bin"
    target.write_bytes(b"old")
    events = []
    cm.add_listener(events.append)
    for n, data in ((1, b"aaa"), (2, b"bbb"), (3, b"ccc")):
        model = await cm.save(chunk(n, data), "big.bin")
        assert model["path"] == "big.bin"
        assert target.read_bytes() == b"old", "the old file stays until the upload is complete"
    assert events == []
    model = await cm.save(chunk(-1, b"d"), "big.bin")
    assert target.read_bytes() == b"aaabbbcccd" and model["size"] == 10
    assert events == [{"action": "save", "path": "big.bin"}]
    assert sorted(p.name for p in root.iterdir()) == ["big.bin"]


async def test_chunks_out_of_order_are_a_precise_400(cm, root):
    await refused(cm.save(chunk(2, b"x"), "up.bin"), 400, "no upload of it is in progress")
    await refused(cm.save(chunk(-1, b"x"), "up.bin"), 400, "send chunk 1 first")
    await cm.save(chunk(1, b"a"), "up.bin")
    await refused(cm.save(chunk(3, b"c"), "up.bin"), 400, "out of order: expected chunk 2")
    for bad in (0, -2, "2", True, 1.5):
        await refused(cm.save({**chunk(1, b"a"), "chunk": bad}, "up.bin"), 400, "'chunk'")
    await refused(cm.save({**chunk(1, b"a"), "type": "notebook"}, "up.ipynb"), 400, "Only files")
    await cm.save(chunk(2, b"b"), "up.bin")
    await cm.save(chunk(-1, b"c"), "up.bin")
    assert (root / "up.bin").read_bytes() == b"abc"


async def test_unfinished_upload_is_discarded_on_close(cm, root):
    await cm.save(chunk(1, b"a"), "up.bin")
    assert len(list(root.iterdir())) == 1, "the partial upload is a hidden file"
    assert (await cm.get(""))["content"] == []
    cm.close()
    assert list(root.iterdir()) == []


# -- rename, delete, checkpoints ------------------------------------------------------------


async def test_rename_refuses_an_existing_target_and_moves_checkpoints(cm, root):
    await cm.new(path="a.ipynb")
    (root / "b.txt").write_text("b")
    await refused(cm.rename("a.ipynb", "b.txt"), 409, "already exists")
    await refused(cm.rename("missing", "c.txt"), 404)
    await refused(cm.rename("a.ipynb", "no/where.ipynb"), 404, "No such directory")
    await refused(cm.rename("", "x"), 400, "root")
    (root / "d").mkdir()
    await refused(cm.rename("d", "d/inner"), 400, "into itself")
    events = []
    cm.add_listener(events.append)
    model = await cm.update({"path": "d/renamed.ipynb"}, "a.ipynb")
    assert model["path"] == "d/renamed.ipynb" and model["content"] is None
    assert events[0] == {"action": "rename", "path": "d/renamed.ipynb", "source_path": "a.ipynb"}
    assert (root / "d" / ".ipynb_checkpoints" / "renamed-checkpoint.ipynb").is_file()
    assert (root / "b.txt").read_text() == "b"


async def test_delete_files_and_non_empty_folders(cm, root):
    (root / "d" / "e").mkdir(parents=True)
    (root / "d" / "e" / "f.txt").write_text("x")
    await cm.new(path="nb.ipynb")
    await cm.delete("nb.ipynb")
    assert not (root / "nb.ipynb").exists()
    assert not (root / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").exists(), "its checkpoint goes with it"
    await cm.delete("d")
    assert not (root / "d").exists()
    await refused(cm.delete("d"), 404)
    await refused(cm.delete(""), 400, "root")


async def test_checkpoints_round_trip(cm, root):
    await cm.save({"type": "file", "format": "text", "content": "v1"}, "f.txt")
    assert await cm.list_checkpoints("f.txt") == []
    checkpoint = await cm.create_checkpoint("f.txt")
    assert checkpoint["id"] == "checkpoint" and checkpoint["last_modified"].endswith("Z")
    assert await cm.list_checkpoints("f.txt") == [checkpoint]
    await cm.save({"type": "file", "format": "text", "content": "v2"}, "f.txt")
    await cm.restore_checkpoint("checkpoint", "f.txt")
    assert (root / "f.txt").read_text() == "v1"
    await cm.delete_checkpoint("checkpoint", "f.txt")
    assert await cm.list_checkpoints("f.txt") == []
    await refused(cm.restore_checkpoint("checkpoint", "f.txt"), 404, "f.txt@checkpoint")
    await refused(cm.delete_checkpoint("nope", "f.txt"), 404)
    await refused(cm.create_checkpoint("missing.txt"), 404)


# -- /files support -------------------------------------------------------------------------


async def test_file_info_and_read_chunks(cm, root):
    data = os.urandom(3 * fileio.CHUNK_SIZE + 5)
    (root / "blob").write_bytes(data)
    info = await cm.file_info("blob")
    assert info.size == len(data)
    blocks = [b async for b in cm.read_chunks("blob", 0, info.size)]
    assert max(len(b) for b in blocks) <= fileio.CHUNK_SIZE and b"".join(blocks) == data
    assert b"".join([b async for b in cm.read_chunks("blob", 10, 20)]) == data[10:20]
    await refused(cm.file_info(""), 404)
    (root / "blob").write_bytes(data[:-1])
    assert (await cm.file_info("blob")).etag != info.etag


async def test_announcements_are_the_contents_service_events(cm, root, caplog):
    """What a listener (the events service, sessions) hears: Jupyter Server's contents_service/v1 data."""
    events: list[dict] = []

    def broken(event):
        raise RuntimeError("listener bug")

    cm.add_listener(broken)
    cm.add_listener(events.append)
    await cm.save({"type": "file", "format": "text", "content": "x"}, "a.txt")
    await cm.get("a.txt")
    await cm.copy("a.txt")
    await cm.rename("a-Copy1.txt", "b.txt")
    await cm.delete("b.txt")
    await refused(cm.delete("b.txt"), 404)
    assert events == [
        {"action": "save", "path": "a.txt"},
        {"action": "get", "path": "a.txt"},
        {"action": "copy", "path": "a-Copy1.txt", "source_path": "a.txt"},
        {"action": "rename", "path": "b.txt", "source_path": "a-Copy1.txt"},
        {"action": "delete", "path": "b.txt"},
    ], "only what succeeded, in order"
    assert "listener bug" in caplog.text and (root / "a.txt").exists(), "a failing listener changes nothing"
    cm.remove_listener(events.append)
    await cm.get("a.txt")
    assert len(events) == 5
