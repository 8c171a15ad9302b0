"""Calls sys.exit() on import: must not end the server."""

import sys

sys.exit(3)
