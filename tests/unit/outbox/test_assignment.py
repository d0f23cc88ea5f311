"""Partition assignment rules: fair shares, and convergence to exactly one owner each."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eventyard.outbox._assignment import fair_share, plan, preference


def test_fair_share() -> None:
    assert fair_share(64, 1) == 64
    assert fair_share(64, 3) == 22
    assert fair_share(64, 0) == 64
    assert fair_share(8, 20) == 1


def test_preference_is_a_rotation_seeded_by_the_name() -> None:
    order = preference("relay-a", 16)
    assert sorted(order) == list(range(16))
    assert preference("relay-a", 16) == order
    assert order[(order.index(0) + 1) % 16] == 1  # a rotation: neighbours stay neighbours


def test_surplus_is_released_least_preferred_first() -> None:
    order = preference("r", 8)
    step = plan(member="r", owned=frozenset(range(8)), partitions=8, members=2)
    assert step.share == 4
    assert set(step.release) == set(order[4:])
    assert step.want == 0


class Group:
    """Relays sharing partitions through exclusive locks, as the stores provide."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self.owner: dict[int, str] = {}
        self.members: list[str] = []

    def owned(self, member: str) -> frozenset[int]:
        return frozenset(p for p, m in self.owner.items() if m == member)

    def rebalance(self, member: str) -> None:
        step = plan(
            member=member,
            owned=self.owned(member),
            partitions=self.partitions,
            members=len(self.members),
        )
        for p in step.release:
            del self.owner[p]
        got = 0
        for p in step.candidates:
            if got >= step.want:
                break
            if p not in self.owner:  # try-lock
                self.owner[p] = member
                got += 1

    def leave(self, member: str) -> None:
        self.members.remove(member)
        for p in self.owned(member):
            del self.owner[p]


events = st.lists(
    st.one_of(
        st.tuples(st.just("join"), st.integers(0, 9)),
        st.tuples(st.just("leave"), st.integers(0, 9)),
        st.tuples(st.just("rebalance"), st.integers(0, 9)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(partitions=st.integers(1, 64), history=events)
def test_two_quiet_rounds_leave_every_partition_with_one_owner_within_its_share(
    partitions: int, history: list[tuple[str, int]]
) -> None:
    group = Group(partitions)
    group.members.append("relay-0")
    for action, n in history:
        name = f"relay-{n}"
        if action == "join" and name not in group.members:
            group.members.append(name)
        elif action == "leave" and name in group.members and len(group.members) > 1:
            group.leave(name)
        elif action == "rebalance" and name in group.members:
            group.rebalance(name)
    for _ in range(2):
        for member in list(group.members):
            group.rebalance(member)
    share = fair_share(partitions, len(group.members))
    assert set(group.owner) == set(range(partitions))
    for member in group.members:
        assert len(group.owned(member)) <= share
