"""Alembic environment: the service passes the connection (``eventyard-inventory migrate``)."""

from eventyard.service.alembic import run_migrations

run_migrations()
