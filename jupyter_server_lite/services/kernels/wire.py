"""The two wire formats of the kernel websocket, as pure functions.

A kernel message travels between the server and the kernel as ZMQ frames
``[header, parent_header, metadata, content, *buffers]``, each JSON part
already serialized.  This module turns those frames into websocket frames and
back, for the two protocols a client may choose:

* the default JSON protocol (no ``Sec-WebSocket-Protocol``): a text frame
  holding one JSON object that also names its ``channel``; a message with
  binary buffers becomes a binary frame ``[nbufs][offsets...][json][buffers...]``
  (unsigned 32-bit big-endian integers, offsets from the frame start);
* ``v1.kernel.websocket.jupyter.org``: always a binary frame
  ``[n][offset_0 ... offset_n-1][channel][header][parent_header][metadata][content][buffers...]``
  (unsigned 64-bit little-endian integers); part ``i`` spans
  ``offset_i .. offset_i+1``.

Outgoing messages are spliced from the kernel's own bytes rather than decoded
and encoded again: only the header is parsed (for the top-level ``msg_id`` and
``msg_type`` of the JSON protocol).  Incoming ``v1`` frames pass through the
same way.  A frame that cannot be decoded -- malformed, or JSON nested too
deeply for the parser -- raises :class:`WireError`, whose text names the
problem in one line for the log.

:class:`KernelMessage` is one message from a kernel on its way to the
websockets: raw parts, parsed only as far as somebody asks (the header for
the JSON protocol and the state tracker, the parent's ``msg_id`` for
routing), and encoded at most once per protocol however many clients get it.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
CHANNELS = frozenset({"shell", "control", "stdin", "iopub"})

#: Serialized message parts: header, parent_header, metadata, content, buffers...
Parts = list[bytes]

_U32 = struct.Struct("!I")
_U64 = struct.Struct("<Q")
#: What json raises on input it cannot take: malformed text, or nesting past the recursion limit.
_JSON_ERRORS = (ValueError, RecursionError)


class WireError(ValueError):
    """A websocket frame that is not a kernel message; the text says why."""


def _loads(data: str | bytes, what: str) -> Any:
    """``json.loads``, with every failure (deep nesting included) a :class:`WireError`."""
    try:
        return json.loads(data)
    except RecursionError as err:
        raise WireError(f"{what} is nested too deeply") from err
    except ValueError as err:
        raise WireError(f"{what} is not valid JSON: {err}") from err


class KernelMessage:
    """One kernel message, ``[header, parent_header, metadata, content, *buffers]``, and its signature.

    Parsed lazily and at most once: :attr:`header` (a dict; ``{}`` if the
    kernel sent something else), :attr:`parent_msg_id` (``""`` if there is
    none).  :meth:`encoded` caches the websocket frame per protocol, so a
    message broadcast to many clients is encoded once per protocol;
    :meth:`forget_encodings` frees those copies when the message is kept
    for later.
    """

    __slots__ = ("_header", "_json", "_parent_msg_id", "_v1", "channel", "nbytes", "parts", "signature")

    def __init__(self, channel: str, parts: Parts, signature: bytes = b"") -> None:
        self.channel = channel
        self.parts = parts
        self.signature = signature
        self.nbytes = sum(map(len, parts))
        self._header: dict[str, Any] | None = None
        self._parent_msg_id: str | None = None
        self._json: tuple[bytes, bool] | None = None
        self._v1: bytes | None = None

    @property
    def header(self) -> dict[str, Any]:
        if self._header is None:
            self._header = _object_or_empty(self.parts[0])
        return self._header

    @property
    def msg_type(self) -> str:
        value = self.header.get("msg_type")
        return value if isinstance(value, str) else ""

    @property
    def parent_msg_id(self) -> str:
        if self._parent_msg_id is None:
            value = _object_or_empty(self.parts[1]).get("msg_id")
            self._parent_msg_id = value if isinstance(value, str) else ""
        return self._parent_msg_id

    def encoded(self, v1: bool) -> tuple[bytes, bool]:
        """The websocket frame for the chosen protocol: ``(payload, is_binary)``.

        Raises :class:`WireError` (JSON protocol only) when the header is not
        a JSON object.
        """
        if v1:
            if self._v1 is None:
                self._v1 = encode_v1(self.channel, self.parts)
            return self._v1, True
        if self._json is None:
            self._json = encode_json(self.channel, self.parts, self.header or None)  # {}: let it say why
        return self._json

    def forget_encodings(self) -> None:
        self._json = self._v1 = None

    def keep_json_encoding(self, payload: bytes, binary: bool) -> None:
        """Use ``payload`` as this message's default-protocol frame (it came as one, from a gateway)."""
        self._json = (payload, binary)


def _object_or_empty(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except _JSON_ERRORS:
        return {}
    return value if isinstance(value, dict) else {}


def _pack(obj: Any) -> bytes:
    """Serialize one JSON part as the kernel expects it (strict JSON, UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8")


# -- server -> client ---------------------------------------------------------


def encode_json(channel: str, parts: Sequence[bytes], fields: dict[str, Any] | None = None) -> tuple[bytes, bool]:
    """Encode kernel frames for the default protocol: ``(payload, is_binary)``.

    The JSON object carries ``header, msg_id, msg_type, parent_header,
    metadata, content, buffers, channel`` like Jupyter Server's; with binary
    buffers it is wrapped in the offset framing and ``buffers`` is left out.
    ``fields`` is the header already parsed, if the caller has it.  Raises
    :class:`WireError` when the header is not a JSON object.
    """
    header = parts[0]
    if fields is None:
        try:
            fields = json.loads(header)
        except _JSON_ERRORS as err:
            raise WireError(f"kernel message header is not a JSON object: {err!r}") from err
    if not isinstance(fields, dict):
        raise WireError(f"kernel message header is not a JSON object: {type(fields).__name__}")
    msg_id = fields.get("msg_id", "")
    msg_type = fields.get("msg_type", "")
    head = b"".join(
        (
            b'{"header":',
            header,
            b',"msg_id":',
            _pack(msg_id),
            b',"msg_type":',
            _pack(msg_type),
            b',"parent_header":',
            parts[1],
            b',"metadata":',
            parts[2],
            b',"content":',
            parts[3],
        )
    )
    tail = b',"channel":"' + channel.encode() + b'"}'
    if len(parts) == 4:
        return _valid_utf8(head + b',"buffers":[]' + tail), False
    return frame_binary([_valid_utf8(head + tail), *parts[4:]]), True


def _valid_utf8(data: bytes) -> bytes:
    """``data`` with invalid UTF-8 replaced by U+FFFD.

    A kernel may send bytes that are not UTF-8 (jupyter_client packs lone
    surrogates with ``surrogateescape``); in a websocket text frame they are
    a protocol error that makes the client drop the connection.
    """
    if data.isascii():
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace").encode("utf-8")
    return data


def frame_binary(chunks: Sequence[bytes]) -> bytes:
    """``[nbufs][offset per chunk][chunks...]``: the JSON protocol's binary framing."""
    nbufs = len(chunks)
    offsets = [4 * (nbufs + 1)]
    for chunk in chunks[:-1]:
        offsets.append(offsets[-1] + len(chunk))
    return struct.pack(f"!{nbufs + 1}I", nbufs, *offsets) + b"".join(chunks)


def encode_v1(channel: str, parts: Sequence[bytes]) -> bytes:
    """Encode kernel frames for ``v1.kernel.websocket.jupyter.org`` (no JSON work)."""
    chunks = [channel.encode(), *parts]
    count = len(chunks) + 1
    offsets = [8 * (count + 1)]
    for chunk in chunks:
        offsets.append(offsets[-1] + len(chunk))
    return struct.pack(f"<{count + 1}Q", count, *offsets) + b"".join(chunks)


# -- client -> server ---------------------------------------------------------
# A client may send on shell, control and stdin; iopub only flows to clients.
# Each decoder returns ``(channel, parts, header)``: the header (a dict with a
# string ``msg_type``) is what routing the reply needs.

ClientMessage = tuple[str, Parts, dict[str, Any]]


def decode_json(text: str | bytes) -> ClientMessage:
    """Decode a text frame of the default protocol."""
    return _parts_of(_loads(text, "frame"), [])


def decode_json_binary(data: bytes) -> ClientMessage:
    """Decode a binary frame of the default protocol (JSON plus buffers)."""
    chunks = unframe_binary(data)
    return _parts_of(_loads(chunks[0], "binary frame's JSON part"), chunks[1:])


def unframe_binary(data: bytes) -> list[bytes]:
    """Split ``[nbufs][offsets...][chunks...]`` into its chunks, checking every offset."""
    if len(data) < 8:
        raise WireError(f"malformed binary frame: {len(data)} bytes is too short for the offset table")
    (nbufs,) = _U32.unpack_from(data, 0)
    table_end = 4 * (nbufs + 1)
    if nbufs < 1 or table_end > len(data):
        raise WireError(f"malformed binary frame: {nbufs} buffers do not fit in {len(data)} bytes")
    offsets = list(struct.unpack_from(f"!{nbufs}I", data, 4))
    return _slices(data, [*offsets, len(data)], table_end, "binary frame")


def decode_v1(data: bytes) -> ClientMessage:
    """Decode a ``v1.kernel.websocket.jupyter.org`` frame.

    The JSON parts are passed on as they came; only the header is parsed, to
    refuse a message that has none.
    """
    if not isinstance(data, bytes):
        raise WireError("v1 protocol frames must be binary, got a text frame")
    if len(data) < 8:
        raise WireError(f"malformed v1 frame: {len(data)} bytes is too short for the offset table")
    (count,) = _U64.unpack_from(data, 0)
    table_end = 8 * (count + 1)
    if count < 6 or table_end > len(data):
        raise WireError(f"malformed v1 frame: {count} offsets (at least 6 needed) in {len(data)} bytes")
    offsets = list(struct.unpack_from(f"<{count}Q", data, 8))
    chunks = _slices(data, offsets, table_end, "v1 frame")
    try:
        channel = chunks[0].decode("ascii")
    except UnicodeDecodeError as err:
        raise WireError(f"malformed v1 frame: channel name is not ASCII ({err})") from err
    parts = chunks[1:]
    _check_channel(channel)
    if not parts[0]:
        raise WireError("message has no header")
    header = _loads(parts[0], "message header")
    _check_header(header)
    return channel, parts, header


def _slices(data: bytes, bounds: list[int], table_end: int, what: str) -> list[bytes]:
    """Chunks between consecutive ``bounds``, which must start right after the
    offset table, never go backwards and stay inside the frame."""
    if bounds[0] != table_end:
        raise WireError(f"malformed {what}: first offset {bounds[0]} is not the end of the offset table ({table_end})")
    previous, end = table_end, len(data)
    for bound in bounds:
        if bound < previous or bound > end:
            raise WireError(f"malformed {what}: offset {bound} outside {previous}..{end}")
        previous = bound
    return [data[start:stop] for start, stop in zip(bounds, bounds[1:])]


def _check_channel(channel: Any) -> None:
    if channel is None:
        raise WireError("message names no channel")
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise WireError(f"unknown channel {channel!r} (expected one of {', '.join(sorted(CHANNELS))})")
    if channel == "iopub":
        raise WireError("clients cannot send on the iopub channel")


def _check_header(header: Any) -> None:
    if not isinstance(header, dict):
        raise WireError(f"message header is a {type(header).__name__}, not a JSON object")
    if not isinstance(header.get("msg_type"), str):
        raise WireError("message header has no msg_type")


def _parts_of(msg: Any, buffers: list[bytes]) -> ClientMessage:
    """Check a decoded JSON message and serialize its parts for the kernel."""
    if not isinstance(msg, dict):
        raise WireError(f"message is a {type(msg).__name__}, not a JSON object")
    channel = msg.get("channel")
    _check_channel(channel)
    assert isinstance(channel, str)  # _check_channel refused anything else
    if "header" not in msg:
        raise WireError("message has no header")
    header = msg["header"]
    _check_header(header)
    others = []
    for name in ("parent_header", "metadata", "content"):
        value = msg.get(name)
        if value is None:
            value = {}
        elif not isinstance(value, dict):
            raise WireError(f"message {name} is a {type(value).__name__}, not a JSON object")
        others.append(value)
    try:
        parts = [_pack(header), *map(_pack, others)]
    except ValueError as err:  # NaN/Infinity, lone surrogates
        raise WireError(f"message is not strict JSON: {err}") from err
    except RecursionError as err:
        raise WireError("message is nested too deeply") from err
    return channel, parts + buffers, header


# -- a kernel's messages in the default protocol (from a Kernel Gateway) ---------
# A gateway's websocket speaks the default JSON protocol from the kernel's
# side: the same frames, with iopub among the channels.


def decode_kernel_json(data: str | bytes) -> KernelMessage:
    """A kernel message from a default-protocol frame (text, or binary with buffers).

    The parts are serialized again (strict JSON); the frame itself is kept
    as the message's default-protocol encoding, so clients of that protocol
    get it as it came.  Raises :class:`WireError` for anything else.
    """
    if isinstance(data, str):
        payload, binary = data.encode("utf-8"), False
        msg, buffers = _loads(data, "frame"), []
    else:
        chunks = unframe_binary(data)
        payload, binary = data, True
        msg, buffers = _loads(chunks[0], "binary frame's JSON part"), chunks[1:]
    if not isinstance(msg, dict):
        raise WireError(f"message is a {type(msg).__name__}, not a JSON object")
    channel = msg.get("channel")
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise WireError(f"unknown channel {channel!r}")
    header = msg.get("header")
    _check_header(header)
    try:
        parts = [_pack(header), *(_pack(msg.get(name) or {}) for name in ("parent_header", "metadata", "content"))]
    except ValueError as err:
        raise WireError(f"message is not strict JSON: {err}") from err
    message = KernelMessage(channel, parts + buffers)
    message._header = header
    message.keep_json_encoding(payload, binary)
    return message
