"""bundled/nbconvert: exporters, conversions of real notebook files, refusals, and a server without nbconvert."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbconvert.preprocessors import Preprocessor

from jupyter_server_lite.bundled.nbconvert.convert import INSTALL_HINT

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def body(response) -> Any:
    return json.loads(response.body)


def notebook(with_image: bool = False) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python", "file_extension": ".py", "mimetype": "text/x-python"}
    code = nbformat.v4.new_code_cell("answer = 6 * 7\nanswer", execution_count=1)
    code.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "42"}, execution_count=1)]
    if with_image:
        code.outputs.append(nbformat.v4.new_output("display_data", {"image/png": PNG, "text/plain": "<img>"}))
    nb.cells = [nbformat.v4.new_markdown_cell("# A *small* analysis"), code]
    return nb


def write_notebook(path: Path, **kwargs: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook(**kwargs), str(path))
    return path


#: Where nbconvert's wheel installs its templates, a data folder that jsl_dirs isolates the tests from.
NBCONVERT_DATA = os.path.join(sys.prefix, "share", "jupyter")


@pytest.fixture(autouse=True)
def nbconvert_templates(jsl_dirs, monkeypatch) -> None:
    """The test's isolated data folders, plus the one holding nbconvert's templates (its exporters need them)."""
    assert os.path.isdir(os.path.join(NBCONVERT_DATA, "nbconvert", "templates")), "nbconvert's templates are missing"
    monkeypatch.setenv("JUPYTER_PATH", NBCONVERT_DATA)


@pytest.fixture
def work(jsl_dirs) -> Path:
    write_notebook(jsl_dirs.root / "work" / "my analysis.ipynb")
    return jsl_dirs.root / "work"


# -- exporters --------------------------------------------------------------------------


async def test_the_exporters_are_nbconverts_own(jsl_fetch):
    from nbconvert.exporters.base import get_export_names

    r = await jsl_fetch("api", "nbconvert")
    exporters = body(r)
    assert sorted(exporters) == sorted(get_export_names())
    assert exporters["html"] == {"output_mimetype": "text/html"}
    assert exporters["script"] == {"output_mimetype": ""}  # it depends on the notebook's language
    assert exporters["notebook"] == {"output_mimetype": "application/json"}


# -- converting a notebook file -------------------------------------------------------------


async def test_a_notebook_file_to_html(jsl_fetch, work):
    r = await jsl_fetch("nbconvert", "html", "work/my analysis.ipynb")
    assert r.code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    html = r.body.decode()
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<title>my analysis</title>" in html
    assert "<em>small</em>" in html and "answer" in html and "42" in html
    assert "sandbox allow-scripts" in r.headers["Content-Security-Policy"]
    assert "Content-Disposition" not in r.headers
    assert r.headers["Last-Modified"].endswith(" GMT")


async def test_a_notebook_file_to_a_script_download(jsl_fetch, work):
    r = await jsl_fetch("nbconvert", "script", "work/my analysis.ipynb", params={"download": "true"})
    assert r.code == 200 and r.headers["Content-Type"] == "text/x-python; charset=utf-8"
    from nbconvert.exporters.base import get_exporter

    expected, _ = get_exporter("script")().from_filename(str(work / "my analysis.ipynb"))  # nbconvert's own answer
    assert r.body.decode() == expected and "answer = 6 * 7" in expected
    assert r.headers["Content-Disposition"] == (
        "attachment; filename=\"my analysis.py\"; filename*=UTF-8''my%20analysis.py"
    )


async def test_an_export_with_files_is_a_zip(jsl_fetch, jsl_dirs):
    write_notebook(jsl_dirs.root / "plot.ipynb", with_image=True)
    r = await jsl_fetch("nbconvert", "markdown", "plot.ipynb")
    assert r.code == 200 and r.headers["Content-Type"] == "application/zip"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="plot.zip"')
    archive = zipfile.ZipFile(io.BytesIO(r.body))
    names = archive.namelist()
    assert "plot.md" in names and any(n.endswith(".png") for n in names), names
    png = next(n for n in names if n.endswith(".png"))
    assert archive.read(png) == base64.b64decode(PNG) and f"]({png})" in archive.read("plot.md").decode()


async def test_sanitize_html_reaches_the_exporter(jsl_fetch, jsl_dirs):
    nb = notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell('<script>alert("markdown")</script>'))
    nbformat.write(nb, str(jsl_dirs.root / "script.ipynb"))
    plain = await jsl_fetch("nbconvert", "html", "script.ipynb")
    sanitized = await jsl_fetch("nbconvert", "html", "script.ipynb", params={"sanitize_html": "true"})
    assert '<script>alert("markdown")</script>' in plain.body.decode()
    assert '<script>alert("markdown")</script>' not in sanitized.body.decode()


class ThreadProbe(Preprocessor):
    """A real nbconvert preprocessor that notes the thread it runs on."""

    seen: list[str] = []

    def preprocess(self, nb, resources):
        ThreadProbe.seen.append(threading.current_thread().name)
        return nb, resources


async def test_conversion_runs_off_the_event_loop_with_the_servers_config(jsl_server_factory, jsl_fetch, work):
    """The server's config reaches the exporter (nbconvert's own traits), and the exporter runs in a worker thread."""
    ThreadProbe.seen.clear()
    app = jsl_server_factory(config={"HTMLExporter": {"preprocessors": [ThreadProbe]}}, start=False)
    await app.start_server()
    r = await jsl_fetch("nbconvert", "html", "work/my analysis.ipynb", app=app)
    assert r.code == 200
    assert len(ThreadProbe.seen) == 1 and ThreadProbe.seen[0] != threading.main_thread().name
    assert threading.current_thread() is threading.main_thread()  # the loop's thread, for contrast


# -- a notebook in the body ------------------------------------------------------------------


async def test_a_posted_notebook_converted(jsl_fetch):
    content = json.loads(nbformat.writes(notebook()))
    r = await jsl_fetch("nbconvert", "html", method="POST", body={"name": "posted.ipynb", "content": content})
    assert r.code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>posted</title>" in r.body.decode() and "<em>small</em>" in r.body.decode()
    r = await jsl_fetch("nbconvert", "script", method="POST", body={"content": content})
    assert r.code == 200 and "answer = 6 * 7" in r.body.decode()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("", "Missing field in JSON data: content"),
        ({"name": "x.ipynb"}, "Missing field in JSON data: content"),
        ({"content": {"cells": "nope"}}, "Notebook 'notebook.ipynb' is not valid"),
        ({"content": [1, 2]}, "Notebook 'notebook.ipynb' is not valid: a notebook is a JSON object, not list"),
        ({"content": {}, "name": 3}, "Field 'name' must be a non-empty string"),
    ],
)
async def test_a_bad_posted_notebook_is_a_400(jsl_fetch, jsl_expect_log, payload, message):
    with jsl_expect_log(r"400 POST .*/nbconvert/html"):
        r = await jsl_fetch("nbconvert", "html", method="POST", body=payload, raise_error=False)
    assert r.code == 400 and message in body(r)["message"], body(r)


# -- refusals ---------------------------------------------------------------------------------


async def test_a_missing_notebook_is_a_404(jsl_fetch, jsl_expect_log, work):
    with jsl_expect_log(r"404 GET .*/nbconvert/html/work/nope.ipynb"):
        r = await jsl_fetch("nbconvert", "html", "work/nope.ipynb", raise_error=False)
    assert r.code == 404 and body(r)["message"] == "No such file or directory: 'work/nope.ipynb'"


async def test_an_unknown_format_is_a_400_and_imports_nothing(jsl_fetch, jsl_expect_log, work, tmp_path, monkeypatch):
    with jsl_expect_log(r"400 GET .*/nbconvert/nope/"):
        r = await jsl_fetch("nbconvert", "nope", "work/my analysis.ipynb", raise_error=False)
    assert r.code == 400 and body(r)["message"].startswith("Unknown format 'nope': nbconvert exports to asciidoc, ")
    # nbconvert imports any dotted name it is given; the service asks it only for the ones it lists
    marker = tmp_path / "imported"
    (tmp_path / "jsl_probe_exporter.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass Exporter: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with jsl_expect_log(r"400 GET .*/nbconvert/jsl_probe_exporter.Exporter/"):
        r = await jsl_fetch("nbconvert", "jsl_probe_exporter.Exporter", "work/my analysis.ipynb", raise_error=False)
    assert r.code == 400 and not marker.exists() and "jsl_probe_exporter" not in sys.modules


async def test_a_malformed_notebook_is_a_400(jsl_fetch, jsl_expect_log, jsl_dirs):
    (jsl_dirs.root / "broken.ipynb").write_text('{"cells": [')
    invalid = json.loads(nbformat.writes(notebook()))
    del invalid["cells"][1]["source"]
    (jsl_dirs.root / "invalid.ipynb").write_text(json.dumps(invalid))
    (jsl_dirs.root / "notes.txt").write_text("not a notebook")
    for name, message in (
        (
            "broken.ipynb",
            "Unreadable Notebook: broken.ipynb: not valid JSON (Expecting value: line 1 column 12 (char 11))",
        ),
        (
            "invalid.ipynb",
            "Notebook 'invalid.ipynb' is not valid: Notebook validation failed: cells/1: 'source' is a required property",
        ),
        ("notes.txt", "'notes.txt' is not a notebook, which nbconvert needs (its bytes: /a%40b/files/notes.txt)"),
    ):
        with jsl_expect_log(rf"400 GET .*/nbconvert/html/{name}"):
            r = await jsl_fetch("nbconvert", "html", name, raise_error=False)
        assert r.code == 400 and body(r)["message"] == message, body(r)


async def test_every_route_needs_credentials(jsl_fetch, jsl_expect_log, work):
    for parts, method in (
        (("api", "nbconvert"), "GET"),
        (("nbconvert", "html", "work/x.ipynb"), "GET"),
        (("nbconvert", "html"), "POST"),
    ):
        with jsl_expect_log(rf"403 {method} .*nbconvert"):
            r = await jsl_fetch(
                *parts,
                method=method,
                body={"content": {}} if method == "POST" else None,
                authenticated=False,
                raise_error=False,
            )
        assert r.code == 403 and body(r)["reason"] == "Forbidden"


async def test_a_cross_site_request_with_a_cookie_is_refused(jsl_fetch, jsl_serverapp, jsl_expect_log, work):
    from test_auth import cookie_session

    cookies, _xsrf = await cookie_session(jsl_fetch, jsl_serverapp)
    path = ("nbconvert", "html", "work/my analysis.ipynb")
    same = await jsl_fetch(*path, headers={"Cookie": cookies, "Sec-Fetch-Site": "same-origin"}, authenticated=False)
    assert same.code == 200
    with jsl_expect_log(r"403 GET .*/nbconvert/html/.*not converted for other sites"):
        r = await jsl_fetch(
            *path, headers={"Cookie": cookies, "Sec-Fetch-Site": "cross-site"}, authenticated=False, raise_error=False
        )
    assert r.code == 403


async def test_without_a_contents_service_a_file_cannot_be_read(jsl_server_factory, jsl_fetch, jsl_expect_log):
    off = {"jupyter_server_lite.bundled.contents": False}
    app = jsl_server_factory(config={"ServerApp": {"jpserver_extensions": off}}, start=False)
    await app.start_server()
    with jsl_expect_log(r"503 GET .*/nbconvert/html/a.ipynb"):
        r = await jsl_fetch("nbconvert", "html", "a.ipynb", app=app, raise_error=False)
    assert r.code == 503 and body(r)["message"].startswith("No contents service to read notebooks from")


# -- a server without nbconvert -----------------------------------------------------------------

WITHOUT_NBCONVERT = """
import asyncio, json, sys
from tornado.httpclient import AsyncHTTPClient
from jupyter_server_lite.serverapp import ServerApp

async def main():
    out = {}
    try:
        import nbconvert
        out["importable"] = True
    except ImportError:
        out["importable"] = False
    app = ServerApp()
    app.initialize(sys.argv[1:])
    await app.start_server()
    base = f"http://127.0.0.1:{app.actual_port}/"
    headers = {"Authorization": "token probe"}
    client = AsyncHTTPClient()
    for key, path, method, body in (
        ("formats", "api/nbconvert", "GET", None),
        ("file", "nbconvert/html/nb.ipynb", "GET", None),
        ("post", "nbconvert/html", "POST", json.dumps({"content": {}})),
        ("record", "api/extensions/nbconvert_service", "GET", None),
    ):
        r = await client.fetch(base + path, method=method, body=body, headers=headers, raise_error=False)
        out[key] = [r.code, json.loads(r.body)]
    out["dashboard"] = (await client.fetch(base + "dashboard/", headers=headers)).body.decode()
    await app.stop_server()
    print(json.dumps(out))

asyncio.run(main())
"""


def site_without(package: str, farm: Path) -> Path:
    """A folder of links to everything in this interpreter's site-packages except ``package``
    (its code and its metadata): on ``sys.path`` instead of site-packages, the package is not installed."""
    import nbconvert

    site = Path(nbconvert.__file__).resolve().parents[1]
    farm.mkdir()
    for entry in site.iterdir():
        name = entry.name.lower()
        if name == package or (name.startswith(package + "-") and name.endswith((".dist-info", ".egg-info"))):
            continue
        (farm / entry.name).symlink_to(entry)
    return farm


def test_without_nbconvert_the_service_loads_and_answers_503(jsl_dirs, tmp_path):
    """For real: a fresh interpreter (``-S``: no site-packages of its own) whose path holds every
    installed package but nbconvert."""
    write_notebook(jsl_dirs.root / "nb.ipynb")
    farm = site_without("nbconvert", tmp_path / "site")
    worktree = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([worktree, str(farm)])}
    argv = [
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.open_browser=False",
        "--IdentityProvider.token=probe",
        f"--ServerApp.root_dir={jsl_dirs.root}",
        "--ServerApp.log_level=ERROR",
    ]
    proc = subprocess.run(
        [sys.executable, "-S", "-c", WITHOUT_NBCONVERT, *argv], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["importable"] is False
    missing = f"nbconvert is not installed: the nbconvert service needs it ({INSTALL_HINT})"
    for key in ("formats", "file", "post"):
        assert out[key] == [503, {"message": missing, "reason": "Service Unavailable"}], key
    status, record = out["record"]
    assert (status, record["state"], record["error"]) == (200, "loaded", "")  # not a failed extension
    assert record["provides"] == ["nbconvert"]
    assert re.search(r'<tr class="state-loaded">\s*<td>nbconvert_service', out["dashboard"]), (
        "the dashboard shows it loaded"
    )
    assert record["description"].endswith(
        f"Unavailable: nbconvert is not installed ({INSTALL_HINT}); its routes answer 503."
    )
    listed = subprocess.run(
        [sys.executable, "-S", "-m", "jupyter_server_lite", "extension", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    row = next(
        e for e in json.loads(listed.stdout)["extensions"] if e["module"] == "jupyter_server_lite.bundled.nbconvert"
    )
    assert row["ok"] and row["enabled"] and "Unavailable: nbconvert is not installed" in row["description"]


# -- start-up ----------------------------------------------------------------------------------

STARTUP_PROBE = """
import asyncio, json, sys
from tornado.httpclient import AsyncHTTPClient
from jupyter_server_lite.serverapp import ServerApp

async def main():
    app = ServerApp()
    app.initialize(sys.argv[1:])
    await app.start_server()
    out = {"started": "nbconvert" in sys.modules}
    r = await AsyncHTTPClient().fetch(
        f"http://127.0.0.1:{app.actual_port}/api/nbconvert", headers={"Authorization": "token probe"}
    )
    out["listed"] = [r.code, "html" in json.loads(r.body), "nbconvert" in sys.modules]
    await app.stop_server()
    print(json.dumps(out))

asyncio.run(main())
"""


def test_nbconvert_comes_with_the_first_request_not_the_start(jsl_dirs):
    argv = [
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.open_browser=False",
        "--IdentityProvider.token=probe",
        f"--ServerApp.root_dir={jsl_dirs.root}",
    ]
    proc = subprocess.run([sys.executable, "-c", STARTUP_PROBE, *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"started": False, "listed": [200, True, True]}
