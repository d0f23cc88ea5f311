"""Kafka consumer-group helpers shared by Eventyard's libraries.

- :class:`StaticMemberGuard`: a static group member (``group.instance.id``) gets its group's
  old assignment back when it restarts, which lacks any topic created since. The guard notices
  partitions that no member holds and has the consumer rejoin with a full rebalance.
- :class:`Retry`: how often to try and how long to wait between tries (stamina's parameters),
  the one retry setting of every Eventyard library.
- Dead letters: :class:`DeadLetterHeader` names the headers a dead-lettered message carries,
  :func:`dead_letter_headers` writes them and :func:`read_dead_letter` reads them back (also
  in the projection runner's earlier names).
- :class:`ConsumedMessages`: the port through which a consumer records, in the transaction of
  its effects, the messages it applied (:class:`Tracking`); ``eventyard.kafka.testing`` has
  an in-memory one and the contract every adapter passes.
"""

from eventyard.kafka._dead_letters import (
    DeadLetter,
    DeadLetterHeader,
    dead_letter_headers,
    read_dead_letter,
)
from eventyard.kafka._membership import (
    GroupCoverage,
    StaticMemberGuard,
    TopicPartitionKey,
    is_static,
    uncovered,
)
from eventyard.kafka._retry import Retry
from eventyard.kafka._tracking import ConsumedMessages, Tracking

__all__ = [
    "ConsumedMessages",
    "DeadLetter",
    "DeadLetterHeader",
    "GroupCoverage",
    "Retry",
    "StaticMemberGuard",
    "TopicPartitionKey",
    "Tracking",
    "dead_letter_headers",
    "is_static",
    "read_dead_letter",
    "uncovered",
]
