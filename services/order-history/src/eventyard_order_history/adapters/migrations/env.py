"""Alembic environment: run on the connection the service passes."""

from eventyard.service.alembic import run_migrations

run_migrations()
