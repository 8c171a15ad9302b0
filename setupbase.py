"""Build helper: ship everything under ``etc/`` as data files.

Enabler files for bundled extensions live in
``etc/jupyter/jupyter_server_lite_config.d/``.  Installed as data files they
land in ``{sys.prefix}/etc/jupyter/...``, the ``--sys-prefix`` config level, so
installing the package is what enables its bundled extensions.  Walking the
tree (rather than listing files by hand) means a new enabler cannot be
forgotten in the packaging.
"""

from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))


def etc_data_files(root: str = "etc") -> list[tuple[str, list[str]]]:
    """Return ``data_files`` entries mirroring ``root`` into the install prefix."""
    entries: list[tuple[str, list[str]]] = []
    top = os.path.join(HERE, root)
    for dirpath, _dirnames, filenames in sorted(os.walk(top)):
        files = sorted(os.path.relpath(os.path.join(dirpath, f), HERE) for f in filenames if not f.startswith("."))
        if files:
            entries.append((os.path.relpath(dirpath, HERE), files))
    return entries
