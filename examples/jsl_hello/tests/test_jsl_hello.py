"""Tests of jsl_hello, written with jupyter_server_lite's pytest plugin.

The plugin (registered by jupyter_server_lite's ``pytest11`` entry point)
gives every test isolated jupyter folders and a real server on 127.0.0.1;
``jsl_fetch`` sends authenticated requests to it.
"""

import json
import logging
import pathlib
import re

import pytest
from tornado.httpclient import HTTPClientError

from jsl_hello import HelloApp

ENABLER = pathlib.Path(__file__).parents[1] / "etc/jupyter/jupyter_server_lite_config.d/jsl_hello.json"


@pytest.fixture
def jsl_serverapp(jsl_server_factory, jsl_dirs):
    """The server every test talks to, with jsl_hello enabled by the package's own enabler file."""
    jsl_dirs.write_config("sys_prefix", "jupyter_server_lite_config.d/jsl_hello.json", ENABLER.read_text())
    return jsl_server_factory()


async def test_the_extension_loaded(jsl_fetch):
    records = json.loads((await jsl_fetch("api", "extensions")).body)["extensions"]
    hello = next(r for r in records if r["module"] == "jsl_hello")
    assert hello["state"] == "loaded" and hello["name"] == "hello"


async def test_landing_page_uses_versioned_static_files(jsl_fetch):
    page = (await jsl_fetch("hello", "")).body.decode()
    assert '<h1 class="hello">Hello!</h1>' in page
    scripts = re.findall(r'src="([^"]+/static/hello/hello\.js\?v=\w+)"', page)
    assert len(scripts) == 1
    assert re.search(r'href="[^"]+/static/hello/hello\.css\?v=\w+"', page)
    assert re.search(r'href="[^"]+/static/jupyter_server_lite/style\.css', page)  # the core's page.html, as fallback
    js = await jsl_fetch(scripts[0].split("/a%40b/", 1)[1].split("?")[0])
    assert b"hello-form" in js.body


async def test_the_page_form_works_for_a_logged_in_browser(jsl_fetch, jsl_serverapp, jsl_expect_log):
    """What hello.js does: post to data-api with the login cookie and data-xsrf."""
    r = await jsl_fetch("hello", "", authenticated=False, params={"token": jsl_serverapp.identity_provider.token})
    cookies = "; ".join(c.split(";", 1)[0] for c in r.headers.get_list("Set-Cookie"))
    page = r.body.decode()
    api = re.search(r'data-api="([^"]+)"', page).group(1)
    xsrf = re.search(r'data-xsrf="([^"]+)"', page).group(1)
    assert api == "/a%40b/extension/api/hello/greeting"
    parts = api.split("/")[2:]
    headers = {"Cookie": cookies, "X-XSRFToken": xsrf, "Content-Type": "application/json"}
    r = await jsl_fetch(*parts, method="POST", body={"name": "Browser"}, headers=headers, authenticated=False)
    assert json.loads(r.body) == {"greeting": "Hello, Browser!"}
    del headers["X-XSRFToken"]
    with jsl_expect_log("403 POST"), pytest.raises(HTTPClientError) as err:
        await jsl_fetch(*parts, method="POST", body={"name": "Forged"}, headers=headers, authenticated=False)
    assert "XSRF" in json.loads(err.value.response.body)["message"]


async def test_get_greeting(jsl_fetch):
    r = await jsl_fetch("extension", "api", "hello", "greeting", params={"name": "Ada"})
    assert json.loads(r.body) == {"greeting": "Hello, Ada!"}


async def test_post_greeting(jsl_fetch):
    r = await jsl_fetch("extension", "api", "hello", "greeting", method="POST", body={"name": " Grace "})
    assert r.code == 201
    assert json.loads(r.body) == {"greeting": "Hello, Grace!"}


@pytest.mark.parametrize(
    "body, message",
    [
        ("not json", "Request body is not valid JSON"),
        ([1, 2], "Request body must be a JSON object, not list"),
        ({"name": 7}, '"name" must be a string'),
        ({"name": "  "}, '"name" must not be empty'),
        ({"name": "x" * 41}, '"name" is longer than 40 characters'),
    ],
)
async def test_post_validates_the_body(jsl_fetch, jsl_expect_log, body, message):
    with jsl_expect_log("400 POST .*/extension/api/hello/greeting"), pytest.raises(HTTPClientError) as err:
        await jsl_fetch("extension", "api", "hello", "greeting", method="POST", body=body)
    assert err.value.code == 400
    assert json.loads(err.value.response.body)["message"].startswith(message)


async def test_api_needs_the_token(jsl_fetch, jsl_expect_log):
    with jsl_expect_log("403 GET .*/extension/api/hello/greeting"), pytest.raises(HTTPClientError) as err:
        await jsl_fetch("extension", "api", "hello", "greeting", authenticated=False)
    assert err.value.code == 403


async def test_status_hook_counts_greetings(jsl_fetch):
    for name in ("a", "b", "c"):
        await jsl_fetch("extension", "api", "hello", "greeting", params={"name": name})
    status = json.loads((await jsl_fetch("api", "status")).body)
    assert status["hello_greetings"] == 3


def test_traits_come_from_jupyter_hello_config(jsl_server_factory, jsl_dirs, io_loop, jsl_fetch):
    jsl_dirs.write_config(
        "user", "jupyter_hello_config.json", {"HelloApp": {"greeting": "Bonjour", "max_name_length": 3}}
    )
    app = jsl_server_factory(extensions=[HelloApp])
    hello = app.extension_manager.get("hello").apps[0]
    assert (hello.greeting, hello.max_name_length) == ("Bonjour", 3)
    r = io_loop.run_sync(lambda: jsl_fetch("extension", "api", "hello", "greeting", params={"name": "Léa"}, app=app))
    assert json.loads(r.body) == {"greeting": "Bonjour, Léa!"}


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_server_started_hook_logs_the_page(jsl_server_factory, io_loop):
    app = jsl_server_factory(extensions=[HelloApp], start=False)
    collect = Collect()
    app.log.addHandler(collect)
    try:
        io_loop.run_sync(app.start_server)
    finally:
        app.log.removeHandler(collect)
    assert f"Say hello at {app.url}hello/" in collect.messages
