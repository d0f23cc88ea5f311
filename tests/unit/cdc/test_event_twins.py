"""The decoder builds events through twins (see ``_events``): each twin must take exactly its
frozen class's fields, in order, and yield a real, frozen, equal instance of that class."""

from __future__ import annotations

import dataclasses
import inspect
from typing import cast

import pytest

from eventyard.cdc import ChangeEvent, Op, Position, Source
from eventyard.cdc._events import ChangeEventTwin, PositionTwin, SourceTwin

PAIRS = [(PositionTwin, Position), (SourceTwin, Source), (ChangeEventTwin, ChangeEvent)]


@pytest.mark.parametrize(("twin", "cls"), PAIRS, ids=lambda c: c.__name__)
def test_twin_takes_the_fields_in_order(twin: type, cls: type) -> None:
    parameters = list(inspect.signature(twin).parameters)
    assert parameters == [f.name for f in dataclasses.fields(cls)]
    assert sorted(vars(twin)["__slots__"]) == sorted(vars(cls)["__slots__"])


def test_twins_make_frozen_equal_instances() -> None:
    # The twins become the public class (mypy cannot see it): bind them to it, as callers do.
    position = cast(Position, PositionTwin("t", 1, 2))
    assert type(position) is Position
    assert position == Position("t", 1, 2)
    source = cast(
        Source, SourceTwin("postgresql", "shop", "db", "public", "t", 5, None, 7, 6, 9, "3", {})
    )
    expected_source = Source(
        connector="postgresql",
        name="shop",
        db="db",
        schema="public",
        table="t",
        ts_ms=5,
        snapshot=None,
        lsn=7,
        commit_lsn=6,
        tx_id=9,
        version="3",
        raw={},
    )
    assert type(source) is Source
    assert source == expected_source
    event = cast(
        ChangeEvent,
        ChangeEventTwin(Op.CREATE, {"id": 1}, None, {"id": 1}, source, 5, None, position, None),
    )
    assert type(event) is ChangeEvent
    assert event.after == {"id": 1}
    assert event.position is position
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.op = Op.DELETE  # type: ignore[misc]
