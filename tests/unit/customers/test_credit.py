"""The credit rules: what is available, what a reservation may take, what a release gives back."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventyard_customers.domain.errors import InsufficientCredit, UnknownCustomer
from eventyard_customers.domain.model import Customer


def customer(limit: int, reserved: int = 0) -> Customer:
    return Customer(id=uuid.uuid4(), name="Ada", credit_limit=limit, credit_reserved=reserved)


def test_available_credit_is_the_limit_less_what_orders_hold() -> None:
    assert customer(10_000, 2_500).credit_available == 7_500


def test_a_new_customer_has_nothing_reserved() -> None:
    opened = Customer.open(name="Bo", credit_limit=5_000)
    assert (opened.credit_reserved, opened.credit_available) == (0, 5_000)


def test_a_reservation_that_fits_exactly_is_taken() -> None:
    assert customer(10_000, 2_500).reserve(7_500).credit_available == 0


def test_a_reservation_over_the_available_credit_is_refused_with_both_amounts() -> None:
    with pytest.raises(InsufficientCredit) as refused:
        customer(10_000, 2_500).reserve(7_501)
    assert refused.value.reason == "insufficient credit: available 7500, order total 7501"


def test_the_unknown_customer_reason_names_the_id() -> None:
    some = uuid.UUID(int=7)
    assert UnknownCustomer(some).reason == f"unknown customer {some}"


@pytest.mark.parametrize(
    ("limit", "reserved"), [(-1, 0), (100, -1), (100, 101)], ids=["limit", "negative", "over"]
)
def test_impossible_credit_states_are_refused(limit: int, reserved: int) -> None:
    with pytest.raises(ValueError, match="credit"):
        customer(limit, reserved)


def test_a_release_cannot_give_back_more_than_is_reserved() -> None:
    with pytest.raises(ValueError, match="cannot release 11 of 10"):
        customer(100, 10).release(11)


@given(
    limit=st.integers(0, 10**12),
    amounts=st.lists(st.integers(0, 10**11), max_size=20),
)
def test_reservations_never_go_over_the_limit_and_releases_undo_them(
    limit: int, amounts: list[int]
) -> None:
    current = customer(limit)
    taken: list[int] = []
    for amount in amounts:
        if amount > current.credit_available:
            with pytest.raises(InsufficientCredit):
                current.reserve(amount)
        else:
            current = current.reserve(amount)
            taken.append(amount)
        assert 0 <= current.credit_reserved <= limit
    assert current.credit_reserved == sum(taken)
    for amount in taken:
        current = current.release(amount)
    assert current.credit_available == limit
