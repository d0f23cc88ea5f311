"""The registry's use cases over a store interface (``ports``)."""
