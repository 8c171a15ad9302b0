"""What an error answer says: its reason phrase and message, and JSON parsing as a 400.

An error body never carries a traceback or an exception's text: an
unexpected exception reads "Internal server error: see the server log",
whatever the log level, and the log has the rest.
"""

from __future__ import annotations

import json
from http.client import responses
from typing import Any

from tornado import web


def error_reason_and_message(status_code: int, exc_info: Any) -> tuple[str, str]:
    """Short reason phrase and human message for an error response."""
    reason = responses.get(status_code, "Unknown HTTP Error")
    message = reason
    if exc_info:
        exc = exc_info[1]
        if isinstance(exc, web.HTTPError):
            message = http_error_message(exc) or reason
            reason = exc.reason or reason
        else:
            message = "Internal server error: see the server log"
    return reason, message


def http_error_message(error: web.HTTPError) -> str | None:
    """The message of an HTTPError as written, ``%`` included.

    Tornado doubles every ``%`` of an argument-less message (it is a format
    string for the log), so ``/a%40b/`` would otherwise read ``/a%%40b/``.
    """
    if error.log_message is None:
        return None
    return error.log_message % error.args


def loads_json(data: str | bytes, what: str) -> Any:
    """``json.loads(data)``, or a 400 naming ``what`` when it is malformed, not
    UTF-8, or nested too deeply for the parser (a RecursionError, not a 500)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise web.HTTPError(400, f"{what} is not valid JSON: it is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise web.HTTPError(400, f"{what} is not valid JSON: {err}") from err
