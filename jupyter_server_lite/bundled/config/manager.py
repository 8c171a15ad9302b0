"""Frontend config sections: JSON objects stored under ``serverconfig/``, merged across the config path.

A section (``notebook``, ``common``, ``tree``...: any plain name) is read
from every folder of ``jupyter_config_path()``, lowest first, each folder
contributing ``serverconfig/<section>.d/*.json`` (in name order: packages
install defaults there) and then ``serverconfig/<section>.json``; higher
folders win key by key, nested objects merged (:func:`recursive_update`).
Writes go to one file only, ``<jupyter_config_dir()>/serverconfig/<section>.json``,
which is therefore always read last (highest), even where jupyter_core
would rank another folder above it.

Writing replaces the file atomically (a temporary file in the same folder,
then a rename) with mode 0600, so a crash leaves the old content or the
new, never half of either.  A file that cannot be read (invalid JSON, not
an object, too large, unreadable) is logged once as an ERROR naming it and
skipped; the lower levels still count.  Updating a section whose own file
is broken is refused (:class:`SectionFileError`) rather than silently
dropping what that file held; replacing it is allowed.

As jupyter_server does, with two differences: the write folder is always
the highest, and an update answers the merged section (what a read would
return), not the write folder's part of it.
"""

from __future__ import annotations

import copy
import glob
import json
import logging
import os
import re
from collections.abc import Sequence
from typing import Any

from ...privatefile import write_private_file

#: Folder of the config path holding config sections (jupyter_server's name).
CONFIG_DIR_NAME = "serverconfig"
#: A section name: a plain file name, never a path (``..``, ``/``, a leading dot).
SECTION_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
#: Largest section file read, and largest section written, in bytes.
MAX_SECTION_BYTES = 16 * 1024 * 1024


class SectionError(ValueError):
    """A section name or body the API refuses; the message says why."""


class SectionFileError(Exception):
    """The write folder's file of a section is broken, so it cannot be updated."""


def check_section_name(name: str) -> str:
    """``name`` if it can name a section; :class:`SectionError` otherwise."""
    if not name:
        raise SectionError("A config section needs a name: /api/config/<section>")
    if not SECTION_PATTERN.fullmatch(name) or ".." in name:
        raise SectionError(
            f"Config section name {name!r} must be 1-200 letters, digits, '_', '-' or '.', "
            "not starting with '.' or '-' and without '..'"
        )
    return name


def recursive_update(target: dict[str, Any], new: dict[str, Any]) -> None:
    """Merge ``new`` into ``target``: objects merged key by key, ``None`` deletes a key,
    and an object emptied by the merge is removed (as jupyter_server does)."""
    for key, value in new.items():
        if isinstance(value, dict):
            current = target.get(key)
            if not isinstance(current, dict):
                current = target[key] = {}
            recursive_update(current, value)
            if not current:
                del target[key]
        elif value is None:
            target.pop(key, None)
        else:
            target[key] = value


class ConfigSectionManager:
    """Reads, replaces and updates config sections (see the module docstring).

    ``read_dirs`` are config folders, highest first (``jupyter_config_path()``);
    ``write_dir`` is the folder writes go to (``jupyter_config_dir()``).  The
    ``serverconfig`` folder below each is implied.
    """

    def __init__(self, read_dirs: Sequence[str], write_dir: str, log: logging.Logger) -> None:
        self.write_dir = os.path.join(os.path.abspath(write_dir), CONFIG_DIR_NAME)
        lower = [os.path.join(os.path.abspath(d), CONFIG_DIR_NAME) for d in read_dirs]
        #: Folders read, lowest first; the write folder last.
        self.read_path = [d for d in dict.fromkeys(reversed(lower)) if d != self.write_dir] + [self.write_dir]
        self.log = log
        self._reported: dict[str, tuple[int, int]] = {}

    def path(self, section: str) -> str:
        """The file a write of ``section`` goes to."""
        return os.path.join(self.write_dir, check_section_name(section) + ".json")

    # -- reading -----------------------------------------------------------------

    def get(self, section: str) -> dict[str, Any]:
        """The merged section (``{}`` when no folder has it)."""
        check_section_name(section)
        data: dict[str, Any] = {}
        for folder in self.read_path:
            for path in self._files(folder, section):
                found = self._read(path)
                if found is not None:
                    recursive_update(data, found)
        return data

    @staticmethod
    def _files(folder: str, section: str) -> list[str]:
        pattern = os.path.join(glob.escape(os.path.join(folder, section + ".d")), "*.json")
        return [*sorted(glob.glob(pattern)), os.path.join(folder, section + ".json")]

    def _read(self, path: str) -> dict[str, Any] | None:
        """The object in ``path``: ``None`` when absent (or empty, or broken: logged once)."""
        try:
            return self._load(path)
        except SectionFileError as err:
            try:
                stat = os.stat(path)
                version = (stat.st_mtime_ns, stat.st_size)
            except OSError:
                version = (0, 0)
            if self._reported.get(path) != version:
                self._reported[path] = version
                self.log.error("Config section file skipped: %s", err)
            return None

    @staticmethod
    def _load(path: str) -> dict[str, Any] | None:
        """The object in ``path``, ``None`` when absent or empty; :class:`SectionFileError` when broken."""
        try:
            with open(path, "rb") as f:
                raw = f.read(MAX_SECTION_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise SectionFileError(f"{path}: {err.strerror or err}") from err
        if len(raw) > MAX_SECTION_BYTES:
            raise SectionFileError(f"{path}: larger than {MAX_SECTION_BYTES} bytes")
        if not raw.strip():
            return None
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise SectionFileError(f"{path}: invalid JSON: {err}") from err
        if not isinstance(data, dict):
            raise SectionFileError(f"{path}: the top level must be a JSON object, not {type(data).__name__}")
        return data

    # -- writing ---------------------------------------------------------------------

    def set(self, section: str, data: dict[str, Any]) -> None:
        """Replace the write folder's file of ``section`` with ``data``."""
        self._write(self.path(section), data)

    def update(self, section: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into the write folder's file (``None`` deletes a key) and
        return the merged section.  :class:`SectionFileError` when that file is broken."""
        path = self.path(section)
        try:
            current = self._load(path) or {}
        except SectionFileError as err:
            raise SectionFileError(
                f"Cannot update config section {section!r}: {err}. Fix the file, or replace the section with PUT."
            ) from err
        recursive_update(current, copy.deepcopy(changes))
        self._write(path, current)
        return self.get(section)

    def _write(self, path: str, data: dict[str, Any]) -> None:
        content = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        if len(content.encode("utf-8")) > MAX_SECTION_BYTES:
            raise SectionError(f"A config section may hold at most {MAX_SECTION_BYTES} bytes of JSON")
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_private_file(path, content)
        self._reported.pop(path, None)
