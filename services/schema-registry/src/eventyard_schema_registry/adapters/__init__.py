"""Adapters: the PostgreSQL store, its tables, engine and start-up migration."""
