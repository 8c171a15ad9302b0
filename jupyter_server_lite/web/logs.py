"""What the server logs about requests, and the secrets it never logs.

Two parts:

* :func:`log_request`, tornado's ``log_function``: exactly one access-log
  line per request, its level from the status.
* :class:`RedactSecrets`, a logging filter on every logger the server's
  lines come from (tornado's three, the access log, the application log and,
  through its handlers, their children).  It masks secret URL parameters --
  ``token``, ``password``, ``_xsrf``, OAuth's ``code`` and ``state``... --
  in the message and in the traceback of every record, whoever wrote it:
  our handlers, tornado's exception summary (which prints the request URI
  twice), a websocket, an extension.  The parameter name is compared
  case-insensitively after percent-decoding (``?Token=``, ``?%74oken=``), and
  a URL nested in another one's parameter (``?next=%2F%3Ftoken%3D...``) is
  masked too, and so is a quoted ``'token': '...'`` / ``"hashed_password":
  "..."`` entry of a printed dict or JSON (traitlets logs the whole config
  at DEBUG); a password hash (``pbkdf2_sha256$...``) is masked wherever it
  shows.

The one record allowed to show a token is the start-up URL, logged with
``extra={SHOWS_TOKEN: True}``.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote_plus

from tornado import web

#: A query parameter whose decoded, lower-cased name contains one of these is a secret.
SECRET_WORDS = ("token", "password", "passwd", "secret", "auth", "xsrf", "key", "code", "state")

#: The ``extra`` key of the one record that may show the token (the start-up URL).
SHOWS_TOKEN = "jsl_shows_token"

MASK = "[secret]"

_NOT_IN_KEY = r"?&;=#\s'\"<>"
#: A parameter of a URL: ?name=value, &name=value (;name=value in old forms).
_PARAMETER = re.compile(rf"(?P<sep>[?&;])(?P<key>[^{_NOT_IN_KEY}]+)=(?P<value>[^?&;#\s'\"<>]*)")
#: A parameter of a URL percent-encoded in another one's value: %3Fname%3Dvalue%26...
_NESTED = re.compile(
    rf"(?P<sep>%3[fF]|%26|%3[bB])(?P<key>(?:[^{_NOT_IN_KEY}%]|%(?!3[dD])[0-9a-fA-F]{{2}})+)%3[dD]"
    r"(?P<value>(?:(?!%26|%3[bB])[^&;#\s'\"<>])*)"
)

#: A printed mapping's key containing one of these holds a secret (``token``, ``hashed_password``, ``cookie_secret``).
SECRET_KEY_WORDS = ("token", "password", "passwd", "secret")

_ENTRY = re.compile(r"""(?P<q>['"])(?P<key>[\w.-]+)(?P=q)\s*:\s*(?P<vq>['"])(?P<value>(?:\\.|(?!(?P=vq)).)*)(?P=vq)""")


#: A password hash as ``passwd()`` makes it, wherever it shows.
_PASSWORD_HASH = re.compile(r"pbkdf2_sha256\$\d+\$[0-9a-fA-F]+\$[0-9a-fA-F]+")


def _is_secret(key: str) -> bool:
    name = unquote_plus(unquote_plus(key)).lower()
    return any(word in name for word in SECRET_WORDS)


def _mask_parameter(match: re.Match[str]) -> str:
    sep, key, value = match.group("sep", "key", "value")
    if _is_secret(key):
        return f"{sep}{key}={MASK}"
    return f"{sep}{key}={_NESTED.sub(_mask_nested, value)}" if "%" in value else match.group(0)


def _mask_nested(match: re.Match[str]) -> str:
    sep, key = match.group("sep", "key")
    return f"{sep}{key}%3D{MASK}" if _is_secret(key) else match.group(0)


def _mask_entry(match: re.Match[str]) -> str:
    if not any(word in match.group("key").lower() for word in SECRET_KEY_WORDS):
        return match.group(0)
    quote = match.group("vq")
    return f"{match.group('q')}{match.group('key')}{match.group('q')}: {quote}{MASK}{quote}"


def redact(text: str) -> str:
    """``text`` with the value of every secret URL parameter, and of every quoted
    secret entry of a mapping, replaced by ``[secret]``."""
    if "=" in text:
        text = _PARAMETER.sub(_mask_parameter, text)
    if ":" in text:
        text = _ENTRY.sub(_mask_entry, text)
    if "pbkdf2_sha256$" in text:
        text = _PASSWORD_HASH.sub(MASK, text)
    return text


_traceback_formatter = logging.Formatter()


#: Attributes every LogRecord has: the others were passed with ``extra=`` (JSON logs print them).
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class RedactSecrets(logging.Filter):
    """Masks secrets in a record's message, ``extra=`` fields and traceback (see the module docstring).

    The record is changed in place, before any handler formats it, so every
    handler -- the console, JSON lines, a log file, a test's capture -- gets
    the masked text; the exception object itself is kept for whoever
    inspects it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, SHOWS_TOKEN, False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: let the handler report it as logging does
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text, so the traceback is masked once for all of them.
            record.exc_text = redact(_traceback_formatter.formatException(record.exc_info))
        return True


_REDACTOR = RedactSecrets()


def redaction_filter() -> RedactSecrets:
    """The one filter instance (``logging.config`` factory): adding it twice is a no-op."""
    return _REDACTOR


#: The loggers tornado and the access log write to.
ORIGIN_LOGGERS = ("tornado.access", "tornado.application", "tornado.general", "jupyter_server_lite.access")


def install_redaction(*loggers: logging.Logger) -> None:
    """Put the filter on the origin loggers and on ``loggers`` (idempotent)."""
    for logger in (*(logging.getLogger(name) for name in ORIGIN_LOGGERS), *loggers):
        logger.addFilter(_REDACTOR)


def add_redaction_to_logging_config(config: dict[str, Any]) -> None:
    """Add the filter to every handler and logger of a ``logging.config.dictConfig`` dict,
    so that rebuilding the handlers (a changed ``log_level``) keeps it."""
    config.setdefault("filters", {})["jsl_redact"] = {"()": redaction_filter}
    for section in ("handlers", "loggers"):
        for entry in config.get(section, {}).values():
            filters = entry.setdefault("filters", [])
            if "jsl_redact" not in filters:
                filters.append("jsl_redact")


access_log = logging.getLogger("jupyter_server_lite.access")


def log_request(handler: web.RequestHandler) -> None:
    """Exactly one access-log line per request (its URI masked by :class:`RedactSecrets`).

    The same facts also go as ``extra=`` fields, for JSON logs (``ServerApp.log_json``).
    """
    status = handler.get_status()
    request = handler.request
    if status < 400:
        level = logging.DEBUG
    elif status < 500 or status == 503:
        # 503 is a deliberate "not now" (a stopping server's health probe),
        # not a fault: a load balancer polling it must not fill the log with errors.
        level = logging.WARNING
    else:
        level = logging.ERROR
    if not access_log.isEnabledFor(level):
        return  # the common case at INFO: a successful request costs no record
    millis = 1000.0 * request.request_time()
    message = getattr(handler, "error_message", None)
    suffix = f": {message}" if message else ""
    access_log.log(
        level,
        "%d %s %s (%s) %.2fms%s",
        status,
        request.method,
        request.uri,
        request.remote_ip,
        millis,
        suffix,
        extra={
            "method": request.method,
            "path": request.uri,
            "status": status,
            "duration_ms": round(millis, 2),
            "remote_ip": request.remote_ip,
        },
    )
