"""PostgreSQL connection strings: SQLAlchemy URLs and libpq ``key=value`` DSNs alike."""

from __future__ import annotations

from typing import Final

import psycopg
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.engine import URL, make_url

__all__ = ["describe", "to_url"]

_DRIVER: Final = "postgresql+psycopg"
_SCHEMES: Final = ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2")


def to_url(dsn: str) -> URL:
    """A ``postgresql+psycopg`` URL for ``dsn``: a URL of any PostgreSQL scheme or a libpq DSN."""
    text = dsn.strip()
    if "://" in text:
        url = make_url(text.replace("postgres://", "postgresql://", 1))
        if url.drivername not in _SCHEMES:
            raise ValueError(f"not a PostgreSQL URL: scheme {url.drivername!r}")
        return url.set(drivername=_DRIVER)
    try:
        parsed = conninfo_to_dict(text)
    except psycopg.Error as error:
        raise ValueError(f"not a PostgreSQL URL or libpq DSN: {error}") from None
    params = {k: str(v) for k, v in parsed.items() if v is not None}
    port = params.pop("port", None)
    return URL.create(
        _DRIVER,
        username=params.pop("user", None),
        password=params.pop("password", None),
        host=params.pop("host", None),
        port=int(port) if port else None,
        database=params.pop("dbname", None),
        query=params,
    )


def describe(url: URL) -> str:
    """``host:port/database`` of ``url``, without credentials, for messages."""
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    return f"{host}{port}/{url.database or ''}"
