"""``/files/<path>``: raw bytes streamed, types, downloads, validators, ranges, confinement."""

from __future__ import annotations

import email.utils
import json
import os
import urllib.parse

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from jupyter_server_lite.bundled.files.handlers import attachment, byte_range, content_type


async def get(jsl_fetch, path: str, **kwargs):
    return await jsl_fetch("files/" + path, raise_error=False, **kwargs)


async def test_raw_bytes_and_content_types(jsl_fetch, jsl_dirs):
    root = jsl_dirs.root
    (root / "sub").mkdir()
    (root / "sub" / "a.txt").write_text("héllo")
    (root / "img.png").write_bytes(b"\x89PNG\r\n")
    (root / "nb.ipynb").write_text("{}")
    (root / "noext").write_bytes(b"\x00\x01")
    r = await get(jsl_fetch, "sub/a.txt")
    assert r.code == 200 and r.body == "héllo".encode()
    assert r.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert "Content-Disposition" not in r.headers
    assert "sandbox allow-scripts" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-cache" and r.headers["Accept-Ranges"] == "bytes"
    assert (await get(jsl_fetch, "img.png")).headers["Content-Type"] == "image/png"
    assert (await get(jsl_fetch, "noext")).headers["Content-Type"] == "application/octet-stream"
    r = await get(jsl_fetch, "nb.ipynb")
    assert r.headers["Content-Type"] == "application/x-ipynb+json"
    assert r.headers["Content-Disposition"].startswith("attachment"), "a notebook is always a download"


async def test_download_sets_an_rfc5987_attachment_name(jsl_fetch, jsl_dirs):
    name = 'résumé "final".txt'
    (jsl_dirs.root / name).write_text("cv")
    r = await get(jsl_fetch, urllib.parse.quote(name), params={"download": "1"})
    assert r.code == 200 and r.body == b"cv"
    disposition = r.headers["Content-Disposition"]
    assert (
        disposition
        == "attachment; filename=\"r_sum_ _final_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.txt"
    )
    assert urllib.parse.unquote(disposition.split("''", 1)[1]) == name


def test_helpers():
    assert content_type("a.tar.gz") == "application/gzip"
    assert content_type("page.html") == "text/html"
    assert attachment("") == "attachment; filename=\"download\"; filename*=UTF-8''"
    assert byte_range(None, 10) is None
    assert byte_range("bytes=0-0", 10) == (0, 1)
    assert byte_range("bytes=5-", 10) == (5, 10)
    assert byte_range("bytes=-3", 10) == (7, 10)
    assert byte_range("bytes=2-100", 10) == (2, 10)
    assert byte_range("bytes=0-1,4-5", 10) is None, "several ranges: the whole file"
    assert byte_range("items=0-1", 10) is None


async def test_validators_give_304(jsl_fetch, jsl_dirs):
    path = jsl_dirs.root / "v.txt"
    path.write_text("version 1")
    first = await get(jsl_fetch, "v.txt")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and email.utils.parsedate_to_datetime(modified)
    again = await get(jsl_fetch, "v.txt", headers={"If-None-Match": etag})
    assert again.code == 304 and not again.body
    assert (await get(jsl_fetch, "v.txt", headers={"If-Modified-Since": modified})).code == 304
    assert (await get(jsl_fetch, "v.txt", headers={"If-None-Match": '"other"'})).code == 200
    path.write_text("version 2, longer")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    changed = await get(jsl_fetch, "v.txt", headers={"If-None-Match": etag})
    assert changed.code == 200 and changed.body == b"version 2, longer" and changed.headers["ETag"] != etag


async def test_ranges(jsl_fetch, jsl_dirs, jsl_expect_log):
    (jsl_dirs.root / "r.bin").write_bytes(bytes(range(100)))
    r = await get(jsl_fetch, "r.bin", headers={"Range": "bytes=10-19"})
    assert r.code == 206 and r.body == bytes(range(10, 20))
    assert r.headers["Content-Range"] == "bytes 10-19/100" and r.headers["Content-Length"] == "10"
    r = await get(jsl_fetch, "r.bin", headers={"Range": "bytes=-5"})
    assert r.code == 206 and r.body == bytes(range(95, 100))
    with jsl_expect_log(r"416 GET .*r.bin"):
        r = await get(jsl_fetch, "r.bin", headers={"Range": "bytes=100-"})
    assert r.code == 416 and r.headers["Content-Range"] == "bytes */100"


async def test_head(jsl_fetch, jsl_dirs):
    (jsl_dirs.root / "h.txt").write_text("12345")
    r = await jsl_fetch("files/h.txt", method="HEAD")
    assert r.code == 200 and r.headers["Content-Length"] == "5" and not r.body


async def test_a_large_file_is_streamed_in_blocks(jsl_serverapp, jsl_dirs):
    """The client gets the bytes as several body chunks: the server never built the body whole."""
    size = 8 * 1024 * 1024 + 7
    data = os.urandom(size)
    (jsl_dirs.root / "large.bin").write_bytes(data)
    received: list[bytes] = []
    app = jsl_serverapp
    request = HTTPRequest(
        f"http://127.0.0.1:{app.actual_port}{app.base_url}files/large.bin",
        headers={"Authorization": f"token {app.identity_provider.token}"},
        streaming_callback=received.append,
        request_timeout=120,
    )
    response = await AsyncHTTPClient().fetch(request)
    assert response.code == 200 and response.headers["Content-Length"] == str(size)
    assert b"".join(received) == data
    assert len(received) >= 8, "the body arrives block by block"


@pytest.mark.parametrize(
    ("raw", "status"),
    [("%2e%2e/outside.txt", 400), ("..%2foutside.txt", 400), ("a%5c..%5coutside.txt", 400), ("escape/key.txt", 403)],
)
async def test_confinement(jsl_fetch, jsl_dirs, jsl_expect_log, raw, status):
    (jsl_dirs.root.parent / "outside.txt").write_text("TOP-SECRET")
    secret = jsl_dirs.root.parent / "secret"
    secret.mkdir()
    (secret / "key.txt").write_text("TOP-SECRET")
    (jsl_dirs.root / "escape").symlink_to(secret)
    with jsl_expect_log(rf"{status} GET .*files/"):
        r = await get(jsl_fetch, raw)
    assert r.code == status and b"TOP-SECRET" not in r.body
    assert set(json.loads(r.body)) == {"message", "reason"}


async def test_hidden_folders_and_missing_files_are_404(jsl_fetch, jsl_dirs, jsl_expect_log):
    (jsl_dirs.root / ".ssh").mkdir()
    (jsl_dirs.root / ".ssh" / "id").write_text("private")
    (jsl_dirs.root / "dir").mkdir()
    for path in (".ssh/id", "missing.txt", "dir"):
        with jsl_expect_log(rf"404 GET .*files/{path}"):
            r = await get(jsl_fetch, path)
        assert r.code == 404 and b"private" not in r.body


async def test_authentication_is_required(jsl_fetch, jsl_dirs, jsl_expect_log, jsl_token):
    (jsl_dirs.root / "a.txt").write_text("x")
    with jsl_expect_log(r"403 GET .*files/a.txt"):
        r = await get(jsl_fetch, "a.txt", authenticated=False)
    assert r.code == 403 and json.loads(r.body)["message"].startswith("Authentication required")
    r = await get(jsl_fetch, "a.txt", authenticated=False, params={"token": jsl_token})
    cookie = "; ".join(c.split(";", 1)[0] for c in r.headers.get_list("Set-Cookie"))
    assert r.code == 200 and cookie
    r = await get(jsl_fetch, "a.txt", authenticated=False, headers={"Cookie": cookie, "Sec-Fetch-Site": "same-origin"})
    assert r.code == 200 and r.body == b"x"
    with jsl_expect_log(r"403 GET .*files/a.txt"):
        r = await get(
            jsl_fetch, "a.txt", authenticated=False, headers={"Cookie": cookie, "Sec-Fetch-Site": "cross-site"}
        )
    assert r.code == 403 and json.loads(r.body)["message"] == "Files are not served to other sites"
