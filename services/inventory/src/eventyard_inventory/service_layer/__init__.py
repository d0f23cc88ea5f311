"""Use cases as plain functions over a SQLAlchemy session; the caller owns the transaction."""
