"""What the orders tests' fake participants hold (shared by the conftest and the saga tests)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Ledger:
    """What the fake participants hold: prices and stock by SKU, credit by customer."""

    prices: dict[str, int] = field(default_factory=dict)
    stock: dict[str, int] = field(default_factory=dict)
    credit: dict[str, int] = field(default_factory=dict)
    credit_held: dict[str, int] = field(default_factory=dict)
    stock_held: dict[str, dict[str, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
