"""bundled/lab: JupyterLab's pages and page config, its files, translations, licenses and the not-installed case."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from frontends import LAB_APP_DIR, use_installed_frontends


@pytest.fixture
def jsl_server_config(monkeypatch):
    use_installed_frontends(monkeypatch)
    return {}


def page_config(body: bytes) -> dict:
    found = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', body, re.S)
    assert found, body[:500]
    return json.loads(found.group(1))


async def test_lab_page_config(jsl_fetch, jsl_serverapp):
    r = await jsl_fetch("lab")
    config = page_config(r.body)
    base = jsl_serverapp.base_url
    assert config["baseUrl"] == base == "/a%40b/" and config["wsUrl"] == ""
    assert config["token"] == "", "the browser authenticates with the cookie: no token in the page"
    assert jsl_serverapp.identity_provider.token.encode() not in r.body
    assert (config["appName"], config["appUrl"], config["mode"]) == ("JupyterLab", "/lab", "multiple-document")
    assert re.fullmatch(r"4\.\d+\.\d+", config["appVersion"])
    assert config["fullStaticUrl"] == base + "static/lab"
    assert config["fullLabextensionsUrl"] == base + "lab/extensions"
    assert (config["themesUrl"], config["fullThemesUrl"]) == ("/lab/api/themes", base + "lab/api/themes")
    assert config["fullSettingsUrl"] == base + "lab/api/settings"
    assert config["fullTranslationsApiUrl"] == base + "lab/api/translations"
    assert config["fullLicensesUrl"] == base + "lab/api/licenses"
    assert config["fullWorkspacesApiUrl"] == base + "lab/api/workspaces"
    assert (config["treeUrl"], config["treePath"], config["workspace"]) == ("/lab/tree", "", "default")
    assert config["terminalsAvailable"] is True and config["buildAvailable"] is False
    assert config["notebookStartsKernel"] is True and config["exposeAppInBrowser"] is False
    assert "@jupyterlab/extensionmanager-extension" in config["disabledExtensions"]
    assert isinstance(config["store_id"], int)
    names = {e["name"] for e in config["federated_extensions"]}
    assert "@jupyter-widgets/jupyterlab-manager" in names, (
        "jupyterlab_widgets, installed with pip, is a prebuilt extension"
    )
    assert "_xsrf" in r.headers.get("Set-Cookie", ""), "the page gets the _xsrf cookie it echoes on writes"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "lab/tree/work/a b.ipynb",
            {"treePath": "work/a b.ipynb", "workspace": "default", "mode": "multiple-document"},
        ),
        ("lab/workspaces/mine", {"treePath": "", "workspace": "mine"}),
        ("lab/workspaces/mine/tree/x.ipynb", {"treePath": "x.ipynb", "workspace": "mine"}),
        ("doc/tree/x.ipynb", {"treePath": "x.ipynb", "mode": "single-document"}),
        ("doc", {"mode": "single-document", "treePath": ""}),
    ],
)
async def test_lab_urls_set_what_the_page_opens(jsl_fetch, path, expected):
    config = page_config((await jsl_fetch(path)).body)
    assert {k: config[k] for k in expected} == expected


async def test_a_trailing_slash_redirects_and_other_paths_are_labs_not_found_page(jsl_fetch, jsl_expect_log):
    r = await jsl_fetch("lab/", params={"reset": ""}, raise_error=False)
    assert r.code == 301 and r.headers["Location"] == "/a%40b/lab?reset="
    with jsl_expect_log(r"404 GET .*/lab/no/such/page"):
        r = await jsl_fetch("lab", "no", "such", "page", raise_error=False)
    assert r.code == 404 and page_config(r.body)["notFoundUrl"] == "/a%40b/lab/no/such/page"


async def test_root_goes_to_lab_and_an_anonymous_page_to_the_login(jsl_fetch):
    r = await jsl_fetch("", params={"reset": "1"}, raise_error=False)
    assert r.code == 302 and r.headers["Location"] == "/a%40b/lab?reset=1"
    r = await jsl_fetch("lab", authenticated=False, raise_error=False)
    assert r.code == 302 and "/login?next=" in r.headers["Location"]


async def test_static_bundle_themes_and_prebuilt_extensions_are_served(jsl_fetch):
    main = next(p.name for p in (Path(LAB_APP_DIR) / "static").glob("main.*.js"))
    assert (await jsl_fetch("static", "lab", main, authenticated=False)).code == 200
    css = await jsl_fetch("lab/api/themes/@jupyterlab/theme-light-extension/index.css", authenticated=False)
    assert css.code == 200 and b"--jp-" in css.body
    config = page_config((await jsl_fetch("lab")).body)
    widgets = next(e for e in config["federated_extensions"] if e["name"] == "@jupyter-widgets/jupyterlab-manager")
    entry = await jsl_fetch("lab/extensions", widgets["name"], widgets["load"], authenticated=False)
    assert entry.code == 200 and entry.body


async def test_missing_files_are_404s_and_escapes_refused(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"404 GET .*/lab/extensions/nope"):
        r = await jsl_fetch("lab/extensions/nope/static/x.js", raise_error=False)
    assert r.code == 404
    with jsl_expect_log(r"40[34] GET .*/lab/api/themes/"):
        r = await jsl_fetch("lab/api/themes/%2E%2E/%2E%2E/static/package.json", raise_error=False)
    assert r.code in (403, 404)


async def test_translations_answer_like_jupyterlab_server_without_language_packs(jsl_fetch, jsl_expect_log):
    listed = json.loads((await jsl_fetch("lab/api/translations")).body)
    assert listed == {"data": {"en": {"displayName": "English", "nativeName": "English"}}, "message": ""}
    one = json.loads((await jsl_fetch("lab/api/translations/fr_FR")).body)
    assert one == {"data": {}, "message": "Language pack 'fr_FR' not installed!"}
    assert (await jsl_fetch("lab/api/translations/default")).code == 200
    with jsl_expect_log(r"400 GET .*/lab/api/translations/"):
        r = await jsl_fetch("lab/api/translations/xx-not-a-locale", raise_error=False)
    assert r.code == 400 and "Unknown locale" in json.loads(r.body)["message"]


async def test_licenses_listings_and_language_servers(jsl_fetch, jsl_expect_log):
    licenses = json.loads((await jsl_fetch("lab/api/licenses/", params={"bundles": "^JupyterLab$"})).body)
    packages = licenses["bundles"]["JupyterLab"]["packages"]
    assert packages and "extractedText" not in packages[0]
    md = await jsl_fetch("lab/api/licenses/", params={"format": "markdown", "full_text": "true", "download": "1"})
    assert md.body.startswith(b"# JupyterLab") and "attachment" in md.headers["Content-Disposition"]
    with jsl_expect_log(r"400 GET .*/lab/api/licenses"):
        r = await jsl_fetch("lab/api/licenses/", params={"format": "pdf"}, raise_error=False)
    assert r.code == 400
    listing = json.loads(
        (await jsl_fetch("lab/api/listings/@jupyterlab/extensionmanager-extension/listings.json")).body
    )
    assert listing["blocked_extensions"] == [] and listing["allowed_extensions"] == []
    assert json.loads((await jsl_fetch("lsp/status")).body) == {"version": 2, "sessions": {}, "specs": {}}


async def test_a_new_prebuilt_extension_shows_at_the_next_page(jsl_fetch, jsl_dirs, tmp_path):
    config = page_config((await jsl_fetch("lab")).body)
    assert "my-ext" not in {e["name"] for e in config["federated_extensions"]}
    # the user data folder is jsl_dirs.data: install an extension there, as `pip install --user` would
    folder = jsl_dirs.data / "labextensions" / "my-ext"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(
        json.dumps({"name": "my-ext", "version": "1.0.0", "jupyterlab": {"_build": {"load": "static/remoteEntry.js"}}})
    )
    config = page_config((await jsl_fetch("lab")).body)
    assert {"name": "my-ext", "load": "static/remoteEntry.js", "entrypoints": None} in config["federated_extensions"]


async def test_labconfig_page_config_disables_extensions(jsl_fetch, jsl_dirs):
    jsl_dirs.write_config(
        "user", "labconfig/page_config.json", {"disabledExtensions": {"@jupyterlab/toc-extension": True}}
    )
    config = page_config((await jsl_fetch("lab")).body)
    assert "@jupyterlab/toc-extension" in config["disabledExtensions"]
