"""A fake for unit tests, and the contract every consumed-messages store must pass.

- :class:`InMemoryConsumedMessages`: the :class:`~eventyard.kafka.ConsumedMessages` port in
  memory, with transactions that commit or roll back, and a concurrent record of the same
  message waiting for the transaction holding it, as PostgreSQL's do.
- :class:`ConsumedMessagesContract`: the port's contract as a test class; subclass it per
  adapter (Eventyard runs it against the fake, ``eventyard.outbox.InboxStore`` and
  ``eventyard.cdc.OffsetStore``).
"""

from __future__ import annotations

import abc
import contextlib
import threading
from collections.abc import Iterator
from typing import ClassVar, Generic, TypeVar

from eventyard.kafka._membership import TopicPartitionKey
from eventyard.kafka._tracking import ConsumedMessages, Tracking

__all__ = [
    "ConsumedMessagesContract",
    "InMemoryConsumedMessages",
    "InMemoryTransaction",
]

TxT = TypeVar("TxT")

_Key = tuple[str, str]  # (consumer, message id)


class InMemoryTransaction:
    """A transaction of :class:`InMemoryConsumedMessages`: its records, seen by others once it
    commits. Made by :meth:`InMemoryConsumedMessages.transaction`; used by one thread."""

    def __init__(self) -> None:
        self.pending: dict[_Key, Tracking] = {}
        self.open = True


class InMemoryConsumedMessages(ConsumedMessages[InMemoryTransaction]):
    """Consumed messages in memory, recognised by consumer and message id (as an inbox does).

    ``with store.transaction() as tx:`` commits on exit and rolls back on an exception. A
    record of a message another open transaction recorded waits for that one to end (at most
    ``wait_timeout_s``, then :class:`TimeoutError`).
    """

    def __init__(self, *, wait_timeout_s: float = 30.0) -> None:
        self._wait_timeout_s = wait_timeout_s
        self._applied: dict[_Key, Tracking] = {}
        self._held: dict[_Key, InMemoryTransaction] = {}
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[InMemoryTransaction]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        tx = InMemoryTransaction()
        try:
            yield tx
        except BaseException:
            self._end(tx, commit=False)
            raise
        self._end(tx, commit=True)

    def recorded(self, consumer: str | None = None) -> list[Tracking]:
        """The committed records (of ``consumer``), in the order they were committed."""
        with self._changed:
            return [t for t in self._applied.values() if consumer in (None, t.consumer)]

    # -- the port
    def record(self, tx: InMemoryTransaction, tracking: Tracking) -> bool:
        key = self._key(tx, tracking)
        with self._changed:
            if not self._changed.wait_for(
                lambda: self._held.get(key, tx) is tx, timeout=self._wait_timeout_s
            ):
                raise TimeoutError(f"{tracking.id} is held by another transaction")
            if key in self._applied or key in tx.pending:
                return False
            tx.pending[key] = tracking
            self._held[key] = tx
            return True

    def is_applied(self, tx: InMemoryTransaction, tracking: Tracking) -> bool:
        key = self._key(tx, tracking)
        with self._changed:
            return key in self._applied or key in tx.pending

    def max_offsets(self, tx: InMemoryTransaction, consumer: str) -> dict[TopicPartitionKey, int]:
        self._check_open(tx)
        with self._changed:
            seen = [*self._applied.values(), *tx.pending.values()]
        highest: dict[TopicPartitionKey, int] = {}
        for tracking in seen:
            if tracking.consumer == consumer:
                highest[tracking.where] = max(highest.get(tracking.where, -1), tracking.offset)
        return highest

    # -- plumbing
    @classmethod
    def _key(cls, tx: InMemoryTransaction, tracking: Tracking) -> _Key:
        cls._check_open(tx)
        return (tracking.consumer, tracking.id)

    @staticmethod
    def _check_open(tx: InMemoryTransaction) -> None:
        if not tx.open:
            raise RuntimeError("the transaction has ended")

    def _end(self, tx: InMemoryTransaction, *, commit: bool) -> None:
        with self._changed:
            if commit:
                self._applied.update(tx.pending)
            for key in tx.pending:
                del self._held[key]
            tx.pending.clear()
            tx.open = False
            self._changed.notify_all()


class ConsumedMessagesContract(abc.ABC, Generic[TxT]):
    """The behaviour every :class:`~eventyard.kafka.ConsumedMessages` store must have, as tests.

    Subclass it in a test module as ``TestMyStore(ConsumedMessagesContract[MyTransaction])``
    and implement :meth:`make_store` and :meth:`transaction`; pytest collects the ``test_``
    methods. Offsets are recorded in partition order, as a Kafka consumer reads them.
    """

    consumer: ClassVar[str] = "billing"
    topic: ClassVar[str] = "shop.orders"
    wait_s: ClassVar[float] = 0.3
    """How long a concurrent record is given to (wrongly) go ahead before the first commits."""

    @abc.abstractmethod
    def make_store(self) -> ConsumedMessages[TxT]:
        """A new, empty store."""

    @abc.abstractmethod
    def transaction(self, store: ConsumedMessages[TxT]) -> contextlib.AbstractContextManager[TxT]:
        """A transaction of ``store``: commit on exit, roll back on an exception."""

    # -- helpers
    def message(
        self,
        offset: int,
        *,
        partition: int = 0,
        topic: str | None = None,
        consumer: str | None = None,
    ) -> Tracking:
        """The message at ``offset`` (of this contract's topic and consumer by default)."""
        return Tracking(
            consumer=consumer or self.consumer,
            topic=topic or self.topic,
            partition=partition,
            offset=offset,
        )

    def record(self, store: ConsumedMessages[TxT], *messages: Tracking) -> list[bool]:
        """Record ``messages`` in one committed transaction; what each :meth:`record` said."""
        with self.transaction(store) as tx:
            return [store.record(tx, m) for m in messages]

    def applied(self, store: ConsumedMessages[TxT], message: Tracking) -> bool:
        """Whether ``message`` is applied, asked in a transaction of its own."""
        with self.transaction(store) as tx:
            return store.is_applied(tx, message)

    def offsets(
        self, store: ConsumedMessages[TxT], consumer: str | None = None
    ) -> dict[TopicPartitionKey, int]:
        """The highest applied offsets, asked in a transaction of their own."""
        with self.transaction(store) as tx:
            return store.max_offsets(tx, consumer or self.consumer)

    def record_concurrently(
        self, store: ConsumedMessages[TxT], message: Tracking
    ) -> tuple[threading.Thread, list[bool]]:
        """Start recording ``message`` in another thread's transaction; its answer lands in
        the list once that transaction committed."""
        answers: list[bool] = []

        def other() -> None:
            answers.extend(self.record(store, message))

        thread = threading.Thread(target=other, name="concurrent-record", daemon=True)
        thread.start()
        return thread, answers

    # -- the contract
    def test_a_message_is_recorded_once(self) -> None:
        store = self.make_store()
        first = self.message(5)
        assert not self.applied(store, first)
        assert self.record(store, first) == [True]
        assert self.applied(store, first)
        assert self.record(store, first) == [False]

    def test_a_transaction_sees_its_own_record(self) -> None:
        store = self.make_store()
        first = self.message(0)
        with self.transaction(store) as tx:
            assert not store.is_applied(tx, first)
            assert store.record(tx, first)
            assert store.is_applied(tx, first)
            assert not store.record(tx, first)
            assert store.max_offsets(tx, self.consumer) == {(self.topic, 0): 0}

    def test_a_rolled_back_record_is_forgotten(self) -> None:
        store = self.make_store()
        first = self.message(3)
        with contextlib.suppress(RuntimeError), self.transaction(store) as tx:
            assert store.record(tx, first)
            raise RuntimeError("the consumer's effects failed")
        assert not self.applied(store, first)
        assert self.offsets(store) == {}
        assert self.record(store, first) == [True]

    def test_a_later_offset_is_not_applied_yet(self) -> None:
        store = self.make_store()
        self.record(store, self.message(7))
        assert not self.applied(store, self.message(8))
        assert self.record(store, self.message(8)) == [True]

    def test_consumers_partitions_and_topics_are_tracked_apart(self) -> None:
        store = self.make_store()
        self.record(store, self.message(4))
        assert not self.applied(store, self.message(4, consumer="shipping"))
        assert not self.applied(store, self.message(4, partition=1))
        assert not self.applied(store, self.message(4, topic="shop.payments"))
        assert self.record(
            store,
            self.message(4, consumer="shipping"),
            self.message(4, partition=1),
            self.message(4, topic="shop.payments"),
        ) == [True, True, True]

    def test_max_offsets_gives_the_highest_applied_offset_per_partition(self) -> None:
        store = self.make_store()
        assert self.offsets(store) == {}
        self.record(store, self.message(3), self.message(4), self.message(2, partition=1))
        self.record(store, self.message(7))
        self.record(store, self.message(9, consumer="shipping"))
        self.record(store, self.message(0, topic="shop.payments", partition=2))
        assert self.offsets(store) == {
            (self.topic, 0): 7,
            (self.topic, 1): 2,
            ("shop.payments", 2): 0,
        }
        assert self.offsets(store, "shipping") == {(self.topic, 0): 9}
        assert self.offsets(store, "nobody") == {}

    def test_a_concurrent_record_of_the_same_message_waits_and_finds_it_applied(self) -> None:
        store = self.make_store()
        first = self.message(11)
        with self.transaction(store) as tx:
            assert store.record(tx, first)
            thread, answers = self.record_concurrently(store, first)
            thread.join(self.wait_s)  # it must wait for this transaction to end
        thread.join(30)
        assert answers == [False]
        assert self.offsets(store) == {(self.topic, 0): 11}

    def test_a_concurrent_record_goes_ahead_when_the_first_rolls_back(self) -> None:
        store = self.make_store()
        first = self.message(12)
        with contextlib.suppress(RuntimeError), self.transaction(store) as tx:
            assert store.record(tx, first)
            thread, answers = self.record_concurrently(store, first)
            thread.join(self.wait_s)
            raise RuntimeError("rolled back")
        thread.join(30)
        assert answers == [True]
        assert self.applied(store, first)
