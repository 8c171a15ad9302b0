"""Checkpoints on disk, where Jupyter Server keeps them.

A file ``a/b.ipynb`` has at most one checkpoint, id ``checkpoint``, at
``a/.ipynb_checkpoints/b-checkpoint.ipynb`` -- the same place and name as
Jupyter Server's ``FileCheckpoints``, so checkpoints made by either server
are found by the other.  Creating one copies the file (atomically, in
blocks); restoring copies it back the same way, so a crash during either
leaves both files whole.  A checkpoint follows its file when the file is
renamed and goes when it is deleted; a folder's checkpoints are inside it
and go wherever it goes.

Functions here block; the manager calls them in a thread.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from tornado import web

from ...activity import isoformat
from . import fileio

CHECKPOINT_ID = "checkpoint"
CHECKPOINT_DIR = ".ipynb_checkpoints"


def checkpoint_path(os_path: str, checkpoint_id: str = CHECKPOINT_ID) -> str:
    """Where the checkpoint ``checkpoint_id`` of the file at ``os_path`` lives."""
    folder, name = os.path.split(os_path)
    base, ext = os.path.splitext(name)
    return os.path.join(folder, CHECKPOINT_DIR, f"{base}-{checkpoint_id}{ext}")


def model(checkpoint_id: str, cp_path: str) -> dict[str, Any]:
    moment = datetime.fromtimestamp(os.stat(cp_path).st_mtime, tz=timezone.utc)
    return {"id": checkpoint_id, "last_modified": isoformat(moment)}


def create(os_path: str, api_path: str) -> dict[str, Any]:
    if not os.path.isfile(os_path):
        raise web.HTTPError(404, f"No such file: {api_path!r} (only files have checkpoints)")
    cp_path = checkpoint_path(os_path)
    with fileio.http_errors(api_path, "create a checkpoint of"):
        os.makedirs(os.path.dirname(cp_path), exist_ok=True)
        fileio.copy_file(os_path, cp_path)
    return model(CHECKPOINT_ID, cp_path)


def listing(os_path: str) -> list[dict[str, Any]]:
    cp_path = checkpoint_path(os_path)
    return [model(CHECKPOINT_ID, cp_path)] if os.path.isfile(cp_path) else []


def _existing(os_path: str, api_path: str, checkpoint_id: str) -> str:
    cp_path = checkpoint_path(os_path, checkpoint_id)
    if not os.path.isfile(cp_path):
        raise web.HTTPError(404, f"Checkpoint does not exist: {api_path}@{checkpoint_id}")
    return cp_path


def restore(os_path: str, api_path: str, checkpoint_id: str) -> None:
    cp_path = _existing(os_path, api_path, checkpoint_id)
    with fileio.http_errors(api_path, "restore a checkpoint of"):
        fileio.copy_file(cp_path, os_path)


def delete(os_path: str, api_path: str, checkpoint_id: str) -> None:
    cp_path = _existing(os_path, api_path, checkpoint_id)
    with fileio.http_errors(api_path, "delete a checkpoint of"):
        os.unlink(cp_path)


def move_all(old_os_path: str, new_os_path: str) -> None:
    """After a file was renamed: move its checkpoint along (best effort)."""
    old_cp = checkpoint_path(old_os_path)
    if not os.path.isfile(old_cp):
        return
    new_cp = checkpoint_path(new_os_path)
    os.makedirs(os.path.dirname(new_cp), exist_ok=True)
    os.replace(old_cp, new_cp)


def delete_all(os_path: str) -> None:
    """After a file was deleted: delete its checkpoint too."""
    try:
        os.unlink(checkpoint_path(os_path))
    except FileNotFoundError:
        pass
