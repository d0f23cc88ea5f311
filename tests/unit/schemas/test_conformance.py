"""Agreement with the shared conformance corpus (Avro Java / Confluent verdicts).

The corpus lives beside the repository in ``../shared/conformance`` (or under
``$EVENTYARD_SHARED_DIR/conformance``); it is not ours to commit, so these tests skip where it
is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from eventyard.schemas import check_compatibility, check_reader_writer

REPO_ROOT = Path(__file__).resolve().parents[3]
CONFORMANCE = (
    Path(os.environ.get("EVENTYARD_SHARED_DIR", REPO_ROOT / ".." / "shared")) / "conformance"
)


def _cases(name: str) -> list[dict[str, Any]]:
    path = CONFORMANCE / name
    if not path.is_file():
        return []
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return cases


def _params(name: str) -> list[Any]:
    cases = _cases(name)
    if not cases:
        reason = f"conformance corpus not found: {CONFORMANCE / name}"
        return [pytest.param(None, id="absent", marks=pytest.mark.skip(reason=reason))]
    return [pytest.param(case, id=case["id"]) for case in cases]


@pytest.mark.parametrize("case", _params("avro_compat_cases.json"))
def test_reader_writer_pair(case: dict[str, Any]) -> None:
    result = check_reader_writer(case["reader"], case["writer"])
    assert result.compatible is case["compatible"], (case["note"], result.messages)


@pytest.mark.parametrize("case", _params("avro_compat_level_cases.json"))
def test_level_history(case: dict[str, Any]) -> None:
    result = check_compatibility(case["new"], case["previous"], case["level"])
    assert result.compatible is case["compatible"], (case["note"], result.messages)


def test_corpus_is_complete_when_present() -> None:
    pairs, levels = _cases("avro_compat_cases.json"), _cases("avro_compat_level_cases.json")
    if not pairs:
        pytest.skip(f"conformance corpus not found under {CONFORMANCE}")
    assert len(pairs) == 329
    assert len(levels) == 223
