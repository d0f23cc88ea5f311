from __future__ import annotations

import pytest

from eventyard.outbox import ConfigError, InvalidEvent, TopicRouter


def test_default_is_debeziums_default() -> None:
    router = TopicRouter()
    assert router.topic("order") == "outbox.event.order"
    assert router.debezium_replacement == "outbox.event.${routedByValue}"


def test_templates_may_add_prefix_and_suffix() -> None:
    router = TopicRouter(template="shop.{aggregatetype}.events")
    assert router.topic("customer") == "shop.customer.events"
    assert router.debezium_replacement == "shop.${routedByValue}.events"


@pytest.mark.parametrize(
    "template", ["x.{type}", "{aggregatetype}/{0}", "bad topic {aggregatetype}"]
)
def test_templates_are_checked(template: str) -> None:
    with pytest.raises(ConfigError, match="template"):
        TopicRouter(template=template)


@pytest.mark.parametrize("aggregate_type", ["", "has space", "slash/es", "x" * 250])
def test_aggregate_types_that_make_no_topic_are_refused(aggregate_type: str) -> None:
    with pytest.raises(InvalidEvent, match="not a legal Kafka topic name"):
        TopicRouter().topic(aggregate_type)
