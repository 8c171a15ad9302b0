"""The per-kernel replay log (services/kernels/replay.py): order, targets, cursors, bounds."""

import time

from jupyter_server_lite.services.kernels.replay import ReplayLog
from jupyter_server_lite.services.kernels.wire import KernelMessage


def message(text: str) -> KernelMessage:
    return KernelMessage("iopub", [text.encode(), b"", b"", b""])


def keep(log: ReplayLog, text: str, target: str | None = None) -> int:
    seq = log.next_seq()
    log.append(seq, target, message(text))
    return seq


def texts(log: ReplayLog, cursor: int, session: str) -> list[str]:
    return [m.parts[0].decode() for _, m in log.since(cursor, session)]


def test_broadcasts_reach_every_session_replies_only_theirs():
    log = ReplayLog(max_bytes=1000, max_age=60)
    cursor = log.cursor
    keep(log, "all-1")
    keep(log, "for-a", target="a")
    keep(log, "for-b", target="b")
    keep(log, "all-2")
    assert texts(log, cursor, "a") == ["all-1", "for-a", "all-2"]
    assert texts(log, cursor, "b") == ["all-1", "for-b", "all-2"]


def test_a_cursor_sees_only_what_came_after_it():
    log = ReplayLog(max_bytes=1000, max_age=60)
    keep(log, "before")
    cursor = log.cursor
    log.next_seq()  # a message nobody needed to keep still moves the numbering on
    keep(log, "after")
    assert texts(log, cursor, "a") == ["after"]
    assert log.complete_since(cursor)


def test_oldest_go_first_past_the_byte_bound_and_the_first_loss_is_reported_once():
    log = ReplayLog(max_bytes=10, max_age=60)
    cursor = log.cursor
    assert log.append(log.next_seq(), None, message("1234")) is False
    assert log.append(log.next_seq(), None, message("5678")) is False
    assert log.append(log.next_seq(), None, message("abcd")) is True  # 12 bytes > 10: the oldest goes
    assert log.append(log.next_seq(), None, message("efgh")) is False  # still dropping, already reported
    assert texts(log, cursor, "a") == ["abcd", "efgh"] and log.nbytes == 8
    assert not log.complete_since(cursor)
    assert log.complete_since(log.cursor)
    log.trim(None)  # nobody away any more: reported again next time
    assert len(log) == 0 and log.nbytes == 0
    assert log.append(log.next_seq(), None, message("x" * 11)) is True  # alone larger than the bound
    assert len(log) == 0


def test_messages_older_than_the_age_bound_are_dropped():
    log = ReplayLog(max_bytes=1000, max_age=0.05)
    cursor = log.cursor
    keep(log, "old")
    time.sleep(0.1)
    keep(log, "new")
    assert texts(log, cursor, "a") == ["new"]
    assert not log.complete_since(cursor)


def test_trim_forgets_what_no_absent_session_needs():
    log = ReplayLog(max_bytes=1000, max_age=60)
    keep(log, "one")
    second = keep(log, "two")
    log.trim(second)
    assert len(log) == 1 and log.nbytes == 3
    assert log.complete_since(0), "trimming is not a loss"
