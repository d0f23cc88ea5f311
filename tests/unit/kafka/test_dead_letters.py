"""The dead-letter convention: the headers written, and read back, in its names and in the
names the CDC projection runner wrote before it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from eventyard.cdc import DEAD_LETTER_HEADERS
from eventyard.kafka import DeadLetter, DeadLetterHeader, dead_letter_headers, read_dead_letter
from eventyard.outbox import InboundMessage
from eventyard.outbox import dead_letter_headers as inbox_dead_letter_headers

pytestmark = pytest.mark.unit

AT = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)


def _raised() -> ValueError:
    try:
        json.loads("{broken")
    except ValueError as error:
        return error
    raise AssertionError("json.loads accepted a broken document")


def test_every_header_is_in_the_eventyard_dlt_family() -> None:
    assert all(h.value.startswith("eventyard.dlt.") for h in DeadLetterHeader)
    assert len(set(DeadLetterHeader)) == len(list(DeadLetterHeader)) == 10


def test_the_writer_says_what_failed_where_when_and_in_which_consumer() -> None:
    headers = dead_letter_headers(
        topic="shop.orders",
        partition=3,
        offset=99,
        error=_raised(),
        consumer="billing",
        attempts=5,
        stage="handle",
        failed_at=AT,
    )
    assert [name for name, _ in headers] == [h.value for h in DeadLetterHeader]
    assert all(isinstance(value, bytes) for _, value in headers)
    values = dict(headers)
    assert values["eventyard.dlt.original.topic"] == b"shop.orders"
    assert values["eventyard.dlt.original.partition"] == b"3"
    assert values["eventyard.dlt.original.offset"] == b"99"
    assert values["eventyard.dlt.exception"].startswith(b"JSONDecodeError: Expecting property")
    assert values["eventyard.dlt.exception.type"] == b"json.decoder.JSONDecodeError"
    assert b"_raised" in values["eventyard.dlt.exception.stacktrace"]
    assert values["eventyard.dlt.stage"] == b"handle"
    assert values["eventyard.dlt.attempts"] == b"5"
    assert values["eventyard.dlt.consumer"] == b"billing"
    assert values["eventyard.dlt.failed.at"] == b"2025-03-01T12:30:00+00:00"


def test_unknown_stage_and_attempts_are_left_out_and_the_time_is_now() -> None:
    before = datetime.now(UTC)
    headers = dict(
        dead_letter_headers(
            topic="t", partition=0, offset=1, error=KeyError("k"), consumer="orders_view"
        )
    )
    assert DeadLetterHeader.STAGE not in headers
    assert DeadLetterHeader.ATTEMPTS not in headers
    failed_at = datetime.fromisoformat(headers[DeadLetterHeader.FAILED_AT].decode())
    assert before <= failed_at <= datetime.now(UTC)


def test_long_texts_are_cut_to_the_exception_head_and_the_stacktrace_tail() -> None:
    headers = dict(
        dead_letter_headers(
            topic="t", partition=0, offset=1, error=RuntimeError("x" * 10_000), consumer="c"
        )
    )
    assert len(headers[DeadLetterHeader.EXCEPTION]) == 4000
    assert headers[DeadLetterHeader.EXCEPTION].startswith(b"RuntimeError: xxx")
    assert len(headers[DeadLetterHeader.EXCEPTION_STACKTRACE]) == 8000
    assert headers[DeadLetterHeader.EXCEPTION_STACKTRACE].endswith(b"x\n")


def test_the_reader_reads_what_the_writer_wrote_and_keeps_the_message_headers() -> None:
    own = [("id", b"e-1"), ("traceparent", None), ("eventType", b"Placed")]
    written = dead_letter_headers(
        topic="shop.orders",
        partition=3,
        offset=99,
        error=_raised(),
        consumer="billing",
        attempts=5,
        stage="handle",
        failed_at=AT,
    )
    letter = read_dead_letter([*own, *written])
    assert letter.original_topic == "shop.orders"
    assert (letter.original_partition, letter.original_offset) == (3, 99)
    assert letter.exception is not None
    assert letter.exception.startswith("JSONDecodeError: ")
    assert letter.exception_type == "json.decoder.JSONDecodeError"
    assert letter.stacktrace is not None
    assert "Traceback" in letter.stacktrace
    assert (letter.stage, letter.attempts, letter.consumer) == ("handle", 5, "billing")
    assert letter.failed_at == AT
    assert letter.headers == tuple(own)


def test_the_reader_reads_the_names_the_projection_runner_wrote_before() -> None:
    old = [
        ("trace", b"t-1"),
        ("eventyard.error", b"order 11 is poison"),
        ("eventyard.error.type", b"ValueError"),
        ("eventyard.error.stage", b"handle"),
        ("eventyard.source.topic", b"cdc.public.orders"),
        ("eventyard.source.partition", b"0"),
        ("eventyard.source.offset", b"41"),
        ("eventyard.projection", b"orders_view"),
    ]
    assert read_dead_letter(old) == DeadLetter(
        original_topic="cdc.public.orders",
        original_partition=0,
        original_offset=41,
        exception="ValueError: order 11 is poison",
        exception_type="ValueError",
        stage="handle",
        consumer="orders_view",
        headers=(("trace", b"t-1"),),
    )


def test_the_current_names_win_and_the_last_value_of_a_name_counts() -> None:
    headers = [
        ("eventyard.source.topic", b"old"),
        ("eventyard.dlt.original.topic", b"first"),
        ("eventyard.dlt.attempts", b"2"),
        ("eventyard.dlt.original.topic", b"again"),  # dead-lettered again after a re-drive
        ("eventyard.dlt.attempts", b"3"),
    ]
    letter = read_dead_letter(headers)
    assert (letter.original_topic, letter.attempts) == ("again", 3)


def test_the_reader_takes_text_values_a_mapping_or_nothing() -> None:
    letter = read_dead_letter({"eventyard.dlt.consumer": "billing", "id": "e-1", "x": None})
    assert letter.consumer == "billing"
    assert letter.headers == (("id", b"e-1"), ("x", None))
    assert read_dead_letter(None) == DeadLetter()
    assert read_dead_letter([]) == DeadLetter()


def test_values_that_do_not_parse_read_as_absent() -> None:
    letter = read_dead_letter(
        [
            ("eventyard.dlt.original.offset", b"not a number"),
            ("eventyard.dlt.failed.at", b"yesterday"),
            ("eventyard.dlt.attempts", None),
        ]
    )
    assert (letter.original_offset, letter.failed_at, letter.attempts) == (None, None, None)
    assert letter.headers == ()


def test_the_libraries_old_public_names_follow_the_one_convention() -> None:
    names = tuple(h.value for h in DeadLetterHeader if h is not DeadLetterHeader.ATTEMPTS)
    assert names == DEAD_LETTER_HEADERS
    inbound = InboundMessage(
        id="e-1", topic="orders", partition=3, offset=99, key=None, value=None, headers={"id": "1"}
    )
    headers = inbox_dead_letter_headers(inbound, _raised(), attempts=5, consumer="billing")
    assert headers[0] == ("id", b"1")
    assert [name for name, _ in headers[1:]] == [h.value for h in DeadLetterHeader]
    letter = read_dead_letter(headers)
    assert (letter.stage, letter.attempts, letter.original_offset) == ("handle", 5, 99)
