"""Building an extension's URLs by route name: the reverse of :mod:`.mount`'s matching.

A route may carry a name as its fourth element, tornado's own rule shape::

    ("/items/([^/]+)", ItemHandler, {}, "item")
    Mount("api/contents", [(r"(?P<path>/.*)?", ContentsHandler, {}, "contents")])

and a handler of the extension asks for it instead of joining strings:
``self.url_for("item", item_id)`` (or ``ExtensionApp.url_for`` outside a
request; ``url_for`` in its templates).  The answer is the full URL path,
``base_url`` included, each group filled with one argument in order and
percent-encoded so that the route's own matcher decodes it back: a group
that can hold a ``/`` (``(/.*)``) keeps it, one that cannot (``([^/]+)``)
gets ``%2F``.  A trailing optional group (``(...)?``) may be left out or
given ``None``; an optional literal (the ``/`` of ``/?``) is written out.

Names belong to one extension (two extensions may both have a ``"page"``)
and are checked when the routes are mounted, so mistakes surface with the
extension's other load errors rather than at some later request:

* two routes of one extension with one name: refused (:class:`~.mount.MountError`);
* a named pattern that is not literal text and groups (a ``|``, ``\\w`` or
  ``.`` outside a group, a group inside a group, a quantifier other than
  ``?``): refused, since no single URL stands for it.

At call time an unknown name raises :class:`RouteNameError` (listing the
names there are), a wrong number of arguments ``TypeError``, and a value its
group cannot match ``ValueError`` -- never a URL the route would not answer.

Importing this module is cheap (the standard library only).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import quote

_META = ".*+[]{}|)^$"


class RouteNameError(LookupError):
    """``url_for`` was asked for a name no route of the extension has; the message lists the names."""


class _Unreversible(ValueError):
    """A named route's pattern has no single URL; the message says what stands in the way."""


@dataclasses.dataclass(frozen=True)
class _Group:
    regex: re.Pattern[str]
    optional: bool


class RouteURL:
    """One named route: its prefix (``base_url`` included) and its pattern as literal pieces and groups."""

    __slots__ = ("_pieces", "name", "pattern", "prefix", "regex")

    def __init__(self, name: str, prefix: str, pattern: str) -> None:
        self.name = name
        self.prefix = prefix.rstrip("/")
        self.pattern = pattern
        self.regex = re.compile(pattern)
        self._pieces = _pieces(pattern)

    def build(self, *args: Any) -> str:
        """The URL path with ``args`` in the groups (see the module docstring for the errors)."""
        groups = [p for p in self._pieces if isinstance(p, _Group)]
        if len(args) > len(groups):
            raise TypeError(
                f"url_for({self.name!r}) takes at most {len(groups)} argument(s) for {self.pattern!r}, got {len(args)}"
            )
        values = iter([*args, *[None] * (len(groups) - len(args))])
        out: list[str] = []
        for piece in self._pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            value = next(values)
            if value is None:
                if not piece.optional:
                    raise TypeError(
                        f"url_for({self.name!r}): the group ({piece.regex.pattern}) of {self.pattern!r} needs a value"
                    )
                continue
            out.append(self._encoded(piece, str(value)))
        rest = "".join(out)
        if not self.regex.fullmatch(rest):
            raise ValueError(f"url_for({self.name!r}, {', '.join(map(repr, args))}) does not fit {self.pattern!r}")
        return self.prefix + rest

    def _encoded(self, group: _Group, value: str) -> str:
        for safe in ("/", ""):  # keep slashes where the group takes them (paths), else encode them
            piece = quote(value, safe=safe)
            if group.regex.fullmatch(piece):
                return piece
        raise ValueError(
            f"url_for({self.name!r}): {value!r} does not fit the group ({group.regex.pattern}) of {self.pattern!r}"
        )


def route_urls(named: list[tuple[str, str, str]], owner: str) -> dict[str, RouteURL]:
    """``{name: RouteURL}`` for ``(name, prefix, pattern)`` triples, in order.

    Raises ``ValueError`` for a name given twice or a pattern with no single
    URL; ``owner`` (the extension's name) starts the message.
    """
    urls: dict[str, RouteURL] = {}
    for name, prefix, pattern in named:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{owner}: route {pattern!r}: a route's name must be a non-empty string, not {name!r}")
        if name in urls:
            raise ValueError(
                f"{owner}: two routes are named {name!r} ({urls[name].pattern!r} and {pattern!r}); names must be unique"
            )
        try:
            urls[name] = RouteURL(name, prefix, pattern)
        except _Unreversible as err:
            raise ValueError(f"{owner}: route {name!r} ({pattern!r}) cannot be built by name: {err}") from None
    return urls


def unknown_name(owner: str, name: str, urls: dict[str, RouteURL]) -> RouteNameError:
    known = ", ".join(sorted(urls)) or "none (give a route a name as its fourth element)"
    return RouteNameError(f"extension {owner!r} has no route named {name!r}; its named routes: {known}")


def _pieces(pattern: str) -> list[str | _Group]:
    """``pattern`` as literal text and groups, or :class:`_Unreversible` saying what stands in the way."""
    text = pattern[1:] if pattern.startswith("^") else pattern
    if text.endswith("$") and not text.endswith("\\$"):
        text = text[:-1]
    pieces: list[str | _Group] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            escaped = text[i + 1 : i + 2]
            if not escaped or escaped.isalnum():
                raise _Unreversible(f"{text[i : i + 2]!r} outside a group matches more than one text")
            literal.append(escaped)
            i += 2
        elif char == "(":
            end = _group_end(text, i)
            pieces += ["".join(literal)] if literal else []
            literal = []
            inner = text[i + 1 : end]
            if inner.startswith("?P<"):
                inner = inner[inner.index(">") + 1 :]
            elif inner.startswith("?"):
                raise _Unreversible("only capturing groups, (...) or (?P<name>...), can be filled in")
            try:
                regex = re.compile(inner)
            except re.error as err:
                raise _Unreversible(f"the group ({inner}) is no pattern on its own: {err}") from None
            if regex.groups:
                raise _Unreversible("a group inside a group cannot be filled in")
            i = end + 1
            optional = text[i : i + 1] == "?"
            i += optional
            if text[i : i + 1] in ("*", "+", "{"):
                raise _Unreversible("a group may be optional ('?') but not repeated")
            pieces.append(_Group(regex, optional))
        elif char == "?" and literal:
            i += 1  # an optional literal character: the URL keeps it
        elif char in _META or char == "?":
            raise _Unreversible(f"{char!r} outside a group matches more than one text")
        else:
            literal.append(char)
            i += 1
    if literal:
        pieces.append("".join(literal))
    return pieces


def _group_end(text: str, start: int) -> int:
    """The index of the ``)`` closing the group opened at ``start``."""
    depth, i, in_class = 0, start, False
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise _Unreversible("a group is not closed")


__all__ = ["RouteNameError", "RouteURL", "route_urls"]
