"""API paths: the one place where a client's path becomes a file on disk.

An API path is ``/``-separated and relative to the root folder; a leading or
trailing ``/`` and empty segments mean nothing (``/a//b/`` is ``a/b``, and
``""`` is the root), as in Jupyter Server.  Everything else that could reach
outside the root is refused before the file system is touched:

* a ``..`` or ``.`` segment, a backslash, a NUL or another control
  character: ``400`` (URL-encoded forms such as ``%2e%2e`` arrive decoded,
  so they are the same segments);
* a path whose real location -- symbolic links resolved -- is outside the
  root: ``403``.  A symbolic link inside the root that points inside it is
  an ordinary file or folder.

An absolute path in a body (``"copy_from": "/etc/passwd"``) is therefore the
API path ``etc/passwd`` below the root, never the system file.

A path is *hidden* when one of its segments starts with ``.``, or when its
real location is below a hidden folder of the root (a visible link to a
hidden file is hidden too).
"""

from __future__ import annotations

import os
import re

from tornado import web

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")


def split(path: str) -> list[str]:
    """The segments of API ``path``; a ``400`` naming what is wrong with it."""
    if not isinstance(path, str):
        raise web.HTTPError(400, f"A path must be a string, not {type(path).__name__}")
    bad = _FORBIDDEN.search(path)
    if bad is not None:
        raise web.HTTPError(400, f"Path {path!r} contains the forbidden character {bad.group(0)!r}")
    parts = [p for p in path.split("/") if p]
    for part in parts:
        if part in (".", ".."):
            raise web.HTTPError(400, f"Path {path!r} may not contain a {part!r} segment")
    return parts


def normalize(path: str) -> str:
    """The canonical form of API ``path`` (``a/b``, ``""`` for the root)."""
    return "/".join(split(path))


def parent_and_name(path: str) -> tuple[str, str]:
    """``("a/b", "c.txt")`` for ``a/b/c.txt``; ``("", name)`` at the root."""
    parent, _, name = normalize(path).rpartition("/")
    return parent, name


def join(*paths: str) -> str:
    """API paths joined (each normalized)."""
    return "/".join(p for p in (normalize(x) for x in paths) if p)


def is_hidden_name(name: str) -> bool:
    return name.startswith(".")


class Root:
    """The root folder and the confinement rule of one contents manager."""

    def __init__(self, root_dir: str) -> None:
        self.path = os.path.abspath(root_dir)
        self.real = os.path.realpath(self.path)

    def contains(self, real_path: str) -> bool:
        """Whether an already resolved path is the root or below it."""
        return real_path == self.real or real_path.startswith(self.real.rstrip(os.sep) + os.sep)

    def os_path(self, path: str) -> str:
        """The file-system path of API ``path``, confined to the root.

        ``400`` for a malformed path, ``403`` when its real location (links
        followed) is outside the root.  The path need not exist.
        """
        parts = split(path)
        os_path = os.path.join(self.path, *parts)
        if parts and not self.contains(os.path.realpath(os_path)):
            raise web.HTTPError(403, f"Path {normalize(path)!r} leads outside the root directory")
        return os_path

    def is_hidden(self, path: str) -> bool:
        """Whether API ``path`` is hidden (see the module docstring)."""
        parts = split(path)
        if any(is_hidden_name(p) for p in parts):
            return True
        if not parts:
            return False
        real = os.path.realpath(os.path.join(self.path, *parts))
        if not self.contains(real) or real == self.real:
            return False
        relative = os.path.relpath(real, self.real)
        return any(is_hidden_name(p) for p in relative.split(os.sep))

    def link_escapes(self, os_path: str) -> bool:
        """Whether ``os_path`` (a symbolic link found in a listing) leads outside the root."""
        return not self.contains(os.path.realpath(os_path))
