"""File operations that never damage a user's file, and their errors as HTTP.

Every write goes to a temporary file in the target's own folder (hidden:
``.~<name>.<random>.tmp``), is flushed and ``fsync``-ed, takes the target's
permission bits, and then replaces the target with one ``os.replace``, an
atomic rename on POSIX.  A crash, a full disk or an exception at any point
before the rename leaves the old file exactly as it was (and at worst a
stray temporary file); after it, the new one is complete.  The folder is
``fsync``-ed too, so the rename itself survives a power cut.

Replacing the file gives it a new inode: a hard link to the old one keeps
the old content, and the owner becomes the server's user.  Saving through a
symbolic link writes the link's target (the link stays a link).

These functions block: the managers run them in a thread
(``asyncio.to_thread``), never on the event loop.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from typing import BinaryIO

from tornado import web

CHUNK_SIZE = 1 << 20
#: ``os.umask`` cannot be read without setting it: read it once, at import.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def http_errors(path: str, doing: str) -> Iterator[None]:
    """Turn an ``OSError`` while ``doing`` something to API ``path`` into an ``HTTPError``.

    Permission problems are ``403``, a missing file ``404``, a full disk or
    quota ``507``; anything else is a ``500`` that names the path and the
    system's reason, never a traceback.
    """
    try:
        yield
    except web.HTTPError:
        raise
    except PermissionError as err:
        raise web.HTTPError(403, f"Permission denied: cannot {doing} {path!r}") from err
    except FileNotFoundError as err:
        raise web.HTTPError(404, f"No such file or directory: cannot {doing} {path!r}") from err
    except IsADirectoryError as err:
        raise web.HTTPError(400, f"{path!r} is a directory: cannot {doing} it") from err
    except NotADirectoryError as err:
        raise web.HTTPError(400, f"A parent of {path!r} is a file: cannot {doing} it") from err
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise web.HTTPError(507, f"No space left: cannot {doing} {path!r} ({err.strerror})") from err
        raise web.HTTPError(500, f"Cannot {doing} {path!r}: {err.strerror or err}") from err


def temporary_sibling(os_path: str, suffix: str = ".tmp") -> tuple[int, str]:
    """A new, empty, hidden file next to ``os_path``: ``(fd, path)``."""
    folder, name = os.path.split(os_path)
    return tempfile.mkstemp(prefix=f".~{name}.", suffix=suffix, dir=folder)


def commit(tmp_path: str, os_path: str) -> None:
    """Make the finished ``tmp_path`` the file ``os_path``, atomically.

    The new file gets the old one's permission bits, or, for a new file, the
    ones ``open()`` would give (``0o666`` less the umask) -- ``mkstemp``
    creates ``0o600``.
    """
    try:
        mode = stat.S_IMODE(os.stat(os_path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_UMASK
    os.chmod(tmp_path, mode)
    os.replace(tmp_path, os_path)
    fsync_folder(os.path.dirname(os_path))


def fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(os_path: str, write: Callable[[BinaryIO], object]) -> None:
    """Write ``os_path`` by calling ``write(file)`` on a temporary sibling, then commit.

    If ``write`` raises (a full disk, a bad chunk of content, a crash), the
    temporary file is removed and ``os_path`` is untouched.
    """
    target = os.path.realpath(os_path)
    fd, tmp_path = temporary_sibling(target)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        commit(tmp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        raise


def write_bytes(os_path: str, data: bytes) -> None:
    """``atomic_write`` of ``data``."""
    atomic_write(os_path, lambda f: f.write(data))


def copy_file(src: str, dst: str) -> None:
    """Copy ``src``'s bytes to ``dst`` atomically, in blocks (never whole in memory)."""

    def write(f: BinaryIO) -> None:
        with open(src, "rb") as source:
            shutil.copyfileobj(source, f, CHUNK_SIZE)

    atomic_write(dst, write)
    shutil.copymode(src, os.path.realpath(dst))


def read_bytes(os_path: str) -> bytes:
    with open(os_path, "rb") as f:
        return f.read()


def hash_file(os_path: str, algorithm: str) -> str:
    """The hex digest of a file's bytes, read in blocks."""
    digest = hashlib.new(algorithm)
    with open(os_path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK_SIZE), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_bytes(data: bytes, algorithm: str) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def read_range(os_path: str, start: int, length: int) -> bytes:
    """At most ``length`` bytes of ``os_path`` from offset ``start``."""
    with open(os_path, "rb") as f:
        f.seek(start)
        return f.read(length)


def remove(os_path: str) -> None:
    """Delete a file, a symbolic link (never what it points to) or a whole folder."""
    if os.path.islink(os_path) or not os.path.isdir(os_path):
        os.unlink(os_path)
    else:
        shutil.rmtree(os_path)
