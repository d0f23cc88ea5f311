"""Which virtual partitions a relay should own: pure rules, no I/O.

Every relay holds at most ``ceil(partitions / members)`` partitions. On each rebalance a relay
above that share releases the partitions it likes least; a relay below it tries to lock free ones
in its own preference order (a rotation seeded by its name, so relays start from different
places and rarely collide). Two rounds after the group stops changing, every partition is owned
by exactly one relay (the locks make "exactly one" hold at every moment, not just at the end).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

__all__ = ["Plan", "fair_share", "plan", "preference"]


def fair_share(partitions: int, members: int) -> int:
    """The most partitions one relay of ``members`` should own."""
    return math.ceil(partitions / max(members, 1))


def preference(member: str, partitions: int) -> list[int]:
    """``member``'s partitions in the order it prefers them."""
    start = zlib.crc32(member.encode()) % partitions
    return [(start + i) % partitions for i in range(partitions)]


@dataclass(frozen=True, kw_only=True)
class Plan:
    """One rebalance step: what to release, and which free partitions to try (up to ``want``)."""

    share: int
    release: tuple[int, ...]
    candidates: tuple[int, ...]
    want: int


def plan(*, member: str, owned: frozenset[int], partitions: int, members: int) -> Plan:
    """The rebalance step for ``member`` owning ``owned`` in a group of ``members`` relays."""
    share = fair_share(partitions, members)
    order = preference(member, partitions)
    surplus = len(owned) - share
    release = tuple(p for p in reversed(order) if p in owned)[: max(surplus, 0)]
    candidates = tuple(p for p in order if p not in owned)
    return Plan(
        share=share, release=release, candidates=candidates, want=max(share - len(owned), 0)
    )
