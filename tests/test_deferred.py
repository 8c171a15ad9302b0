"""deferred.py: jsonschema imported on first use without its slow optional IRI grammar."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def run(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (sys.modules starts clean) and return what it prints as JSON."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_jsonschema_loads_without_the_iri_grammar_and_still_validates():
    out = run(
        """
        import json, sys
        from jupyter_server_lite.deferred import import_jsonschema
        jsonschema = import_jsonschema()
        errors = list(jsonschema.Draft7Validator({"type": "object", "required": ["a"]}).iter_errors({}))
        print(json.dumps({
            "grammar_loaded": "rfc3987_syntax" in sys.modules,
            "errors": [e.message for e in errors],
            "iri_checked": "iri" in jsonschema.FormatChecker().checkers,
        }))
        """
    )
    assert out == {"grammar_loaded": False, "errors": ["'a' is a required property"], "iri_checked": False}


def test_the_refusal_is_forgotten_so_other_code_can_import_it():
    out = run(
        """
        import importlib.util, json, sys
        from jupyter_server_lite.deferred import SLOW_OPTIONAL, import_jsonschema
        import_jsonschema()
        installed = importlib.util.find_spec(SLOW_OPTIONAL) is not None
        if installed:
            __import__(SLOW_OPTIONAL)
        print(json.dumps({"entry": repr(sys.modules.get(SLOW_OPTIONAL, "absent"))[:8], "installed": installed}))
        """
    )
    assert out["entry"] == ("<module " if out["installed"] else "'absent'")


def test_a_notebook_read_goes_through_it():
    out = run(
        """
        import json, sys
        from jupyter_server_lite.bundled.contents import notebooks
        nb, message = notebooks.parse(notebooks.serialize(notebooks.new_notebook(), "x.ipynb"), "x.ipynb")
        print(json.dumps({"message": message, "nbformat": nb["nbformat"], "grammar_loaded": "rfc3987_syntax" in sys.modules}))
        """
    )
    assert out == {"message": None, "nbformat": 4, "grammar_loaded": False}


def test_a_lab_settings_check_goes_through_it():
    out = run(
        """
        import json, sys
        from jupyter_server_lite.bundled.lab import jsontext
        problem = jsontext.schema_problem({"type": "object", "properties": {"n": {"type": "integer"}}}, {"n": "x"})
        print(json.dumps({"problem": problem, "grammar_loaded": "rfc3987_syntax" in sys.modules}))
        """
    )
    assert out == {"problem": "'x' is not of type 'integer' (at n)", "grammar_loaded": False}
