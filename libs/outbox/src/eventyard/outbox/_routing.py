"""Topic routing by aggregate type, expressible both in Python and as EventRouter config."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from eventyard.outbox._exceptions import ConfigError, InvalidEvent

__all__ = ["TopicRouter"]

_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
_PLACEHOLDER = "aggregatetype"


@dataclass(frozen=True, kw_only=True)
class TopicRouter:
    """Maps an aggregate type to a topic: ``template`` with ``{aggregatetype}`` filled in.

    The default, ``outbox.event.{aggregatetype}``, is Debezium's EventRouter default, so a switch
    between the relay and Debezium keeps every topic name. The template may only use the
    ``{aggregatetype}`` placeholder: the same routing must be expressible as EventRouter's
    ``route.topic.replacement``.
    """

    template: str = "outbox.event.{aggregatetype}"

    def __post_init__(self) -> None:
        fields = [f for _, f, _, _ in string.Formatter().parse(self.template) if f is not None]
        if any(f != _PLACEHOLDER for f in fields):
            raise ConfigError(
                f"topic template {self.template!r} may only use the {{{_PLACEHOLDER}}} placeholder"
            )
        probe = self.template.format(aggregatetype="x")
        if not _TOPIC.fullmatch(probe):
            raise ConfigError(
                f"topic template {self.template!r} does not make a legal Kafka topic name "
                "(letters, digits, '.', '_', '-'; at most 249 characters)"
            )

    def topic(self, aggregate_type: str) -> str:
        """The topic for ``aggregate_type``; InvalidEvent if it cannot be part of a topic name."""
        topic = self.template.format(aggregatetype=aggregate_type)
        if not aggregate_type or not _TOPIC.fullmatch(topic):
            raise InvalidEvent(
                f"aggregate type {aggregate_type!r} gives topic {topic!r}, which is not a legal "
                "Kafka topic name (letters, digits, '.', '_', '-'; at most 249 characters)"
            )
        return topic

    @property
    def debezium_replacement(self) -> str:
        """The template as EventRouter's ``route.topic.replacement``."""
        return self.template.replace("{" + _PLACEHOLDER + "}", "${routedByValue}")
