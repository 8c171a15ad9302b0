"""/api, /api/status, /api/me, /api/health."""
import json

from tornado.httpclient import HTTPClientError
import pytest


async def test_api_version_is_public(jsl_fetch, jsl_serverapp):
    r = await jsl_fetch("api", authenticated=False)
    assert json.loads(r.body) == {"version": jsl_serverapp.version}


async def test_status_requires_token(jsl_fetch, jsl_expect_log):
    with jsl_expect_log("403 GET .*/api/status"), pytest.raises(HTTPClientError) as err:
        await jsl_fetch("api", "status", authenticated=False)
    assert err.value.code == 403
    assert json.loads(err.value.response.body)["reason"] == "Forbidden"


async def test_status_model(jsl_fetch):
    model = json.loads((await jsl_fetch("api", "status")).body)
    assert set(model) >= {"started", "last_activity", "connections", "kernels"}
    assert model["kernels"] == 0 and model["connections"] == 0


async def test_health_reveals_nothing(jsl_fetch, jsl_serverapp):
    r = await jsl_fetch("api", "health", authenticated=False)
    body = r.body.decode()
    assert json.loads(body) == {"status": "ok"}
    assert jsl_serverapp.identity_provider.token not in body


async def test_me_grants_requested_permissions(jsl_fetch):
    perms = {"kernels": ["read", "execute"]}
    r = await jsl_fetch("api", "me", params={"permissions": json.dumps(perms)})
    model = json.loads(r.body)
    assert model["permissions"] == perms
    assert model["identity"]["username"]
