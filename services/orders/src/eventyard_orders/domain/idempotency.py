"""The fingerprint of an order request: equal requests, equal fingerprints.

A repeated ``Idempotency-Key`` with the same fingerprint is the same order; with another one it
is a conflict. The fingerprint covers what the request means (customer, lines in their order),
not how its JSON was spelled (spacing, key order).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence

from eventyard_orders.domain.model import OrderLine

__all__ = ["request_hash"]


def request_hash(customer_id: uuid.UUID, lines: Sequence[OrderLine]) -> str:
    """SHA-256 (hex) of the request's canonical JSON."""
    canonical = json.dumps(
        {"customer_id": str(customer_id), "lines": [line.to_json() for line in lines]},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
