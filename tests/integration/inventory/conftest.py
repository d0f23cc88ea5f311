"""The inventory service for the participant services' shared fixtures
(``tests/integration/service/participant_fixtures.py``): a migrated database, sessions on it,
the real participant, its commands and the running app."""

from __future__ import annotations

import pytest

from eventyard_inventory.bootstrap import MIGRATIONS, NAME
from eventyard_inventory.entrypoints.app import create_app
from eventyard_inventory.entrypoints.commands import participant
from eventyard_inventory.settings import Settings
from tests.integration.service.participant_fixtures import (  # noqa: F401 - the fixtures this folder's tests use
    ParticipantService,
    client,
    command,
    handle,
    over_kafka,
    prefix,
    service_database,
    sessions,
)


@pytest.fixture
def participant_service() -> ParticipantService:
    return ParticipantService(
        name=NAME,
        settings=Settings,
        migrations=MIGRATIONS,
        participant=participant,
        create_app=create_app,
        step="reserve_stock",  # PriceOrder names "price_order"
        compensation="ReleaseStock",
    )
