"""bundled/dashboard: the bundled extension, enabled by the repository's own enabler file."""

import json
import logging
import pathlib
import re
import textwrap
from importlib.metadata import entry_points

import pytest

from jupyter_server_lite.cli import extension as cli
from jupyter_server_lite.extension.discovery import ENTRY_POINT_GROUP

MODULE = "jupyter_server_lite.bundled.dashboard"
ENABLER = pathlib.Path(__file__).parents[1] / "etc/jupyter/jupyter_server_lite_config.d" / f"{MODULE}.json"


@pytest.fixture
def jsl_serverapp(jsl_server_factory, jsl_dirs, tmp_path, monkeypatch, jsl_expect_log):
    """A server with the dashboard enabled as pip installs it, next to a broken extension."""
    jsl_dirs.write_config("sys_prefix", f"jupyter_server_lite_config.d/{ENABLER.name}", ENABLER.read_text())
    site = tmp_path / "site"
    site.mkdir()
    (site / "jsltest_dash_broken.py").write_text(
        textwrap.dedent('raise ImportError("dashboard test: cannot import")\n')
    )
    monkeypatch.syspath_prepend(str(site))
    jsl_dirs.write_config(
        "user",
        "jupyter_server_lite_config.d/jsltest_dash_broken.json",
        {"ServerApp": {"jpserver_extensions": {"jsltest_dash_broken": True}}},
    )
    with jsl_expect_log("Extension jsltest_dash_broken failed", logging.ERROR):
        return jsl_server_factory()


def test_enabler_file_and_entry_point_ship_with_the_package():
    assert json.loads(ENABLER.read_text()) == {"ServerApp": {"jpserver_extensions": {MODULE: True}}}
    advertised = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert advertised.get("dashboard") == MODULE


async def test_dashboard_shows_status_kernels_and_extension_records(jsl_fetch, jsl_serverapp):
    page = (await jsl_fetch("dashboard", "")).body.decode()
    assert "<h1>Dashboard</h1>" in page
    assert re.search(r'href="/a%40b/static/dashboard/dashboard\.css\?v=\w+"', page)
    assert "<th>kernels</th><td>0</td>" in page
    assert "No kernel is running." in page
    rows = re.findall(r'<tr class="state-(\w+)">\s*<td>(?:<a href="([^"]*)">)?([\w.]+)', page)
    assert ("loaded", "/a%40b/dashboard/", "dashboard") in rows
    assert ("failed", "", "jsltest_dash_broken") in rows
    assert "ImportError: dashboard test: cannot import" in page
    assert "<summary>traceback</summary>" in page
    assert "<code>/dashboard/?</code>" in page  # its mounted route, from the record


async def test_dashboard_lists_a_running_kernel(jsl_fetch):
    kernel = json.loads((await jsl_fetch("api", "kernels", method="POST", body={})).body)
    try:
        page = (await jsl_fetch("dashboard", "")).body.decode()
        assert f"<td><code>{kernel['id']}</code></td><td>{kernel['name']}</td>" in page
        assert "<th>kernels</th><td>1</td>" in page
    finally:
        await jsl_fetch("api", "kernels", kernel["id"], method="DELETE")


async def test_dashboard_needs_login(jsl_fetch):
    r = await jsl_fetch("dashboard", "", authenticated=False, raise_error=False)
    assert r.code == 302
    assert "/a%40b/login?next=" in r.headers["Location"]


def test_extension_list_shows_it_enabled_at_sys_prefix(jsl_dirs, capsys):
    jsl_dirs.write_config("sys_prefix", f"jupyter_server_lite_config.d/{ENABLER.name}", ENABLER.read_text())
    assert cli.main(["list", "--json"]) == 0
    rows = {row["module"]: row for row in json.loads(capsys.readouterr().out)["extensions"]}
    row = rows[MODULE]
    assert (row["enabled"], row["level"], row["ok"], row["name"]) == (True, "sys-prefix", True, "dashboard")
    assert row["entry_point"]["name"] == "dashboard"
