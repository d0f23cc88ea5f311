"""Shared helpers of eventyard.cdc's unit tests: the captured Debezium records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Message

FIXTURES = Path(__file__).with_name("fixtures")
VARIANTS = ("json_schemas", "json_plain", "decimal_string", "decimal_double")


def load(variant: str) -> list[Message]:
    """The records of one captured connector variant, as confluent-kafka messages."""
    records: list[dict[str, Any]] = json.loads((FIXTURES / f"{variant}.json").read_text())
    return [
        Message(
            topic=r["topic"],
            partition=r["partition"],
            offset=r["offset"],
            key=None if r["key"] is None else r["key"].encode(),
            value=None if r["value"] is None else r["value"].encode(),
        )
        for r in records
    ]


@pytest.fixture(params=VARIANTS)
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def records() -> Any:
    return load
