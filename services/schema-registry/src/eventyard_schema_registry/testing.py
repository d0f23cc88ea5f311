"""For tests: the in-memory store, and the store contract every adapter passes.

- :class:`MemoryStore`: the registry's store in memory; ``bootstrap(settings, store=MemoryStore())``
  wires a registry on it exactly as the service does on PostgreSQL.
- :class:`StoreContract`: the behaviour every :class:`~.service_layer.ports.Store` must have, as
  a class of tests. Subclass it per adapter as ``TestMyStore(StoreContract)`` and implement
  :meth:`StoreContract.make_store`; pytest collects the ``test_`` methods.
"""

from __future__ import annotations

import abc
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar, TypeVar

from eventyard.schemas import CompatibilityLevel
from eventyard_schema_registry.adapters.memory import MemoryStore
from eventyard_schema_registry.domain.canonical import canonical_text, fingerprint
from eventyard_schema_registry.domain.errors import StoreError
from eventyard_schema_registry.domain.model import (
    AVRO,
    Mode,
    SchemaReference,
    StoredSchema,
    SubjectVersion,
)
from eventyard_schema_registry.service_layer.ports import (
    NewSchema,
    Referrer,
    Store,
    StoreSession,
    Usage,
)

__all__ = ["MemoryStore", "StoreContract"]

T = TypeVar("T")


class _Boom(Exception):
    """Raised inside a session to make it fail."""


@contextlib.contextmanager
def _raises(kind: type[BaseException]) -> Iterator[None]:
    try:
        yield
    except kind:
        return
    raise AssertionError(f"{kind.__name__} was not raised")


class StoreContract(abc.ABC):
    """The behaviour every registry store must have (see the module's docstring)."""

    threads: ClassVar[int] = 8

    @abc.abstractmethod
    def make_store(self) -> Store:
        """A new, empty store."""

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def new_schema(name: str, *references: SchemaReference) -> NewSchema:
        """An empty record ``name`` as the service layer would store it."""
        text = canonical_text({"type": "record", "name": name, "fields": []})
        return NewSchema(
            fingerprint=fingerprint(AVRO, text, references),
            schema_type=AVRO,
            schema=text,
            references=references,
        )

    @staticmethod
    def add(session: StoreSession, subject: str, version: int, new: NewSchema) -> int:
        """Store ``new`` (once) and give it ``version`` of ``subject``; its id."""
        schema_id = session.add_schema(new)
        assert schema_id is not None
        session.add_version(subject, version, schema_id)
        return schema_id

    @staticmethod
    def subjects(session: StoreSession, *, deleted: bool = False, prefix: str = "") -> list[str]:
        return session.subjects(deleted=deleted, deleted_only=False, prefix=prefix)

    def all_at_once(self, call: Callable[[], T]) -> list[T]:
        """``call()`` in :attr:`threads` threads released together; their results."""
        barrier = threading.Barrier(self.threads)

        def run(_: int) -> T:
            barrier.wait()
            return call()

        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(run, range(self.threads)))

    # -- an empty store ------------------------------------------------------------------------

    def test_a_new_store_is_ready_and_empty(self) -> None:
        store = self.make_store()
        store.ping()
        with store.session() as session:
            assert session.subjects(deleted=True, deleted_only=False, prefix="") == []
            assert session.versions("orders-value") == []
            assert session.schema(1) is None
            assert session.schema_id(self.new_schema("A").fingerprint) is None
            assert session.usages(1) == []
            assert session.referrers("orders-value", 1) == []
            assert (session.level(None), session.level("orders-value")) == (None, None)
            assert (session.mode(None), session.mode("orders-value")) == (None, None)

    # -- schemas and their ids -----------------------------------------------------------------

    def test_ids_start_at_one_and_a_fingerprint_keeps_its_id(self) -> None:
        store = self.make_store()
        order, invoice = self.new_schema("Order"), self.new_schema("Invoice")
        with store.session() as session:
            first = session.add_schema(order)
            assert session.add_schema(order) == first
            second = session.add_schema(invoice)
        assert first == 1
        assert second is not None
        assert second > first
        with store.session() as session:
            assert session.add_schema(order) == first
            assert session.schema_id(order.fingerprint) == first
            assert session.schema_id(invoice.fingerprint) == second

    def test_a_schema_reads_back_with_its_references_in_their_order(self) -> None:
        store = self.make_store()
        references = (
            SchemaReference(name="com.z.Zone", subject="zones-value", version=2),
            SchemaReference(name="com.a.Address", subject="addresses-value", version=1),
        )
        customer = self.new_schema("Customer", *references)
        with store.session() as session:
            schema_id = session.add_schema(customer)
        assert schema_id is not None
        with store.session() as session:
            assert session.schema(schema_id) == StoredSchema(
                id=schema_id, schema_type=AVRO, schema=customer.schema, references=references
            )

    def test_an_imported_id_is_kept_and_later_ids_continue_above_it(self) -> None:
        store = self.make_store()
        order, invoice, refund, later = (self.new_schema(n) for n in ("O", "I", "R", "L"))
        with store.session() as session:
            assert session.add_schema(order, schema_id=42) == 42
        with store.session() as session:
            stored = session.schema(42)
            assert stored is not None
            assert stored.schema == order.schema
            generated = session.add_schema(invoice)
            assert generated is not None
            assert generated > 42
            assert session.add_schema(refund, schema_id=42) is None  # another schema's id
            assert session.add_schema(order, schema_id=7) == 42  # a stored schema keeps its id
            assert session.add_schema(refund, schema_id=5) == 5  # a free id below is fine
            last = session.add_schema(later)
            assert last is not None
            assert last > generated

    def test_schemas_outlive_their_versions(self) -> None:
        store = self.make_store()
        order = self.new_schema("Order")
        with store.session() as session:
            schema_id = self.add(session, "orders-value", 1, order)
            session.remove_versions("orders-value", [1])
        with store.session() as session:
            assert session.versions("orders-value") == []
            assert self.subjects(session, deleted=True) == []
            assert session.usages(schema_id) == []
            stored = session.schema(schema_id)
            assert stored is not None
            assert stored.schema == order.schema
            assert session.schema_id(order.fingerprint) == schema_id

    # -- subjects and versions -----------------------------------------------------------------

    def test_versions_come_back_ascending_with_their_schemas(self) -> None:
        store = self.make_store()
        reference = SchemaReference(name="com.a.Address", subject="addresses-value", version=1)
        plain, referring = self.new_schema("Plain"), self.new_schema("Referring", reference)
        with store.session() as session:
            plain_id = self.add(session, "things-value", 3, plain)
            referring_id = self.add(session, "things-value", 1, referring)
            session.add_version("things-value", 2, plain_id)
        as_plain = StoredSchema(id=plain_id, schema_type=AVRO, schema=plain.schema)
        as_referring = StoredSchema(
            id=referring_id, schema_type=AVRO, schema=referring.schema, references=(reference,)
        )
        with store.session() as session:
            assert session.versions("things-value") == [
                SubjectVersion(
                    subject="things-value", version=1, deleted=False, schema=as_referring
                ),
                SubjectVersion(subject="things-value", version=2, deleted=False, schema=as_plain),
                SubjectVersion(subject="things-value", version=3, deleted=False, schema=as_plain),
            ]

    def test_soft_deletion_marks_only_the_versions_named(self) -> None:
        store = self.make_store()
        thing = self.new_schema("Thing")
        with store.session() as session:
            schema_id = self.add(session, "things-value", 1, thing)
            for number in (2, 3):
                session.add_version("things-value", number, schema_id)
            session.add_version("others-value", 1, schema_id)
            session.mark_deleted("things-value", [1, 3, 9])
        with store.session() as session:
            assert [v.deleted for v in session.versions("things-value")] == [True, False, True]
            assert [v.deleted for v in session.versions("others-value")] == [False]

    def test_removal_takes_only_the_versions_named(self) -> None:
        store = self.make_store()
        thing = self.new_schema("Thing")
        with store.session() as session:
            schema_id = self.add(session, "things-value", 1, thing)
            session.add_version("things-value", 2, schema_id)
            session.add_version("others-value", 1, schema_id)
            session.remove_versions("things-value", [1, 9])
            session.remove_versions("nobody-value", [1])
        with store.session() as session:
            assert [v.version for v in session.versions("things-value")] == [2]
            assert [v.version for v in session.versions("others-value")] == [1]

    def test_subjects_by_liveness_and_prefix_in_code_point_order(self) -> None:
        store = self.make_store()
        thing = self.new_schema("Thing")
        with store.session() as session:
            schema_id = self.add(session, "b-value", 1, thing)
            for subject in ("B-value", "a-value", "gone-value", "x_1", "xy1"):
                session.add_version(subject, 1, schema_id)
            session.add_version("a-value", 2, schema_id)
            session.mark_deleted("a-value", [1])  # one version left live
            session.mark_deleted("gone-value", [1])  # none left live
        live = ["B-value", "a-value", "b-value", "x_1", "xy1"]
        with store.session() as session:
            assert self.subjects(session) == live
            assert self.subjects(session, deleted=True) == sorted([*live, "gone-value"])
            for deleted in (False, True):
                only = session.subjects(deleted=deleted, deleted_only=True, prefix="")
                assert only == ["gone-value"]
            assert self.subjects(session, prefix="b") == ["b-value"]
            assert self.subjects(session, prefix="B") == ["B-value"]
            assert self.subjects(session, prefix="x_") == ["x_1"]  # no wildcards in a prefix
            assert self.subjects(session, prefix="%") == []
            assert self.subjects(session, prefix="gone", deleted=True) == ["gone-value"]

    def test_usages_are_every_version_holding_an_id(self) -> None:
        store = self.make_store()
        order, other = self.new_schema("Order"), self.new_schema("Other")
        with store.session() as session:
            schema_id = self.add(session, "orders-value", 2, order)
            for subject, number in (("orders-value", 1), ("archive-value", 4), ("Zed-value", 1)):
                session.add_version(subject, number, schema_id)
            self.add(session, "orders-value", 3, other)
            session.mark_deleted("orders-value", [2])
        with store.session() as session:
            assert session.usages(schema_id) == [
                Usage(subject="Zed-value", version=1, deleted=False),
                Usage(subject="archive-value", version=4, deleted=False),
                Usage(subject="orders-value", version=1, deleted=False),
                Usage(subject="orders-value", version=2, deleted=True),
            ]

    def test_referrers_are_the_holders_of_schemas_naming_a_version(self) -> None:
        store = self.make_store()
        first = SchemaReference(name="com.a.Address", subject="addresses-value", version=1)
        second = SchemaReference(name="com.a.Address", subject="addresses-value", version=2)
        with store.session() as session:
            self.add(session, "addresses-value", 1, self.new_schema("Address"))
            self.add(session, "addresses-value", 2, self.new_schema("Address2"))
            customer = self.add(session, "customers-value", 1, self.new_schema("C", first))
            session.add_version("vips-value", 1, customer)
            session.mark_deleted("vips-value", [1])
            other = self.add(session, "others-value", 1, self.new_schema("D", second))
            session.add_schema(self.new_schema("Unheld", first))  # no version holds it
        with store.session() as session:
            assert sorted(session.referrers("addresses-value", 1), key=lambda r: r.subject) == [
                Referrer(schema_id=customer, subject="customers-value", deleted=False),
                Referrer(schema_id=customer, subject="vips-value", deleted=True),
            ]
            assert session.referrers("addresses-value", 2) == [
                Referrer(schema_id=other, subject="others-value", deleted=False)
            ]
            assert session.referrers("addresses-value", 3) == []
            assert session.referrers("customers-value", 1) == []

    # -- levels and modes ----------------------------------------------------------------------

    def test_levels_are_set_globally_and_per_subject(self) -> None:
        store = self.make_store()
        with store.session() as session:
            session.set_level(None, CompatibilityLevel.FULL)
            session.set_level("orders-value", CompatibilityLevel.NONE)
        with store.session() as session:
            assert session.level(None) is CompatibilityLevel.FULL
            assert session.level("orders-value") is CompatibilityLevel.NONE
            assert session.level("others-value") is None
            assert session.mode("orders-value") is None  # levels and modes are apart
            session.set_level("orders-value", CompatibilityLevel.FORWARD_TRANSITIVE)
        with store.session() as session:
            assert session.level("orders-value") is CompatibilityLevel.FORWARD_TRANSITIVE
            session.set_level("orders-value", None)
            session.set_level("others-value", None)  # nothing to remove: no error
        with store.session() as session:
            assert session.level("orders-value") is None
            assert session.level(None) is CompatibilityLevel.FULL

    def test_modes_are_set_globally_and_per_subject(self) -> None:
        store = self.make_store()
        with store.session() as session:
            session.set_mode(None, Mode.READONLY)
            session.set_mode("orders-value", Mode.IMPORT)
        with store.session() as session:
            assert session.mode(None) is Mode.READONLY
            assert session.mode("orders-value") is Mode.IMPORT
            assert session.level("orders-value") is None
            session.set_mode("orders-value", Mode.READWRITE)
            session.set_mode(None, None)
        with store.session() as session:
            assert session.mode("orders-value") is Mode.READWRITE
            assert session.mode(None) is None

    # -- transactions --------------------------------------------------------------------------

    def test_a_session_sees_its_own_writes_before_they_commit(self) -> None:
        store = self.make_store()
        order = self.new_schema("Order")
        with store.session() as session:
            schema_id = self.add(session, "orders-value", 1, order)
            session.set_mode("orders-value", Mode.READONLY)
            assert [v.schema.id for v in session.versions("orders-value")] == [schema_id]
            assert self.subjects(session) == ["orders-value"]
            assert session.mode("orders-value") is Mode.READONLY
        with store.session() as session:
            assert [v.schema.id for v in session.versions("orders-value")] == [schema_id]

    def test_a_failed_session_leaves_nothing_behind(self) -> None:
        store = self.make_store()
        kept, dropped = self.new_schema("Kept"), self.new_schema("Dropped")
        with store.session() as session:
            kept_id = self.add(session, "orders-value", 1, kept)
        with _raises(_Boom), store.session() as session:
            self.add(session, "orders-value", 2, dropped)
            session.mark_deleted("orders-value", [1])
            session.set_level(None, CompatibilityLevel.NONE)
            session.set_mode("orders-value", Mode.READONLY)
            raise _Boom
        with store.session() as session:
            (version,) = session.versions("orders-value")
            assert (version.version, version.deleted, version.schema.id) == (1, False, kept_id)
            assert session.schema_id(dropped.fingerprint) is None
            assert (session.level(None), session.mode("orders-value")) == (None, None)

    def test_a_version_number_is_taken_once(self) -> None:
        store = self.make_store()
        first, second = self.new_schema("First"), self.new_schema("Second")
        with store.session() as session:
            first_id = self.add(session, "orders-value", 1, first)
        with _raises(StoreError), store.session() as session:
            self.add(session, "orders-value", 1, second)
        with store.session() as session:
            assert [v.schema.id for v in session.versions("orders-value")] == [first_id]
            assert session.schema_id(second.fingerprint) is None  # rolled back with it

    def test_a_version_needs_a_stored_schema(self) -> None:
        store = self.make_store()
        with _raises(StoreError), store.session() as session:
            session.add_version("orders-value", 1, 999)
        with store.session() as session:
            assert self.subjects(session, deleted=True) == []

    # -- concurrency ---------------------------------------------------------------------------

    def test_concurrent_sessions_get_one_id_for_one_fingerprint(self) -> None:
        store = self.make_store()
        order = self.new_schema("Order")

        def add() -> int | None:
            with store.session() as session:
                return session.add_schema(order)

        ids = self.all_at_once(add)
        assert len(set(ids)) == 1
        assert ids[0] is not None

    def test_writers_of_one_subject_take_turns_under_its_lock(self) -> None:
        store = self.make_store()
        with store.session() as session:
            schema_id = session.add_schema(self.new_schema("Event"))
        assert schema_id is not None

        def add_next() -> int:
            with store.session(lock="events-value") as session:
                number = max((v.version for v in session.versions("events-value")), default=0)
                time.sleep(0.01)  # widen the window a missing lock would leave
                session.add_version("events-value", number + 1, schema_id)
                return number + 1

        numbers = self.all_at_once(add_next)
        assert sorted(numbers) == list(range(1, self.threads + 1))
        with store.session() as session:
            assert len(session.versions("events-value")) == self.threads
