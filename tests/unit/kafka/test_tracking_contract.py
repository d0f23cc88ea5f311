"""The in-memory consumed-messages store passes the port's contract, and behaves as a fake
should where the contract leaves it free."""

from __future__ import annotations

import contextlib

import pytest

from eventyard.kafka import ConsumedMessages, Tracking
from eventyard.kafka.testing import (
    ConsumedMessagesContract,
    InMemoryConsumedMessages,
    InMemoryTransaction,
)

pytestmark = pytest.mark.unit


class TestInMemoryConsumedMessages(ConsumedMessagesContract[InMemoryTransaction]):
    def make_store(self) -> ConsumedMessages[InMemoryTransaction]:
        return InMemoryConsumedMessages()

    def transaction(
        self, store: ConsumedMessages[InMemoryTransaction]
    ) -> contextlib.AbstractContextManager[InMemoryTransaction]:
        assert isinstance(store, InMemoryConsumedMessages)
        return store.transaction()


def _message(offset: int, message_id: str | None = None) -> Tracking:
    return Tracking(
        consumer="billing", topic="shop.orders", partition=0, offset=offset, message_id=message_id
    )


def test_the_position_is_the_id_unless_one_is_given() -> None:
    assert _message(7).id == "shop.orders/0/7"
    assert _message(7, "e-1").id == "e-1"
    assert _message(7).where == ("shop.orders", 0)


def test_the_fake_recognises_a_message_by_id_at_any_offset() -> None:
    store = InMemoryConsumedMessages()
    with store.transaction() as tx:
        assert store.record(tx, _message(3, "e-1"))
    with store.transaction() as tx:
        assert not store.record(tx, _message(8, "e-1"))  # published again
        assert not store.is_applied(tx, _message(2))  # never recorded
    assert store.recorded() == [_message(3, "e-1")]
    assert store.recorded("shipping") == []


def test_an_ended_transaction_cannot_be_used() -> None:
    store = InMemoryConsumedMessages()
    with store.transaction() as tx:
        pass
    with pytest.raises(RuntimeError, match="ended"):
        store.record(tx, _message(1))
    with pytest.raises(RuntimeError, match="ended"):
        store.max_offsets(tx, "billing")


def test_a_record_held_too_long_by_another_transaction_times_out() -> None:
    store = InMemoryConsumedMessages(wait_timeout_s=0.05)
    with store.transaction() as first:
        assert store.record(first, _message(1))
        with pytest.raises(TimeoutError), store.transaction() as second:
            store.record(second, _message(1))
    assert store.recorded() == [_message(1)]
