"""The stock rules: pricing lines, all-or-nothing reservations, stock never below what is held."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventyard_inventory.domain.errors import NoLines, OutOfStock, StockBelowReserved, UnknownSku
from eventyard_inventory.domain.model import Line, Product, hold, price, quantities


def product(sku: str, *, price: int = 100, stock: int = 10, reserved: int = 0) -> Product:
    return Product(sku=sku, name=sku.lower(), price=price, stock=stock, reserved=reserved)


def catalogue(*products: Product) -> dict[str, Product]:
    return {p.sku: p for p in products}


def test_a_quote_prices_each_line_and_totals_them() -> None:
    quote = price(
        [Line(sku="LAMP", quantity=2), Line(sku="VASE", quantity=1)],
        catalogue(product("LAMP", price=4_500), product("VASE", price=12_000)),
    )
    assert [(p.sku, p.quantity, p.unit_price) for p in quote.lines] == [
        ("LAMP", 2, 4_500),
        ("VASE", 1, 12_000),
    ]
    assert quote.total == 21_000


def test_pricing_refuses_an_unknown_sku_and_an_empty_order() -> None:
    with pytest.raises(UnknownSku, match=r"^unknown sku NOPE$"):
        price(
            [Line(sku="LAMP", quantity=1), Line(sku="NOPE", quantity=1)], catalogue(product("LAMP"))
        )
    with pytest.raises(NoLines, match=r"^no lines$"):
        price([], catalogue(product("LAMP")))


def test_a_reservation_needs_stock_less_reserved_for_each_line() -> None:
    [lamp] = hold([Line(sku="LAMP", quantity=3)], catalogue(product("LAMP", stock=5, reserved=2)))
    assert (lamp.reserved, lamp.available) == (5, 0)


def test_a_line_over_what_is_available_refuses_the_whole_order() -> None:
    products = catalogue(product("LAMP", stock=5), product("VASE", stock=2, reserved=1))
    with pytest.raises(OutOfStock) as refused:
        hold([Line(sku="LAMP", quantity=5), Line(sku="VASE", quantity=2)], products)
    assert refused.value.reason == "out of stock: VASE (requested 2, available 1)"
    assert products["LAMP"].reserved == 0  # nothing was held


def test_lines_of_the_same_sku_count_together() -> None:
    lines = [
        Line(sku="LAMP", quantity=3),
        Line(sku="VASE", quantity=1),
        Line(sku="LAMP", quantity=3),
    ]
    assert quantities(lines) == {"LAMP": 6, "VASE": 1}
    with pytest.raises(OutOfStock, match=r"LAMP \(requested 6, available 5\)"):
        hold(lines, catalogue(product("LAMP", stock=5), product("VASE")))


def test_reserving_an_unknown_sku_is_refused() -> None:
    with pytest.raises(UnknownSku, match="GHOST"):
        hold([Line(sku="GHOST", quantity=1)], catalogue(product("LAMP")))


def test_stock_cannot_be_set_below_the_units_orders_hold() -> None:
    held = product("LAMP", stock=10, reserved=4)
    assert held.with_stock(4).available == 0
    with pytest.raises(StockBelowReserved, match="stock 3 of LAMP is below the 4 units"):
        held.with_stock(3)


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_line_needs_a_positive_quantity(quantity: int) -> None:
    with pytest.raises(ValueError, match="not positive"):
        Line(sku="LAMP", quantity=quantity)


SKUS = ["A", "B", "C"]


@given(
    stock=st.fixed_dictionaries({sku: st.integers(0, 20) for sku in SKUS}),
    orders=st.lists(
        st.lists(
            st.builds(Line, sku=st.sampled_from(SKUS), quantity=st.integers(1, 8)), max_size=4
        ),
        max_size=12,
    ),
)
def test_reservations_are_all_or_nothing_and_never_oversell(
    stock: dict[str, int], orders: list[list[Line]]
) -> None:
    products = catalogue(*(product(sku, stock=n) for sku, n in stock.items()))
    granted: list[list[Line]] = []
    for lines in orders:
        try:
            updated = hold(lines, products)
        except (OutOfStock, NoLines):
            continue  # refused: products is unchanged
        products = {**products, **catalogue(*updated)}
        granted.append(lines)
    for sku in SKUS:
        held = sum(quantities(lines).get(sku, 0) for lines in granted)
        assert products[sku].reserved == held <= stock[sku]
