"""Alembic environment: the service passes the connection (``eventyard-customers migrate``)."""

from eventyard.service.alembic import run_migrations

run_migrations()
