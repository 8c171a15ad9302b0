"""The kernel websocket's wire codecs and kernel messages (services/kernels/wire.py)."""

import json
import struct

import pytest

from jupyter_server_lite.services.kernels import wire

HEADER = {
    "msg_id": "m1",
    "msg_type": "comm_msg",
    "session": "s",
    "username": "u",
    "date": "2024-01-01T00:00:00Z",
    "version": "5.3",
}
PARENT = {"msg_id": "p1", "msg_type": "execute_request"}
CONTENT = {"comm_id": "c", "data": {"text": "é ✓"}}


def kernel_parts(*buffers: bytes) -> list[bytes]:
    """Frames as a kernel sends them (jupyter_client packs compact-ish UTF-8 JSON)."""
    return [json.dumps(x, ensure_ascii=False).encode() for x in (HEADER, PARENT, {}, CONTENT)] + list(buffers)


def client_message(**extra):
    return {"channel": "shell", "header": HEADER, "parent_header": {}, "metadata": {}, "content": CONTENT, **extra}


# -- server -> client -----------------------------------------------------------


def test_encode_json_text_carries_every_field():
    payload, binary = wire.encode_json("iopub", kernel_parts())
    assert binary is False
    msg = json.loads(payload)
    assert msg == {
        "header": HEADER,
        "msg_id": "m1",
        "msg_type": "comm_msg",
        "parent_header": PARENT,
        "metadata": {},
        "content": CONTENT,
        "buffers": [],
        "channel": "iopub",
    }


def test_encode_json_with_buffers_uses_big_endian_offset_framing():
    payload, binary = wire.encode_json("shell", kernel_parts(b"\x00\x01", b"", b"xyz"))
    assert binary is True
    (nbufs,) = struct.unpack_from("!I", payload)
    assert nbufs == 4
    offsets = struct.unpack_from("!4I", payload, 4)
    assert offsets[0] == 4 * 5
    chunks = [payload[a:b] for a, b in zip(offsets, [*offsets[1:], len(payload)])]
    msg = json.loads(chunks[0])
    assert msg["channel"] == "shell" and msg["content"] == CONTENT and "buffers" not in msg
    assert chunks[1:] == [b"\x00\x01", b"", b"xyz"]


def test_encode_json_replaces_bytes_that_are_not_utf8():
    parts = kernel_parts()
    parts[3] = b'{"name": "stdout", "text": "ok \xff \xc3\xa9"}'
    payload, _ = wire.encode_json("iopub", parts)
    assert json.loads(payload.decode("utf-8"))["content"]["text"] == "ok \ufffd \xe9"


def test_encode_json_rejects_a_kernel_header_that_is_not_json():
    parts = kernel_parts()
    parts[0] = b"not json"
    with pytest.raises(wire.WireError, match="header is not a JSON object"):
        wire.encode_json("iopub", parts)


def test_encode_v1_layout_follows_the_protocol():
    parts = kernel_parts(b"BUF")
    frame = wire.encode_v1("iopub", parts)
    (count,) = struct.unpack_from("<Q", frame)
    assert count == 1 + 4 + 1 + 1  # channel start, end of channel, of 4 parts and of 1 buffer
    offsets = struct.unpack_from(f"<{count}Q", frame, 8)
    assert offsets[0] == 8 * (count + 1) and offsets[-1] == len(frame)
    assert frame[offsets[0] : offsets[1]] == b"iopub"
    assert [frame[a:b] for a, b in zip(offsets[1:], offsets[2:])] == parts


# -- client -> server ---------------------------------------------------------------


def test_decode_json_text_round_trip():
    channel, parts, header = wire.decode_json(json.dumps(client_message()))
    assert channel == "shell" and header == HEADER
    assert [json.loads(p) for p in parts] == [HEADER, {}, {}, CONTENT]


def test_decode_json_defaults_missing_parts_to_empty_objects():
    _, parts, _ = wire.decode_json(json.dumps({"channel": "control", "header": HEADER}))
    assert parts[1:] == [b"{}", b"{}", b"{}"]


def test_decode_json_binary_round_trip_with_buffers():
    body = json.dumps(client_message()).encode()
    frame = wire.frame_binary([body, b"\xff" * 3, b""])
    channel, parts, _ = wire.decode_json_binary(frame)
    assert channel == "shell"
    assert json.loads(parts[3]) == CONTENT
    assert parts[4:] == [b"\xff" * 3, b""]


def test_v1_round_trip_passes_parts_through_untouched():
    parts = kernel_parts(b"\x00" * 10, b"tail")
    channel, decoded, header = wire.decode_v1(wire.encode_v1("stdin", parts))
    assert channel == "stdin" and decoded == parts and header == HEADER


def test_encode_json_output_decodes_as_client_input():
    payload, _ = wire.encode_json("shell", kernel_parts(b"abc"))
    channel, parts, _ = wire.decode_json_binary(payload)
    assert channel == "shell" and parts[4:] == [b"abc"]
    assert json.loads(parts[0]) == HEADER


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "decode, frame",
    [
        (
            wire.decode_json,
            '{"channel": "shell", "header": {"msg_type": "x"}, "content": {"a": ' + nested(100_000) + "}}",
        ),
        (wire.decode_json, nested(100_000)),
        (wire.decode_json_binary, wire.frame_binary([nested(100_000).encode(), b"buf"])),
        (
            wire.decode_v1,
            wire.encode_v1(
                "shell", [('{"msg_type": "x", "deep": ' + nested(100_000) + "}").encode(), b"{}", b"{}", b"{}"]
            ),
        ),
    ],
)
def test_json_nested_too_deeply_is_a_wire_error(decode, frame):
    with pytest.raises(wire.WireError, match="nested too deeply"):
        decode(frame)


def test_kernel_message_parses_lazily_and_encodes_once_per_protocol():
    message = wire.KernelMessage("shell", kernel_parts(b"buf"), b"sig")
    assert message.nbytes == sum(map(len, kernel_parts(b"buf")))
    assert message.parent_msg_id == "p1" and message.msg_type == "comm_msg"
    v1 = message.encoded(v1=True)
    assert message.encoded(v1=True)[0] is v1[0], "cached"
    payload, binary = message.encoded(v1=False)
    assert binary and wire.decode_json_binary(payload)[2] == HEADER
    message.forget_encodings()
    assert message.encoded(v1=True)[0] is not v1[0]


def test_kernel_message_tolerates_parts_that_are_not_objects():
    message = wire.KernelMessage("shell", [b"[1]", b"not json", b"{}", b"{}"])
    assert message.header == {} and message.parent_msg_id == "" and message.msg_type == ""
    with pytest.raises(wire.WireError, match="header is not a JSON object"):
        message.encoded(v1=False)


def v1_frame(offsets, body):
    return struct.pack(f"<{len(offsets) + 1}Q", len(offsets), *offsets) + body


@pytest.mark.parametrize(
    "frame, problem",
    [
        (b"{", "not valid JSON"),
        (b"[1, 2]", "list, not a JSON object"),
        (json.dumps({"header": HEADER}).encode(), "names no channel"),
        (json.dumps(client_message(channel="nope")).encode(), "unknown channel 'nope'"),
        (json.dumps(client_message(channel=["shell"])).encode(), "unknown channel"),
        (json.dumps(client_message(channel="iopub")).encode(), "cannot send on the iopub channel"),
        (json.dumps({"channel": "shell", "content": {}}).encode(), "has no header"),
        (json.dumps(client_message(header="x")).encode(), "header is a str"),
        (json.dumps(client_message(header={"msg_id": "x"})).encode(), "no msg_type"),
        (json.dumps(client_message(content=[1])).encode(), "content is a list"),
        (b'{"channel": "shell", "header": {"msg_type": "x"}, "content": {"v": NaN}}', "not strict JSON"),
    ],
)
def test_decode_json_refuses_bad_messages(frame, problem):
    with pytest.raises(wire.WireError, match=problem):
        wire.decode_json(frame)


@pytest.mark.parametrize(
    "frame, problem",
    [
        (b"\x00\x00", "too short"),
        (struct.pack("!I", 0) + b"xxxx", "0 buffers do not fit"),
        (struct.pack("!I", 1000) + b"xxxx", "1000 buffers do not fit"),
        (struct.pack("!II", 1, 4) + b"{}", "first offset 4 is not the end"),
        (struct.pack("!III", 2, 12, 99) + b"{}", "offset 99 outside"),
        (struct.pack("!IIII", 3, 16, 18, 17) + b"{}xy", "offset 17 outside"),
        (struct.pack("!II", 1, 8) + b"{", "not valid JSON"),
    ],
)
def test_decode_json_binary_refuses_malformed_frames(frame, problem):
    with pytest.raises(wire.WireError, match=problem):
        wire.decode_json_binary(frame)


GOOD_V1_BODY = b"shell" + b'{"msg_type":"x"}' + b"{}{}{}"
GOOD_V1_OFFSETS = [56, 61, 77, 79, 81, 83]


def test_v1_good_frame_fixture_is_good():
    assert wire.decode_v1(v1_frame(GOOD_V1_OFFSETS, GOOD_V1_BODY))[0] == "shell"


@pytest.mark.parametrize(
    "frame, problem",
    [
        ("text", "must be binary"),
        (b"\x01", "too short"),
        (v1_frame([56, 61, 77, 79, 81], GOOD_V1_BODY), "5 offsets"),
        (struct.pack("<Q", 2**40) + b"x" * 64, "offsets .at least 6 needed"),
        (v1_frame([56, 61, 77, 79, 81, 999], GOOD_V1_BODY), "offset 999 outside"),
        (v1_frame([56, 61, 60, 79, 81, 83], GOOD_V1_BODY), "offset 60 outside"),
        (v1_frame([55, 61, 77, 79, 81, 83], b"x" + GOOD_V1_BODY), "first offset 55"),
        (v1_frame([56, 61, 77, 79, 81, 83], b"nope!" + GOOD_V1_BODY[5:]), "unknown channel 'nope!'"),
        (v1_frame([56, 61, 61, 63, 65, 67], b"shell{}{}{}"), "has no header"),
        (v1_frame([56, 61, 64, 66, 68, 70], b"shell[1]{}{}{}"), "header is a list"),
        (v1_frame([56, 61, 62, 64, 66, 68], b"shell{{}{}{}"), "header is not valid JSON"),
        (v1_frame([56, 62, 78, 80, 82, 84], b"\xffshell" + GOOD_V1_BODY[5:]), "not ASCII"),
    ],
)
def test_decode_v1_refuses_malformed_frames(frame, problem):
    with pytest.raises(wire.WireError, match=problem):
        wire.decode_v1(frame)
