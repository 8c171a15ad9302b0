"""bundled/dashboard: the bundled extension, on in every server without an enabler file."""

import json
import logging
import re
import textwrap
from importlib.metadata import entry_points

import pytest
from tornado.httpclient import AsyncHTTPClient

from jupyter_server_lite import bundled
from jupyter_server_lite.cli import extension as cli
from jupyter_server_lite.extension.discovery import ENTRY_POINT_GROUP

MODULE = "jupyter_server_lite.bundled.dashboard"


@pytest.fixture
def jsl_serverapp(jsl_server_factory, jsl_dirs, tmp_path, monkeypatch, jsl_expect_log):
    """A server with nothing enabled but a broken extension: the dashboard is there anyway."""
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


def test_it_is_bundled_and_advertised():
    assert MODULE in bundled.BUNDLED_EXTENSIONS
    advertised = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert advertised.get("dashboard") == MODULE


async def test_it_is_enabled_by_the_bundled_level(jsl_fetch, jsl_serverapp):
    record = json.loads((await jsl_fetch("api", "extensions", "dashboard")).body)
    assert record["state"] == "loaded" and record["bundled"] is True
    assert record["enabled_by"] == {"path": bundled.__file__, "level": "bundled", "directory": None}
    assert record["prefixes"] == ["/dashboard", "/extension/api/dashboard", "/static/dashboard"]
    assert record["provides"] == [] and record["replaced_by"] == {}


async def test_dashboard_shows_status_kernels_and_extension_records(jsl_fetch, jsl_serverapp):
    page = (await jsl_fetch("dashboard", "")).body.decode()
    assert "<h1>Dashboard</h1>" in page
    assert '<a href="/a%40b/dashboard/">Refresh</a>' in page  # url_for("page"): its own route, by name
    assert re.search(r'href="/a%40b/static/dashboard/dashboard\.css\?v=\w+"', page)
    assert "<th>kernels</th><td>0</td>" in page
    assert "No kernel is running." in page
    rows = re.findall(r'<tr class="state-(\w+)">\s*<td>(?:<a href="([^"]*)">)?([\w.]+)', page)
    assert ("loaded", "/a%40b/dashboard/", "dashboard") in rows
    assert 'dashboard</a> <span class="bundled">(bundled)</span>' in page
    assert '<td class="prefixes"><code>/dashboard</code><br><code>/extension/api/dashboard</code>' in page
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


def test_extension_list_shows_it_enabled_by_the_bundled_level(jsl_dirs, capsys):
    assert cli.main(["list", "--json"]) == 0
    rows = {row["module"]: row for row in json.loads(capsys.readouterr().out)["extensions"]}
    row = rows[MODULE]
    assert (row["enabled"], row["level"], row["ok"], row["name"]) == (True, "bundled", True, "dashboard")
    assert row["enabler"] == bundled.__file__ and row["bundled"] is True
    assert row["entry_point"]["name"] == "dashboard"
    assert row["prefixes"] == ["/dashboard", "/extension/api/dashboard", "/static/dashboard"]
    assert cli.main(["list"]) == 0
    text = capsys.readouterr().out
    assert f"enabled  by bundled     {bundled.__file__}  <- in force" in text
    assert "prefixes: /dashboard /extension/api/dashboard /static/dashboard" in text


@pytest.mark.parametrize("level", ["user", "sys_prefix", "system"])
async def test_an_enabler_false_at_any_level_switches_it_off(
    jsl_server_factory, jsl_dirs, jsl_expect_log, level, capsys
):
    flag = "--" + level.replace("_", "-")
    assert cli.main(["disable", MODULE, flag]) == 0
    assert (jsl_dirs.level(level) / f"jupyter_server_lite_config.d/{MODULE}.json").is_file()
    capsys.readouterr()
    app = jsl_server_factory(start=False)
    await app.start_server()
    assert app.extension_manager.get("dashboard") is None
    url = f"http://127.0.0.1:{app.actual_port}{app.base_url}dashboard/"
    headers = {"Authorization": f"token {app.identity_provider.token}"}
    with jsl_expect_log("404 GET"):
        r = await AsyncHTTPClient().fetch(url, headers=headers, raise_error=False)
    assert r.code == 404
    assert cli.main(["list", "--json"]) == 0
    row = {r["module"]: r for r in json.loads(capsys.readouterr().out)["extensions"]}[MODULE]
    assert row["enabled"] is False and [e["level"] for e in row["enablers"]] == [level.replace("_", "-"), "bundled"]
