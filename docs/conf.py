"""Sphinx configuration of the docs site: the Markdown pages of docs/, read with MyST.

Build it with ``python -m sphinx -W -b html docs docs/_build/html`` (the
``docs`` extra installs what it needs).  The reference pages are generated
from the code at build time by the directives of ``_ext/jsl_reference``.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))  # the jsl_reference directives
sys.path.insert(0, os.path.dirname(HERE))  # the package itself, when it is not installed

from jupyter_server_lite._version import __version__  # noqa: E402  (after the path is set)

project = "Jupyter Server Lite"
author = "the jupyter_server_lite developers"
copyright = "the jupyter_server_lite developers"
version = release = __version__

extensions = ["myst_parser", "jsl_reference.directives"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext"]

# deflist: the configuration reference's trait entries; colon_fence for ::: blocks.
myst_enable_extensions = ["deflist", "colon_fence"]
# Headings up to ### get anchors, so [text](page.md#a-heading) links resolve.
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"{project} {version}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path: list[str] = []
