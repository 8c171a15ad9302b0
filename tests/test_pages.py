"""The core's own pages and their assets: the landing page, the favicon."""

from __future__ import annotations

from tornado.httpclient import AsyncHTTPClient


async def test_favicon_is_public_cacheable_and_the_pages_icon(jsl_serverapp, jsl_fetch):
    """Browsers ask for /favicon.ico on every visit: it must answer (no 404 in the log), to anyone."""
    url = f"http://127.0.0.1:{jsl_serverapp.actual_port}/favicon.ico"
    r = await AsyncHTTPClient().fetch(url)
    assert r.code == 200 and r.body[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert r.headers["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    etag = r.headers["Etag"]
    again = await AsyncHTTPClient().fetch(url, headers={"If-None-Match": etag}, raise_error=False)
    assert again.code == 304  # cached by the browser, revalidated for free
    page = (await jsl_fetch("")).body.decode()
    assert '<link rel="icon" href="/a%40b/static/jupyter_server_lite/favicon.ico?v=' in page
