"""What the frontends' tests share: the real JupyterLab assets, found before the test isolates jupyter paths.

``jsl_dirs`` points every jupyter data path into the test's temporary folder,
where no JupyterLab is installed; :func:`use_installed_frontends` adds the
real data folder (the one holding ``lab/static/index.html``, found through
jupyter_core when this module is imported) back as ``JUPYTER_PATH``, as a
user would with an unusual install.
"""

from __future__ import annotations

import os

import pytest

from jupyter_server_lite.bundled.lab.assets import find_lab_app_dir

#: ``<prefix>/share/jupyter/lab`` of the installed jupyterlab-js, found through jupyter_core.
LAB_APP_DIR = find_lab_app_dir()
#: The Jupyter data folder holding it (and the prebuilt labextensions installed with pip).
DATA_DIR = os.path.dirname(LAB_APP_DIR)


def use_installed_frontends(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the installed JupyterLab assets visible to a server of the test."""
    if not LAB_APP_DIR:
        pytest.fail('the [lab] extra is not installed: pip install -e ".[test]" (jupyterlab-js, notebook-frontend)')
    monkeypatch.setenv("JUPYTER_PATH", DATA_DIR)
