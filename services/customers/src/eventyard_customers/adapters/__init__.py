"""PostgreSQL: the tables, the repository, and the Alembic migrations that create them."""
