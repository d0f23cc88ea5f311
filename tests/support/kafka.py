"""Reading consumed Kafka messages in tests."""

from __future__ import annotations

from confluent_kafka import Message


def headers(message: Message) -> dict[str, bytes]:
    """A consumed message's headers by name, as bytes (a header without a value reads as
    ``b""``; of a repeated name, the last value)."""
    return {name: value or b"" for name, value in _items(message)}


def text_headers(message: Message) -> dict[str, str | None]:
    """A consumed message's headers by name, decoded (``None`` for a header without a value;
    of a repeated name, the last value)."""
    return {name: None if value is None else value.decode() for name, value in _items(message)}


def _items(message: Message) -> list[tuple[str, bytes | None]]:
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(name, value.encode() if isinstance(value, str) else value) for name, value in pairs]


__all__ = ["headers", "text_headers"]
