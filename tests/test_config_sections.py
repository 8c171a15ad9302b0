"""The config-sections service (bundled/config): /api/config/<section> over real files.

The ``jsl_dirs`` fixture gives three isolated config levels: ``user``
(highest, where writes go), ``sys_prefix`` and ``system``.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_server_lite.bundled.config.manager import (
    ConfigSectionManager,
    SectionError,
    SectionFileError,
    check_section_name,
    recursive_update,
)


def serverconfig(dirs, level: str, section: str, data) -> str:
    """Write ``data`` (JSON, or a str verbatim) as ``section`` at a config level."""
    return str(dirs.write_config(level, f"serverconfig/{section}.json", data))


async def get(fetch, section: str):
    return json.loads((await fetch("api", "config", section)).body)


async def json_error(fetch, *parts, status, **kwargs):
    with pytest.raises(HTTPClientError) as err:
        await fetch(*parts, **kwargs)
    assert err.value.code == status, err.value.response.body
    body = json.loads(err.value.response.body)
    assert set(body) == {"message", "reason"}
    return body


# -- the merge rule ----------------------------------------------------------------


def test_recursive_update_merges_deletes_and_prunes():
    target = {"a": 1, "b": {"c": 1, "d": 2}, "e": {"f": 1}, "g": 5}
    recursive_update(target, {"a": None, "b": {"d": 3, "x": {"y": 1}}, "e": {"f": None}, "g": {"h": 1}, "zz": None})
    assert target == {"b": {"c": 1, "d": 3, "x": {"y": 1}}, "g": {"h": 1}}


@pytest.mark.parametrize("name", ["notebook", "common", "tree", "my-ext.v2", "_x", "A1"])
def test_plain_section_names_are_accepted(name):
    assert check_section_name(name) == name


@pytest.mark.parametrize("name", ["", "..", ".", ".hidden", "a/b", "a\\b", "a..b", "-x", "a b", "x" * 201, "é"])
def test_other_section_names_are_refused(name):
    with pytest.raises(SectionError):
        check_section_name(name)


def test_the_write_folder_is_read_last_whatever_the_path_order(tmp_path):
    user, env = tmp_path / "user", tmp_path / "env"
    for folder, value in ((user, "user"), (env, "env")):
        (folder / "serverconfig").mkdir(parents=True)
        (folder / "serverconfig" / "s.json").write_text(json.dumps({"who": value, value: True}))
    # As with JUPYTER_PREFER_ENV_PATH: the environment's folder ranks above the user's.
    sections = ConfigSectionManager([str(env), str(user)], str(user), logging.getLogger("test"))
    assert sections.get("s") == {"who": "user", "user": True, "env": True}


# -- reading ------------------------------------------------------------------------


async def test_unknown_section_is_empty(jsl_fetch):
    assert await get(jsl_fetch, "notebook") == {}


async def test_levels_merge_with_the_highest_winning(jsl_fetch, jsl_dirs):
    serverconfig(jsl_dirs, "system", "notebook", {"a": "system", "nested": {"x": 1, "y": 1}, "system": True})
    serverconfig(jsl_dirs, "sys_prefix", "notebook", {"a": "sys-prefix", "nested": {"y": 2}})
    serverconfig(jsl_dirs, "user", "notebook", {"nested": {"z": 3}})
    assert await get(jsl_fetch, "notebook") == {
        "a": "sys-prefix",
        "nested": {"x": 1, "y": 2, "z": 3},
        "system": True,
    }


async def test_section_d_folders_are_defaults_below_their_level(jsl_fetch, jsl_dirs):
    jsl_dirs.write_config("sys_prefix", "serverconfig/tree.d/b-pkg.json", {"pkg": "b", "b": 1})
    jsl_dirs.write_config("sys_prefix", "serverconfig/tree.d/a-pkg.json", {"pkg": "a", "a": 1})
    serverconfig(jsl_dirs, "sys_prefix", "tree", {"b": 2})
    assert await get(jsl_fetch, "tree") == {"pkg": "b", "a": 1, "b": 2}


async def test_a_broken_file_is_logged_once_and_skipped(jsl_fetch, jsl_dirs, jsl_expect_log):
    serverconfig(jsl_dirs, "sys_prefix", "common", {"lower": True})
    broken = serverconfig(jsl_dirs, "user", "common", '{"unfinished": ')
    not_object = serverconfig(jsl_dirs, "system", "common", "[1, 2]")
    with (
        jsl_expect_log(rf"{broken}: invalid JSON", logging.ERROR) as hits,
        jsl_expect_log(rf"{not_object}: the top level must be a JSON object, not list", logging.ERROR),
    ):
        assert await get(jsl_fetch, "common") == {"lower": True}
        assert await get(jsl_fetch, "common") == {"lower": True}
    assert len(hits) == 1, "a file is reported once, not at every read"
    assert Path(broken).read_text() == '{"unfinished": ', "the broken file is left as it was"


async def test_an_empty_file_is_an_empty_section(jsl_fetch, jsl_dirs):
    serverconfig(jsl_dirs, "user", "common", "")
    assert await get(jsl_fetch, "common") == {}


# -- writing --------------------------------------------------------------------------


async def test_put_replaces_the_users_file_atomically_with_mode_0600(jsl_fetch, jsl_dirs):
    serverconfig(jsl_dirs, "user", "notebook", {"old": True})
    serverconfig(jsl_dirs, "system", "notebook", {"lower": 1})
    r = await jsl_fetch("api", "config", "notebook", method="PUT", body={"new": {"x": 1}})
    assert r.code == 204 and r.body == b""
    path = jsl_dirs.user / "serverconfig" / "notebook.json"
    assert json.loads(path.read_text()) == {"new": {"x": 1}}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == ["notebook.json"], "no temporary file is left behind"
    assert await get(jsl_fetch, "notebook") == {"new": {"x": 1}, "lower": 1}


async def test_put_creates_the_folder(jsl_fetch, jsl_dirs):
    assert not (jsl_dirs.user / "serverconfig").exists()
    await jsl_fetch("api", "config", "fresh", method="PUT", body={"a": 1})
    assert json.loads((jsl_dirs.user / "serverconfig" / "fresh.json").read_text()) == {"a": 1}
    assert await get(jsl_fetch, "fresh") == {"a": 1}


async def test_patch_deep_merges_null_deletes_and_answers_the_merged_section(jsl_fetch, jsl_dirs):
    serverconfig(jsl_dirs, "sys_prefix", "notebook", {"Lower": {"kept": True}, "shadowed": "lower"})
    serverconfig(jsl_dirs, "user", "notebook", {"Notebook": {"theme": "light", "size": 12}, "drop": 1})
    r = await jsl_fetch(
        "api", "config", "notebook", method="PATCH", body={"Notebook": {"theme": "dark", "size": None}, "drop": None}
    )
    merged = {"Lower": {"kept": True}, "shadowed": "lower", "Notebook": {"theme": "dark"}}
    assert json.loads(r.body) == merged
    assert json.loads((jsl_dirs.user / "serverconfig" / "notebook.json").read_text()) == {
        "Notebook": {"theme": "dark"}
    }, "only the user's file is written, with the change alone"
    assert await get(jsl_fetch, "notebook") == merged
    r = await jsl_fetch("api", "config", "notebook", method="PATCH", body={"Notebook": {"theme": None}})
    assert json.loads(r.body) == {"Lower": {"kept": True}, "shadowed": "lower"}, "an emptied object is removed"


async def test_patch_of_a_broken_users_file_is_refused_and_put_replaces_it(jsl_fetch, jsl_dirs, jsl_expect_log):
    broken = serverconfig(jsl_dirs, "user", "notebook", "{nope")
    with jsl_expect_log(r"409 PATCH .*/api/config/notebook"):
        body = await json_error(jsl_fetch, "api", "config", "notebook", method="PATCH", body={"a": 1}, status=409)
    assert broken in body["message"] and "invalid JSON" in body["message"] and "PUT" in body["message"]
    assert Path(broken).read_text() == "{nope", "the file is not touched"
    await jsl_fetch("api", "config", "notebook", method="PUT", body={"a": 1})
    assert await get(jsl_fetch, "notebook") == {"a": 1}


# -- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "method"),
    [("..", "GET"), ("a%2Fb", "GET"), ("", "GET"), (".hidden", "PUT"), ("a..b", "PATCH"), ("%2E%2E", "PUT")],
)
async def test_bad_section_names_are_json_400s(jsl_fetch, jsl_dirs, jsl_expect_log, section, method):
    body = {} if method != "GET" else None
    with jsl_expect_log(rf"400 {method} .*/api/config/"):
        error = await json_error(jsl_fetch, "api", "config", section, method=method, body=body, status=400)
    assert "name" in error["message"]
    assert not (jsl_dirs.user / "serverconfig").exists(), "nothing is written"


async def test_a_nested_path_is_a_json_400(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"400 GET .*/api/config/a/b"):
        error = await json_error(jsl_fetch, "api", "config/a/b", status=400)
    assert "'a/b'" in error["message"]


@pytest.mark.parametrize("body", ["[1]", "3", '"text"', "null", "not json", ""])
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_a_body_that_is_not_an_object_is_a_json_400(jsl_fetch, jsl_dirs, jsl_expect_log, body, method):
    with jsl_expect_log(rf"400 {method} .*/api/config/notebook"):
        error = await json_error(jsl_fetch, "api", "config", "notebook", method=method, body=body, status=400)
    assert "JSON" in error["message"]
    assert not (jsl_dirs.user / "serverconfig").exists()


async def test_anonymous_callers_are_refused(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"403 GET .*/api/config/notebook"):
        await json_error(jsl_fetch, "api", "config", "notebook", authenticated=False, status=403)
    with jsl_expect_log(r"403 PUT .*/api/config/notebook"):
        await json_error(jsl_fetch, "api", "config", "notebook", method="PUT", body={}, authenticated=False, status=403)


def test_an_update_through_the_manager_names_the_broken_file(tmp_path):
    (tmp_path / "serverconfig").mkdir()
    (tmp_path / "serverconfig" / "s.json").write_text("{")
    sections = ConfigSectionManager([str(tmp_path)], str(tmp_path), logging.getLogger("test"))
    with pytest.raises(SectionFileError, match=r"s\.json: invalid JSON"):
        sections.update("s", {"a": 1})
