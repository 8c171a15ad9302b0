"""The peer: jupyter_server, in a virtual environment of its own.

The bench creates ``bench/.peer-venv`` (gitignored) on request with the
standard library's ``venv`` and installs ``jupyter_server`` and ``ipykernel``
into it with pip -- with JupyterLab and Notebook 7 (and the prebuilt
``jupyterlab_widgets`` extension our environment also has, so both serve
the same lab extensions) for the frontend workloads -- so the project's own
environment never sees jupyter_server.  An existing venv is reused; ``--peer-refresh`` rebuilds it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent / ".peer-venv"
# The peer the results in docs/benchmarks.md name: jupyter_server as people run it, with the frontends.
PACKAGES = [
    "jupyter_server==2.21.1",
    "ipykernel",
    "jupyterlab>=4.6,<4.7",
    "notebook>=7.6,<7.7",
    "jupyterlab_widgets>=3",
]


def peer_python(venv: Path = VENV) -> Path:
    return venv / "bin" / "python"


def ensure_peer(refresh: bool = False, venv: Path = VENV, log=print) -> Path:
    """Create the peer venv if needed; return its python."""
    python = peer_python(venv)
    if refresh and venv.exists():
        shutil.rmtree(venv)
    if not _usable(python):
        log(f"[bench] creating the peer venv {venv} ({', '.join(PACKAGES)}) ...")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PACKAGES],
            capture_output=True,
            text=True,
        )
        if pip.returncode:
            raise SystemExit(f"[bench] pip could not install the peer:\n{pip.stdout[-2000:]}{pip.stderr[-2000:]}")
    return python


def _usable(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import jupyter_server, ipykernel, jupyterlab, notebook"], capture_output=True
    )
    return probe.returncode == 0


def peer_version(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import jupyter_server; print(jupyter_server.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()
