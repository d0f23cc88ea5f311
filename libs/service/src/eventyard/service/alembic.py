"""What a service's Alembic ``env.py`` calls: ``run_migrations()``, nothing else.

```python
# adapters/migrations/env.py
from eventyard.service.alembic import run_migrations

run_migrations()
```
"""

from __future__ import annotations

from alembic import context

__all__ = ["run_migrations"]


def run_migrations() -> None:
    """Run the migrations on the connection :func:`eventyard.service.migrate` provides."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "run migrations through the service (`<service> migrate`), which passes the connection"
        )
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
