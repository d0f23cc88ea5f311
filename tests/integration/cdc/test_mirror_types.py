"""Many rows of every column type the mirror stages in binary, through Debezium: the projection
equals the source, value for value. A second target declares one column with another type than
the source's, which sends its rows as text: PostgreSQL's casts apply, as they always did."""

# ruff: noqa: S608, PLR0917 - SQL from this module's own column lists; pytest passes fixtures

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from eventyard.cdc import Projection, ProjectionRunner, RunnerConfig, _mirror
from eventyard.cdc._binary_copy import fits_binary

COLUMNS = (
    "id bigint PRIMARY KEY, small smallint, medium integer, label text, code varchar(12),"
    " ratio double precision, price numeric(12, 2), exact numeric, day date,"
    " local_at timestamp, placed_at timestamptz, ref uuid, active boolean"
)
NAMES = "id, small, medium, label, code, ratio, price, exact, day, local_at, placed_at, ref, active"
ROWS = 300  # a batch of more than _COPY_FROM rows of one shape is staged with COPY

INSERT = """
INSERT INTO kinds SELECT
    i, (i %% 300 - 150)::smallint, i * 1000 - 70000, 'label ' || i || E' tab\\t"q"',
    'c' || i, CASE WHEN i %% 5 = 0 THEN NULL ELSE i / 7.0 END, i * 1.25 - 100,
    (i::numeric / 3)::numeric(30, 20), date '2024-02-28' + i, timestamp '2024-05-01 10:00:00.5'
    + i * interval '1 minute 1.000001 second', timestamptz '2024-05-01 10:00+05:30' + i * interval
    '1 hour', md5(i::text)::uuid, i %% 2 = 0
FROM generate_series(%s::int, %s::int) AS i
"""


def _projection(text_column: bool) -> Projection:
    target = COLUMNS.replace("medium integer", "medium numeric") if text_column else COLUMNS
    if text_column:  # a float into numeric: only PostgreSQL's cast from text says what it is
        target = target.replace("ratio double precision", "ratio numeric")
    projection = Projection(
        "kinds_text" if text_column else "kinds_binary",
        tables={"kinds": f"CREATE TABLE {{table}} ({target})"},
    )
    projection.mirror("public.kinds", into="kinds", key=["id"])
    return projection


def test_every_binary_staged_type_arrives_exactly(
    source: Any,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    runners: list[ProjectionRunner],
    converge: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    staged: list[bool] = []  # how each COPY went: binary or not

    def watched(oids: Sequence[int], rows: Sequence[Sequence[Any]]) -> bool:
        staged.append(fits_binary(oids, rows))
        return staged[-1]

    monkeypatch.setattr(_mirror, "fits_binary", watched)
    source.sql(f"CREATE TABLE kinds ({COLUMNS})")
    source.sql(INSERT, (1, ROWS))
    source.connect(["public.kinds"])
    source.sql(INSERT, (ROWS + 1, 2 * ROWS))  # streamed as well as snapshotted
    source.sql("UPDATE kinds SET label = NULL, placed_at = NULL, ref = NULL WHERE id % 3 = 0")

    for text_column, schema in ((False, "binary_model"), (True, "text_model")):
        staged.clear()
        runner = ProjectionRunner(
            _projection(text_column),
            RunnerConfig(
                bootstrap_servers=kafka_bootstrap,
                dsn=source.dsn,
                group_id=unique_name("g"),
                topics=(source.topic("public.kinds"),),
                schema=schema,
                batch_size=1000,
            ),
        )
        runners.append(runner)
        cast = "medium::numeric, label" if text_column else "medium, label"
        ratio = "ratio::text::numeric" if text_column else "ratio"  # float8 to text is exact
        wanted = f"SELECT {NAMES.replace('medium, label', cast).replace('ratio', ratio)}"

        def same(schema: str = schema, wanted: str = wanted) -> bool:
            expected = source.rows(f"{wanted} FROM public.kinds ORDER BY id")
            return len(expected) == 2 * ROWS and expected == source.rows(
                f"SELECT {NAMES} FROM {schema}.kinds ORDER BY id"
            )

        converge(
            runner,
            same,
            why=lambda schema=schema: source.rows(f"SELECT count(*) FROM {schema}.kinds"),
        )
        assert staged, "no batch was staged with COPY"
        assert set(staged) == {not text_column}
