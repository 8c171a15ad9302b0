"""Build helper: ship everything under ``etc/`` as data files.

The conf.d layout every Jupyter package ships: one enabler per bundled
extension in ``etc/jupyter/jupyter_server_lite_config.d/``, installed as data
files into ``{sys.prefix}/etc/jupyter/...`` (the ``--sys-prefix`` level), where
an admin looks for them and where ``extension list`` names them.  The
bundled extensions do not depend on these files -- an editable install has
none, and they are on at the ``bundled`` level anyway (see
``jupyter_server_lite/bundled/__init__.py``).  Walking the tree (rather than
listing files by hand) means a new enabler cannot be forgotten in the
packaging; ``tests/test_bundled.py`` keeps the files and
``BUNDLED_EXTENSIONS`` in step.
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
