"""Alembic environment: the connection comes from the service (``eventyard-orders migrate``)."""

from eventyard.service.alembic import run_migrations

run_migrations()
