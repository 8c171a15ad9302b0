"""Sessions: REST CRUD with real kernels, kernel switching, validation, persistence."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from traitlets import TraitError

from jupyter_server_lite.services.sessions.manager import SessionManager

NB = {"type": "notebook", "kernel": {"name": "python3"}}


async def call(jsl_fetch, method, *parts, body=None, app=None, status=200):
    """A request that must answer ``status``; returns the decoded JSON body (or None)."""
    r = await jsl_fetch(*parts, method=method, body=body, app=app, raise_error=False)
    assert r.code == status, (r.code, r.body)
    return json.loads(r.body) if r.body else None


async def start_session(jsl_fetch, path, app=None, **fields):
    return await call(jsl_fetch, "POST", "api", "sessions", body={"path": path, **NB, **fields}, app=app, status=201)


def kernel_pid(app, kernel_id):
    return app.kernel_manager.get_kernel(kernel_id).provisioner.process.pid


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_crud_with_a_real_kernel(jsl_fetch, jsl_serverapp, jsl_dirs):
    (jsl_dirs.root / "work").mkdir()
    r = await jsl_fetch("api", "sessions", method="POST", body={"path": "work/nb.ipynb", "name": "nb", **NB})
    assert r.code == 201
    created = json.loads(r.body)
    sid, kid = created["id"], created["kernel"]["id"]
    assert r.headers["Location"] == f"{jsl_serverapp.base_url}api/sessions/{sid}"
    assert {k: created[k] for k in ("path", "name", "type")} == {
        "path": "work/nb.ipynb",
        "name": "nb",
        "type": "notebook",
    }
    assert set(created["kernel"]) == {"id", "name", "last_activity", "execution_state", "connections"}
    assert created["kernel"]["name"] == "python3"
    pid = kernel_pid(jsl_serverapp, kid)
    assert os.readlink(f"/proc/{pid}/cwd") == str(jsl_dirs.root / "work"), "the kernel runs in the document's folder"

    assert [s["id"] for s in await call(jsl_fetch, "GET", "api", "sessions")] == [sid]
    assert (await call(jsl_fetch, "GET", "api", "sessions", sid))["kernel"]["id"] == kid

    patched = await call(
        jsl_fetch,
        "PATCH",
        "api",
        "sessions",
        sid,
        body={"path": "work/renamed.ipynb", "name": "renamed", "type": "console"},
    )
    assert (patched["path"], patched["name"], patched["type"], patched["kernel"]["id"]) == (
        "work/renamed.ipynb",
        "renamed",
        "console",
        kid,
    )

    r = await jsl_fetch("api", "sessions", sid, method="DELETE")
    assert (r.code, r.body) == (204, b"")
    assert kid not in jsl_serverapp.kernel_manager
    assert not pid_alive(pid), "DELETE shuts the session's kernel down"
    assert await call(jsl_fetch, "GET", "api", "sessions") == []


async def test_post_for_a_taken_path_returns_the_existing_session(jsl_fetch, jsl_serverapp):
    first = await start_session(jsl_fetch, "a.ipynb")
    again = await start_session(jsl_fetch, "a.ipynb", kernel={"name": "python3"}, name="other")
    assert again == {**first, "kernel": again["kernel"]} and again["kernel"]["id"] == first["kernel"]["id"]
    # Two racing POSTs for a new path get one session and one kernel.
    racing = await asyncio.gather(start_session(jsl_fetch, "b.ipynb"), start_session(jsl_fetch, "b.ipynb"))
    assert racing[0]["id"] == racing[1]["id"]
    assert len(jsl_serverapp.kernel_manager.list_kernels()) == 2


async def test_attach_by_kernel_id(jsl_fetch, jsl_serverapp, jsl_expect_log):
    kid = (await call(jsl_fetch, "POST", "api", "kernels", body={}, status=201))["id"]
    one = await start_session(jsl_fetch, "one.ipynb", kernel={"id": kid})
    two = await start_session(jsl_fetch, "two.ipynb", kernel={"id": kid, "name": "ignored-when-id-given"})
    assert one["kernel"]["id"] == two["kernel"]["id"] == kid
    assert len(jsl_serverapp.kernel_manager.list_kernels()) == 1, "attaching starts no kernel"

    with jsl_expect_log(r"400 POST .*/api/sessions"):
        err = await call(
            jsl_fetch,
            "POST",
            "api",
            "sessions",
            body={"path": "x.ipynb", "type": "notebook", "kernel": {"id": "nope"}},
            status=400,
        )
    assert "nope" in err["message"] and err["reason"]

    # Deleting a session shuts its kernel down; the other session on it goes too.
    await call(jsl_fetch, "DELETE", "api", "sessions", one["id"], status=204)
    assert kid not in jsl_serverapp.kernel_manager
    assert await call(jsl_fetch, "GET", "api", "sessions") == []


async def test_patch_switches_kernel_and_stops_the_unused_one(jsl_fetch, jsl_serverapp, jsl_expect_log):
    a = await start_session(jsl_fetch, "a.ipynb")
    k1 = a["kernel"]["id"]
    pid1 = kernel_pid(jsl_serverapp, k1)

    switched = await call(jsl_fetch, "PATCH", "api", "sessions", a["id"], body={"kernel": {"name": "python3"}})
    k2 = switched["kernel"]["id"]
    assert k2 != k1 and k2 in jsl_serverapp.kernel_manager
    assert k1 not in jsl_serverapp.kernel_manager and not pid_alive(pid1), "the unused old kernel is shut down"

    b = await start_session(jsl_fetch, "b.ipynb", kernel={"id": k2})
    k3 = (await call(jsl_fetch, "POST", "api", "kernels", body={}, status=201))["id"]
    moved = await call(jsl_fetch, "PATCH", "api", "sessions", a["id"], body={"kernel": {"id": k3}, "id": a["id"]})
    assert moved["kernel"]["id"] == k3
    assert k2 in jsl_serverapp.kernel_manager, "session b still uses the old kernel, so it keeps running"
    assert (await call(jsl_fetch, "GET", "api", "sessions", b["id"]))["kernel"]["id"] == k2

    with jsl_expect_log(r"400 PATCH .*/api/sessions/"):
        err = await call(jsl_fetch, "PATCH", "api", "sessions", a["id"], body={"kernel": {"id": "gone"}}, status=400)
    assert "gone" in err["message"]
    assert (await call(jsl_fetch, "GET", "api", "sessions", a["id"]))["kernel"]["id"] == k3, (
        "a refused PATCH changes nothing"
    )


async def test_kernel_deleted_through_the_kernels_api_drops_its_session(jsl_fetch, jsl_expect_log):
    s = await start_session(jsl_fetch, "a.ipynb")
    await call(jsl_fetch, "DELETE", "api", "kernels", s["kernel"]["id"], status=204)
    assert await call(jsl_fetch, "GET", "api", "sessions") == []
    with jsl_expect_log(r"404 GET .*/api/sessions/"):
        err = await call(jsl_fetch, "GET", "api", "sessions", s["id"], status=404)
    assert s["id"] in err["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        ([], "must be a JSON object"),
        ({}, "path"),
        ({"path": "a.ipynb"}, "type"),
        ({"path": 1, "type": "notebook"}, "'path' must be a string"),
        ({"path": "a.ipynb", "type": ["notebook"]}, "'type' must be a string"),
        ({"path": "a.ipynb", "type": "notebook", "name": 5}, "'name' must be a string"),
        ({"path": "a.ipynb", "type": "notebook", "kernel": "python3"}, "'kernel' must be an object"),
        ({"path": "a.ipynb", "type": "notebook", "kernel": {"name": 7}}, "'kernel.name' must be a string"),
        ({"path": "a.ipynb", "type": "notebook", "kernel": {"id": []}}, "'kernel.id' must be a string"),
        ({"path": "a.ipynb", "type": "notebook", "kernel": {"name": "no-such-kernel"}}, "python3"),
        ({"path": "../outside.ipynb", "type": "notebook"}, "outside"),
    ],
)
async def test_post_validation(jsl_fetch, jsl_serverapp, jsl_expect_log, body, message):
    with jsl_expect_log(r"400 POST .*/api/sessions"):
        err = await call(jsl_fetch, "POST", "api", "sessions", body=body, status=400)
    assert message in err["message"] and err["reason"] == "Bad Request"
    assert jsl_serverapp.kernel_manager.list_kernels() == []
    assert await call(jsl_fetch, "GET", "api", "sessions") == [], "the server keeps serving"


async def test_patch_validation_and_unknown_ids(jsl_fetch, jsl_expect_log):
    s = await start_session(jsl_fetch, "a.ipynb")
    for body, message in [
        ({"path": 3}, "'path' must be a string"),
        ({"kernel": {}}, "'id' or 'name'"),
        ({"kernel": None}, "'id' or 'name'"),
        ({"kernel": {"name": False}}, "'kernel.name' must be a string"),
        ([1], "must be a JSON object"),
    ]:
        with jsl_expect_log(r"400 PATCH .*/api/sessions/"):
            err = await call(jsl_fetch, "PATCH", "api", "sessions", s["id"], body=body, status=400)
        assert message in err["message"], (body, err)
    assert await call(jsl_fetch, "GET", "api", "sessions", s["id"]) == {
        **s,
        "kernel": (await call(jsl_fetch, "GET", "api", "kernels", s["kernel"]["id"])),
    }
    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        with jsl_expect_log(rf"404 {method} .*/api/sessions/no-such-session"):
            err = await call(jsl_fetch, method, "api", "sessions", "no-such-session", body=body, status=404)
        assert err == {"message": "Session not found: no-such-session", "reason": "Not Found"}


async def test_sessions_survive_in_the_database_file_and_dead_ones_are_dropped(jsl_server_factory, jsl_fetch, tmp_path):
    db = tmp_path / "sessions.db"
    config = {"SessionManager": {"database_filepath": str(db)}}
    first = jsl_server_factory(config=config, start=False)
    await first.start_server()
    s = await start_session(jsl_fetch, "kept.ipynb", app=first)
    await first.stop_server()  # shuts its kernels down, but keeps the file's rows
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT session_id, path, kernel_id FROM session").fetchall() == [
            (s["id"], "kept.ipynb", s["kernel"]["id"])
        ]

    second = jsl_server_factory(config=config, start=False)
    await second.start_server()
    assert await call(jsl_fetch, "GET", "api", "sessions", app=second) == [], "its kernel died with the first server"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM session").fetchone() == (0,)

    # A row whose kernel this server does know is kept at start; the others go.
    live = await call(jsl_fetch, "POST", "api", "kernels", body={}, app=second, status=201)
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO session VALUES (?, ?, ?, ?, ?)",
            [
                ("s-live", "live.ipynb", "", "notebook", live["id"]),
                ("s-dead", "dead.ipynb", "", "notebook", "no-such-kernel"),
            ],
        )
    restarted = SessionManager(
        parent=second, log=second.log, kernel_manager=second.kernel_manager, database_filepath=str(db)
    )
    try:
        assert [m["id"] for m in restarted.list_sessions()] == ["s-live"]
        assert restarted.list_sessions()[0]["kernel"]["id"] == live["id"]
    finally:
        restarted.close()
    assert [m["id"] for m in second.session_manager.list_sessions()] == ["s-live"]


@pytest.mark.parametrize("kind", ["directory", "not-sqlite", "missing-folder"])
def test_bad_database_filepath_fails_the_start(jsl_server_factory, tmp_path, kind):
    path = {"directory": tmp_path, "not-sqlite": tmp_path / "notes.txt", "missing-folder": tmp_path / "nope" / "s.db"}[
        kind
    ]
    if kind == "not-sqlite":
        path.write_text("hello")
    with pytest.raises(TraitError, match=r"SessionManager\.database_filepath"):
        jsl_server_factory(config={"SessionManager": {"database_filepath": str(path)}}, start=False)


def test_session_manager_class_is_swappable(jsl_server_factory):
    class Tagged(SessionManager):
        pass

    app = jsl_server_factory(config={"ServerApp": {"session_manager_class": Tagged}}, start=False)
    assert type(app.session_manager) is Tagged and app.session_manager.parent is app


def test_bad_session_manager_class_fails_the_start(jsl_dirs):
    argv = [
        "--ServerApp.session_manager_class=no_such_module.Manager",
        "--port=0",
        "--no-browser",
        f"--ServerApp.root_dir={jsl_dirs.root}",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_server_lite", *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert "session_manager_class" in proc.stderr and "no_such_module.Manager" in proc.stderr, proc.stderr
