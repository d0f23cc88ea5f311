"""The Avro contracts of the order events, shipped with the package.

Copies of ``schemas/<subject>/schema.avsc`` (a unit test keeps them byte-identical), so an
installed service reads them without the repository.
"""

from __future__ import annotations

from importlib.resources import files

__all__ = ["schema"]


def schema(subject: str) -> str:
    """The schema text of ``subject`` (``eventyard.orders.OrderCreated``, ...)."""
    return files(__name__).joinpath(f"{subject}.avsc").read_text(encoding="utf-8")
