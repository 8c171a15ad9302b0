"""Sessions: which document is bound to which kernel, kept in sqlite3.

A session ties a client's document (a notebook, a console, a file: its
``path``) to a running kernel, so that a browser tab that reloads, or a
second client, finds the same kernel again by asking for the path.

The rows live in the standard library's ``sqlite3``: in memory by default,
or in ``database_filepath`` so they outlive the server process.  A row is
only worth keeping while its kernel is: when the kernel manager reports a
kernel gone (deleted through the kernels API, culled, or shut down with its
session) the rows that point at it are dropped, as Jupyter Server drops them;
and at start every row whose kernel this server does not know is dropped.
The kernels of the default manager die with their server, so after a restart
only rows for kernels a custom kernel manager re-adopted survive.

The manager raises ``tornado.web.HTTPError`` with the status a REST client
should see, like the kernel manager it works with, so the handlers stay thin.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tornado import web
from traitlets import Instance, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

IN_MEMORY = ":memory:"
SQLITE_HEADER = b"SQLite format 3\x00"
COLUMNS = ("session_id", "path", "name", "type", "kernel_id")
# The same table Jupyter Server keeps, so its session files stay readable.
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS session (session_id TEXT PRIMARY KEY, path TEXT, name TEXT, type TEXT, kernel_id TEXT)"
)


class SessionManager(LoggingConfigurable):
    """Create, find, change and delete sessions; start and stop their kernels."""

    database_filepath = Unicode(
        IN_MEMORY,
        help="""The sqlite3 file that keeps sessions across a server restart.
        ':memory:' (the default) keeps them only while the server runs. At start,
        rows whose kernel this server does not know are dropped.""",
    ).tag(config=True)

    @validate("database_filepath")
    def _validate_database_filepath(self, proposal: Any) -> str:
        value = proposal["value"] or IN_MEMORY
        if value == IN_MEMORY:
            return value
        value = os.path.abspath(os.path.expanduser(value))
        if os.path.isdir(value):
            raise TraitError(f"SessionManager.database_filepath: {value!r} is a directory, not a file")
        if os.path.isfile(value) and os.path.getsize(value) > 0:
            with open(value, "rb") as f:
                if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                    raise TraitError(f"SessionManager.database_filepath: {value!r} is not an sqlite3 database")
        return value

    kernel_manager = Instance(
        "jupyter_server_lite.services.kernels.manager.MappingKernelManager",
        help="The server's kernel manager: sessions start, find and stop kernels through it.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._path_locks: dict[str, list[Any]] = {}  # path -> [lock, users]
        self._db: sqlite3.Connection | None = self._connect()
        self.kernel_manager.add_kernel_listener(self._on_kernel_event)
        self.drop_orphans()

    def _connect(self) -> sqlite3.Connection:
        try:
            # Autocommit: every change is on disk before the request answers.
            db = sqlite3.connect(self.database_filepath, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute(SCHEMA)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(session)")}
        except sqlite3.Error as err:
            raise TraitError(f"SessionManager.database_filepath: cannot use {self.database_filepath!r}: {err}") from err
        missing = set(COLUMNS) - columns
        if missing:
            db.close()
            raise TraitError(
                f"SessionManager.database_filepath: the session table in {self.database_filepath!r} lacks columns {sorted(missing)}"
            )
        return db

    def close(self) -> None:
        """Stop following the kernel manager and close the database.

        Called before the server shuts its kernels down, so a session file
        keeps its rows: the next start decides which of them still hold.
        """
        if self._db is None:
            return
        self.kernel_manager.remove_kernel_listener(self._on_kernel_event)
        self._db.close()
        self._db = None

    # -- rows -----------------------------------------------------------------

    def _execute(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        if self._db is None:
            raise web.HTTPError(503, "The session manager is closed: the server is stopping")
        return self._db.execute(sql, args)

    def _rows(self, where: str = "", args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._execute(f"SELECT * FROM session {where}", args).fetchall()

    def _row(self, session_id: str) -> sqlite3.Row:
        rows = self._rows("WHERE session_id=?", (session_id,))
        if not rows:
            raise web.HTTPError(404, f"Session not found: {session_id}")
        return rows[0]

    def _delete_rows(self, where: str, args: tuple[Any, ...]) -> int:
        """Delete rows; none once closed (kernels shut down at stop keep theirs)."""
        if self._db is None:
            return 0
        return self._db.execute(f"DELETE FROM session {where}", args).rowcount

    def _model(self, row: sqlite3.Row) -> dict[str, Any] | None:
        """The REST model of a row; None (and the row dropped) if its kernel is gone."""
        kernel_id = row["kernel_id"]
        if kernel_id not in self.kernel_manager:
            self._drop_for_kernel(kernel_id, "is gone")
            return None
        return {
            "id": row["session_id"],
            "path": row["path"],
            "name": row["name"],
            "type": row["type"],
            "kernel": self.kernel_manager.kernel_model(kernel_id),
        }

    def _drop_for_kernel(self, kernel_id: str, why: str) -> None:
        count = self._delete_rows("WHERE kernel_id=?", (kernel_id,))
        if count:
            self.log.info("Kernel %s %s: dropped %d session(s) bound to it", kernel_id, why, count)

    def _on_kernel_event(self, event: str, kernel_id: str) -> None:
        if event == "shutdown":
            self._drop_for_kernel(kernel_id, "was shut down")

    def drop_orphans(self) -> int:
        """Drop every row whose kernel this server does not know; return how many."""
        dropped = 0
        for row in self._rows():
            if row["kernel_id"] not in self.kernel_manager:
                dropped += self._delete_rows("WHERE session_id=?", (row["session_id"],))
        if dropped:
            self.log.info(
                "Dropped %d stored session(s) whose kernel no longer runs (%s)", dropped, self.database_filepath
            )
        return dropped

    # -- queries --------------------------------------------------------------

    def list_sessions(self) -> list[dict[str, Any]]:
        """Every session whose kernel is still known, oldest first."""
        return [m for m in map(self._model, self._rows("ORDER BY rowid")) if m is not None]

    def get_session(self, session_id: str) -> dict[str, Any]:
        """The session's model; 404 if there is none (or its kernel is gone)."""
        model = self._model(self._row(session_id))
        if model is None:
            raise web.HTTPError(404, f"Session not found: {session_id} (its kernel is gone)")
        return model

    def find_by_path(self, path: str) -> dict[str, Any] | None:
        """The first live session bound to ``path``, if any."""
        for row in self._rows("WHERE path=? ORDER BY rowid", (path,)):
            model = self._model(row)
            if model is not None:
                return model
        return None

    def sessions_using(self, kernel_id: str) -> int:
        return len(self._rows("WHERE kernel_id=?", (kernel_id,)))

    # -- changes --------------------------------------------------------------

    @asynccontextmanager
    async def _path_lock(self, path: str) -> AsyncIterator[None]:
        """Serialise creations for one path, so two racing POSTs share one kernel."""
        entry = self._path_locks.setdefault(path, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if not entry[1]:
                del self._path_locks[path]

    async def create_session(
        self, path: str, type: str, name: str = "", kernel_name: str | None = None, kernel_id: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Return ``(model, created)``: the existing session of ``path``, or a new one.

        ``kernel_id`` attaches the new session to a running kernel (400 if
        there is no such kernel); otherwise a kernel of ``kernel_name`` (the
        default kernel when None) is started in the path's folder.
        """
        async with self._path_lock(path):
            existing = self.find_by_path(path)
            if existing is not None:
                return existing, False
            if kernel_id is not None:
                self._require_kernel(kernel_id)
            else:
                kernel_id = await self._start_kernel(kernel_name, path)
            session_id = str(uuid.uuid4())
            self._execute("INSERT INTO session VALUES (?, ?, ?, ?, ?)", (session_id, path, name, type, kernel_id))
            return self.get_session(session_id), True

    async def update_session(
        self,
        session_id: str,
        *,
        path: str | None = None,
        name: str | None = None,
        type: str | None = None,
        kernel_id: str | None = None,
        kernel_name: str | None = None,
    ) -> dict[str, Any]:
        """Change fields of a session and maybe switch its kernel.

        ``kernel_id`` (which wins over ``kernel_name``) switches to a running
        kernel; ``kernel_name`` starts a new one.  The previous kernel is shut
        down once no session uses it any more.
        """
        before = self.get_session(session_id)
        changes: dict[str, Any] = {k: v for k, v in (("path", path), ("name", name), ("type", type)) if v is not None}
        if kernel_id is not None:
            self._require_kernel(kernel_id)
            changes["kernel_id"] = kernel_id
        elif kernel_name is not None:
            changes["kernel_id"] = await self._start_kernel(kernel_name, changes.get("path", before["path"]))
        if changes:
            sets = ", ".join(f"{column}=?" for column in changes)
            self._execute(f"UPDATE session SET {sets} WHERE session_id=?", (*changes.values(), session_id))
        old_kernel = before["kernel"]["id"]
        if changes.get("kernel_id", old_kernel) != old_kernel and not self.sessions_using(old_kernel):
            await self._shutdown_kernel(old_kernel)
        return self.get_session(session_id)

    def rename_path(self, old_path: str, new_path: str) -> int:
        """A document or folder moved from ``old_path`` to ``new_path``: follow it.

        Every session at ``old_path`` or below it (a renamed folder) gets the
        new path, and its name when the name was the old file name; the
        kernel keeps running, in the folder it started in.  Returns how many
        sessions changed.  The contents service calls this after a rename.
        """
        old, new = old_path.strip("/"), new_path.strip("/")
        changed = 0
        for row in self._rows("WHERE path=? OR substr(path, 1, ?)=?", (old, len(old) + 1, old + "/")):
            path = new + row["path"][len(old) :]
            name = path.rpartition("/")[2] if row["name"] == old.rpartition("/")[2] else row["name"]
            changed += self._execute(
                "UPDATE session SET path=?, name=? WHERE session_id=?", (path, name, row["session_id"])
            ).rowcount
        if changed:
            self.log.info("Renamed %s to %s: %d session(s) follow it", old, new, changed)
        return changed

    async def delete_session(self, session_id: str) -> None:
        """Delete the session and shut its kernel down (as Jupyter Server does).

        Other sessions attached to the same kernel go with it.
        """
        row = self._row(session_id)
        self._delete_rows("WHERE session_id=?", (session_id,))
        await self._shutdown_kernel(row["kernel_id"])

    # -- kernels --------------------------------------------------------------

    def _require_kernel(self, kernel_id: str) -> None:
        if kernel_id not in self.kernel_manager:
            raise web.HTTPError(400, f"No such kernel: {kernel_id}")

    async def _start_kernel(self, kernel_name: str | None, path: str) -> str:
        """Start a kernel for the session's document (the kernel manager runs it
        in the document's folder, or the nearest existing parent)."""
        return await self.kernel_manager.start_kernel(kernel_name=kernel_name, path=path)

    async def _shutdown_kernel(self, kernel_id: str) -> None:
        if kernel_id in self.kernel_manager:
            await self.kernel_manager.shutdown_kernel(kernel_id)
