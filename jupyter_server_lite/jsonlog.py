"""JSON log lines (``ServerApp.log_json``): one JSON object per line, for log collectors.

Each line has ``time`` (ISO 8601 in UTC, milliseconds, ``Z``), ``level``,
``logger`` and ``message`` (the formatted message: a multi-line one, or a
traceback under ``exception``, stays on its line because JSON escapes the
newlines).  Every field a caller passes with ``extra=`` is added as it is --
the access log adds ``method``, ``path`` (its ``token`` redacted),
``status``, ``duration_ms`` and ``remote_ip`` -- and a value JSON cannot
hold is written as its ``str()``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

#: Attributes every LogRecord has, or that formatters add: not "extra" fields.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color",  # tornado's LogFormatter
    "end_color",
    "highlevel",  # traitlets' LevelFormatter
    "taskName",
}


class JSONFormatter(logging.Formatter):
    """Formats a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, tz=timezone.utc)
        line = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_text:  # formatted already -- with its secrets masked (web/logs.py)
            line["exception"] = record.exc_text
        elif record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)
