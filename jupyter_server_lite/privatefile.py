"""Writing a file that holds a secret (the runtime file's token, the config's password hash).

The file must never be readable by others, not even for a moment, and
writing it must not be turned against its owner: a symlink planted at the
name a writer predictably uses would make it write the secret wherever the
link points, and an existing 0644 file would keep its mode.
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def write_private_file(path: str, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (0600), atomically.

    The text goes to a fresh temporary name in the same folder, created
    exclusively (``tempfile.mkstemp``: ``O_EXCL``, so nothing planted there is
    followed or reused) and set to 0600 with ``fchmod`` whatever the umask;
    it is flushed to disk and renamed over ``path``.  A reader sees the old
    file or the new one, never half of one, and a symlink or a wider file at
    ``path`` is replaced, not written through.  On failure nothing is left
    behind and ``path`` is unchanged.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
