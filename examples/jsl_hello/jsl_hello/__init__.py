"""jsl_hello: an example extension for jupyter_server_lite.

The server finds the extension through this function: the module name
(``jsl_hello``) is what an enabler file switches on.
"""

from .app import HelloApp

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "jsl_hello", "app": HelloApp}]
