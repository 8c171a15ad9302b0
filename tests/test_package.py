"""The package's public surface: small, lazy, and every name real."""

import re
import subprocess
import sys
from pathlib import Path

import jupyter_server_lite


def test_every_public_name_resolves_to_its_home():
    from jupyter_server_lite.extension.application import ExtensionApp
    from jupyter_server_lite.extension.handler import ExtensionAPIHandler, ExtensionHandler
    from jupyter_server_lite.extension.hooks import hookimpl, hookspec
    from jupyter_server_lite.extension.mount import Mount
    from jupyter_server_lite.serverapp import ServerApp

    homes = {
        "ServerApp": ServerApp,
        "ExtensionApp": ExtensionApp,
        "ExtensionHandler": ExtensionHandler,
        "ExtensionAPIHandler": ExtensionAPIHandler,
        "Mount": Mount,
        "hookimpl": hookimpl,
        "hookspec": hookspec,
    }
    assert set(jupyter_server_lite.__all__) == {*homes, "__version__"}
    for name, obj in homes.items():
        assert getattr(jupyter_server_lite, name) is obj


def test_unknown_name_is_an_attribute_error():
    try:
        jupyter_server_lite.NoSuchThing  # noqa: B018
    except AttributeError as err:
        assert "NoSuchThing" in str(err)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_the_package_loads_no_web_or_kernel_stack():
    code = "import sys, jupyter_server_lite; print(sorted(m for m in ('tornado.web', 'zmq', 'jupyter_client', 'jinja2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_every_type_ignore_says_why():
    """A ``# type: ignore`` silences a checker for good, so each one says on its line why it is right."""
    root = Path(__file__).resolve().parent.parent
    bare = re.compile(r"#\s*type:\s*ignore(\[[^\]]*\])?\s*$")
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for folder in ("jupyter_server_lite", "tests", "bench", "docs/_ext", "examples")
        for path in sorted((root / folder).rglob("*.py"))
        if "node_modules" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if bare.search(line)
    ]
    assert not found, "a '# type: ignore' without a reason after it:\n" + "\n".join(found)
