"""/api/kernelspecs, /api/kernelspecs/<name> and /kernelspecs/<name>/<resource>."""

import json
import logging
import os

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_server_lite.web.handlers import url_path_join


def install_spec(dirs, name, argv=None, files=()):
    """A kernelspec in the test's user data dir (a folder with kernel.json)."""
    folder = dirs.data / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": argv or ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": name,
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec))
    for filename in files:
        (folder / filename).write_bytes(b"resource " + filename.encode())
    return folder


async def test_list_has_default_and_native_kernel(jsl_fetch, jsl_serverapp):
    model = json.loads((await jsl_fetch("api", "kernelspecs")).body)
    assert model["default"] == "python3"
    spec = model["kernelspecs"]["python3"]
    assert spec["name"] == "python3"
    assert spec["spec"]["language"] == "python" and "{connection_file}" in spec["spec"]["argv"]
    assert spec["resources"]["logo-64x64"] == url_path_join(
        jsl_serverapp.base_url, "kernelspecs", "python3", "logo-64x64.png"
    )


async def test_get_one_and_unknown_is_json_404(jsl_fetch, jsl_expect_log):
    model = json.loads((await jsl_fetch("api", "kernelspecs", "python3")).body)
    assert model["name"] == "python3"
    with jsl_expect_log("404 GET .*/api/kernelspecs/nope"), pytest.raises(HTTPClientError) as err:
        await jsl_fetch("api", "kernelspecs", "nope")
    assert err.value.code == 404
    assert "python3" in json.loads(err.value.response.body)["message"]


async def test_installed_spec_and_its_resources(jsl_dirs, jsl_fetch, jsl_serverapp):
    install_spec(jsl_dirs, "custom", files=("kernel.js", "logo-32x32.png"))
    model = json.loads((await jsl_fetch("api", "kernelspecs", "custom")).body)
    assert set(model["resources"]) == {"kernel.js", "logo-32x32"}
    r = await jsl_fetch("kernelspecs", "custom", "logo-32x32.png")
    assert r.body == b"resource logo-32x32.png"
    assert r.headers["Content-Type"] == "image/png"
    assert "no-store" not in r.headers.get("Cache-Control", "")  # an API handler, but a cacheable file
    # served like a static file: revalidation is a 304
    again = await jsl_fetch(
        "kernelspecs", "custom", "logo-32x32.png", headers={"If-None-Match": r.headers["Etag"]}, raise_error=False
    )
    assert again.code == 304


async def test_resource_confined_to_spec_folder(jsl_dirs, jsl_fetch, jsl_expect_log):
    folder = install_spec(jsl_dirs, "custom")
    (jsl_dirs.data / "secret.txt").write_text("TOP-SECRET-CONTENT")
    os.symlink(jsl_dirs.data / "secret.txt", folder / "link.txt")
    for path in (
        "..%2F..%2Fsecret.txt",
        "..%2Fcustom%2Fkernel.json%2F..%2F..%2F..%2Fsecret.txt",
        "link.txt",
        "missing.png",
    ):
        with jsl_expect_log("404 GET .*/kernelspecs/custom/"), pytest.raises(HTTPClientError) as err:
            await jsl_fetch("kernelspecs", "custom", path)
        assert err.value.code == 404, path
        assert b"TOP-SECRET-CONTENT" not in err.value.response.body
    with jsl_expect_log("404 GET .*/kernelspecs/nope/"), pytest.raises(HTTPClientError) as err:
        await jsl_fetch("kernelspecs", "nope", "logo-64x64.png")
    assert err.value.code == 404


async def test_resource_errors_are_json(jsl_dirs, jsl_fetch, jsl_expect_log):
    """Unknown spec, unknown file and a ``../`` escape: JSON 404s saying which."""
    install_spec(jsl_dirs, "custom", files=("logo-32x32.png",))
    cases = [
        (("nope", "logo-64x64.png"), "No kernelspec named 'nope'; available: custom, python3"),
        (("custom", "missing.png"), "No resource 'missing.png' in kernelspec 'custom'"),
        (("custom", "..%2Fpython3%2Fkernel.json"), "No resource '../python3/kernel.json' in kernelspec 'custom'"),
    ]
    for parts, message in cases:
        with jsl_expect_log("404 GET .*/kernelspecs/"):
            r = await jsl_fetch("kernelspecs", *parts, raise_error=False)
        assert r.code == 404, parts
        assert r.headers["Content-Type"] == "application/json"
        body = json.loads(r.body)
        assert body["reason"] == "Not Found" and body["message"].startswith(message), body


async def test_anonymous_resource_request_is_json_403(jsl_fetch, jsl_expect_log):
    """No login redirect: the callers are API clients and <img> tags."""
    with jsl_expect_log("403 GET .*/kernelspecs/python3/logo-64x64.png"):
        r = await jsl_fetch("kernelspecs", "python3", "logo-64x64.png", authenticated=False, raise_error=False)
    assert r.code == 403
    assert r.headers["Content-Type"] == "application/json"
    assert json.loads(r.body)["message"].startswith("Authentication required")
    assert b"PNG" not in r.body


@pytest.mark.parametrize("jsl_server_config", [{"KernelSpecManager": {"cache_check_interval": 3600}}])
async def test_cache_is_reused_within_the_check_interval(jsl_dirs, jsl_fetch):
    before = json.loads((await jsl_fetch("api", "kernelspecs")).body)["kernelspecs"]
    install_spec(jsl_dirs, "late")
    after = json.loads((await jsl_fetch("api", "kernelspecs")).body)["kernelspecs"]
    assert set(after) == set(before)


@pytest.mark.parametrize("jsl_server_config", [{"KernelSpecManager": {"cache_check_interval": 0}}])
async def test_cache_sees_added_edited_and_removed_specs(jsl_dirs, jsl_fetch):
    async def specs():
        return json.loads((await jsl_fetch("api", "kernelspecs")).body)["kernelspecs"]

    assert "late" not in await specs()
    folder = install_spec(jsl_dirs, "late")
    assert (await specs())["late"]["spec"]["display_name"] == "late"
    spec = json.loads((folder / "kernel.json").read_text())
    spec["display_name"] = "Edited"
    (folder / "kernel.json").write_text(json.dumps(spec))
    st = os.stat(folder / "kernel.json")
    os.utime(folder / "kernel.json", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # coarse clocks
    assert (await specs())["late"]["spec"]["display_name"] == "Edited"
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    assert "late" not in await specs()


async def test_broken_specs_are_logged_and_skipped(jsl_dirs, jsl_fetch, jsl_expect_log):
    bad = jsl_dirs.data / "kernels" / "broken"
    bad.mkdir(parents=True)
    (bad / "kernel.json").write_text("{not json")
    install_spec(jsl_dirs, "bad name!")
    with (
        jsl_expect_log("Error loading kernelspec 'broken'"),
        jsl_expect_log("Invalid kernelspec directory name", logging.WARNING),
    ):
        model = json.loads((await jsl_fetch("api", "kernelspecs")).body)
    assert "python3" in model["kernelspecs"] and "broken" not in model["kernelspecs"]
