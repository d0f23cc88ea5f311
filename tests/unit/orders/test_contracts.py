"""The packaged Avro contracts are the repository's, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventyard_orders.contracts import schema
from eventyard_orders.domain.events import SUBJECTS

SCHEMAS = Path(__file__).parents[3] / "schemas"


@pytest.mark.parametrize("subject", sorted(SUBJECTS.values()))
def test_the_packaged_contract_is_the_repository_one(subject: str) -> None:
    packaged = schema(subject).encode()
    assert packaged == (SCHEMAS / subject / "schema.avsc").read_bytes()


def test_every_order_contract_in_the_repository_is_packaged() -> None:
    in_repo = {p.name for p in SCHEMAS.iterdir() if p.name.startswith("eventyard.orders.")}
    assert in_repo == set(SUBJECTS.values())
