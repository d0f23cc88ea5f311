"""The read model's values and the pure rules of the SKU statistics (no I/O)."""
