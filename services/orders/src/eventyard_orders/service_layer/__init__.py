"""Use cases: placing and reading orders, and the order saga that decides them."""
