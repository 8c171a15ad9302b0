"""``/api``, ``/api/status``, ``/api/me`` and ``/api/health`` (services/status.py)."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

import pytest

from jupyter_server_lite.web.application import make_application
from jupyter_server_lite.web.handlers import APIHandler

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


class TouchHandler(APIHandler):
    """A state-changing request (POST) and a read (GET) that change nothing."""

    def get(self) -> None:
        self.finish_json({})

    def post(self) -> None:
        self.finish_json({})


@pytest.fixture
def jsl_serverapp(jsl_server_factory: Any, io_loop: Any) -> Any:
    app = jsl_server_factory(start=False)
    app.web_app = make_application(app, extra_routes=[(r"/api/test-touch", TouchHandler)])
    io_loop.run_sync(app.start_server)
    return app


async def test_api_version_is_public(jsl_fetch, jsl_serverapp):
    for path in ("api", "api/"):
        r = await jsl_fetch(path, authenticated=False)
        assert json.loads(r.body) == {"version": jsl_serverapp.version}


async def test_status_requires_token(jsl_fetch, jsl_expect_log):
    with jsl_expect_log("403 GET .*/api/status"):
        r = await jsl_fetch("api", "status", authenticated=False, raise_error=False)
    assert r.code == 403
    assert json.loads(r.body)["reason"] == "Forbidden"


async def test_status_model(jsl_fetch):
    model = json.loads((await jsl_fetch("api", "status")).body)
    assert set(model) >= {"started", "last_activity", "connections", "kernels"}
    assert model["kernels"] == 0 and model["connections"] == 0
    assert ISO_UTC.fullmatch(model["started"]) and ISO_UTC.fullmatch(model["last_activity"])
    assert model["last_activity"] >= model["started"]


async def test_only_state_changing_requests_count_as_activity(jsl_fetch):
    async def last_activity() -> datetime:
        model = json.loads((await jsl_fetch("api", "status")).body)
        return datetime.fromisoformat(model["last_activity"].replace("Z", "+00:00"))

    before = await last_activity()
    await jsl_fetch("api", "test-touch")  # a poll
    assert await last_activity() == before
    await jsl_fetch("api", "test-touch", method="POST", body={})
    assert await last_activity() > before


async def test_health_reveals_nothing(jsl_fetch, jsl_serverapp):
    r = await jsl_fetch("api", "health", authenticated=False)
    body = r.body.decode()
    assert json.loads(body) == {"status": "ok"}
    assert jsl_serverapp.identity_provider.token not in body
    assert r.headers["Cache-Control"] == "no-store"


async def test_health_is_503_stopping_once_a_stop_is_requested(jsl_fetch, jsl_serverapp, jsl_expect_log):
    """A balancer sees "stopping" while the server still answers other requests."""
    assert (await jsl_fetch("api", "health", authenticated=False)).code == 200
    jsl_serverapp.request_stop()  # the test fixture does not wait on it, so the server keeps serving
    with jsl_expect_log(r"^503 GET .*/api/health", logging.WARNING):
        r = await jsl_fetch("api", "health", authenticated=False, raise_error=False)
    assert r.code == 503
    assert json.loads(r.body) == {"status": "stopping"}
    assert (await jsl_fetch("api", "status")).code == 200


async def test_me_is_the_identity_with_requested_permissions(jsl_fetch, jsl_serverapp):
    perms = {"kernels": ["read", "execute"], "sessions": []}
    r = await jsl_fetch("api", "me", params={"permissions": json.dumps(perms)})
    model = json.loads(r.body)
    assert model["permissions"] == perms
    identity = model["identity"]
    assert set(identity) == {"username", "name", "display_name", "initials", "avatar_url", "color"}
    assert identity["username"] == jsl_serverapp.identity_provider.username
    assert identity["name"] and identity["display_name"]
    assert json.loads((await jsl_fetch("api", "me")).body)["permissions"] == {}


@pytest.mark.parametrize("permissions", ["{not json", "[]", '{"kernels": "read"}', '{"kernels": [1]}'])
async def test_me_refuses_malformed_permissions(jsl_fetch, jsl_expect_log, permissions):
    with jsl_expect_log(r"^400 GET .*/api/me.*permissions"):
        r = await jsl_fetch("api", "me", params={"permissions": permissions}, raise_error=False)
    assert r.code == 400
    assert "permissions" in json.loads(r.body)["message"]


async def test_me_requires_credentials(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"^403 GET .*/api/me"):
        r = await jsl_fetch("api", "me", authenticated=False, raise_error=False)
    assert r.code == 403


async def test_started_is_when_serving_began(jsl_fetch, jsl_server_factory):
    """Not when /api/status was first asked (the Activity must not be made lazily)."""
    app = jsl_server_factory(start=False)
    await app.start_server()
    after_start = datetime.now(timezone.utc)
    model = json.loads((await jsl_fetch("api", "status", app=app)).body)
    assert datetime.fromisoformat(model["started"].replace("Z", "+00:00")) <= after_start


async def test_me_refuses_deeply_nested_permissions(jsl_fetch, jsl_expect_log):
    """json.loads raises RecursionError (not ValueError) on deep nesting: a 400, not a 500."""
    with jsl_expect_log(r"^400 GET .*/api/me.*permissions is not valid JSON: it is nested too deeply"):
        r = await jsl_fetch("api", "me", params={"permissions": "[" * 5000}, raise_error=False)
    assert r.code == 400
    assert json.loads(r.body)["message"] == "permissions is not valid JSON: it is nested too deeply"
