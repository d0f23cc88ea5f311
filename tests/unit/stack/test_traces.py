import copy
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from eventyard.stack._traces import is_trace_id, span_rows, trace_services, waterfall

# One trace as Jaeger 1.75's GET /api/traces/<id> answered it: svc-a's parent-op with two
# children in svc-b; child-op failed ("boom") and has a child of its own.
RECORDED = Path(__file__).parent / "data" / "jaeger_trace.json"


@pytest.fixture
def trace() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RECORDED.read_text())["data"][0]
    return data


def _text(trace: dict[str, Any]) -> str:
    console = Console(record=True, width=140, color_system=None)
    console.print(waterfall(trace))
    return console.export_text()


def test_spans_come_in_tree_order_with_offsets_from_the_first_span(trace: dict[str, Any]) -> None:
    rows = span_rows(trace)
    assert [(r.depth, r.service, r.name) for r in rows] == [
        (0, "svc-a", "parent-op"),
        (1, "svc-b", "child-op"),
        (2, "svc-b", "grandchild"),
        (1, "svc-b", "second-child"),
    ]
    assert [(r.start_ms, r.duration_ms) for r in rows] == [
        (0.0, 50.0),
        (10.0, 30.0),
        (15.0, 5.0),
        (42.0, 6.0),
    ]
    assert [r.prefix for r in rows] == ["", "├─ ", "│  └─ ", "└─ "]


def test_failed_span_carries_its_status_text(trace: dict[str, Any]) -> None:
    errors = {r.name: r.error for r in span_rows(trace)}
    assert errors == {"parent-op": None, "child-op": "boom", "grandchild": None,
                      "second-child": None}  # fmt: skip


def test_error_tag_alone_marks_a_span_failed(trace: dict[str, Any]) -> None:
    root = next(s for s in trace["spans"] if s["operationName"] == "parent-op")
    root["tags"].append({"key": "error", "type": "bool", "value": True})
    assert span_rows(trace)[0].error == "error"


def test_span_whose_parent_has_not_arrived_is_shown_as_a_root(trace: dict[str, Any]) -> None:
    partial = copy.deepcopy(trace)
    partial["spans"] = [s for s in partial["spans"] if s["operationName"] != "child-op"]
    rows = span_rows(partial)
    assert {r.name for r in rows if r.depth == 0} == {"parent-op", "grandchild"}
    assert len(rows) == 3


def test_waterfall_shows_every_span_with_service_timings_and_bars(trace: dict[str, Any]) -> None:
    text = _text(trace)
    assert "trace 5b8efff798038103d269b633813fc60c" in text
    assert "4 spans, 2 services, 50.0 ms" in text
    line = next(line for line in text.splitlines() if "grandchild" in line)
    assert "svc-b" in line
    assert "15.0" in line
    assert "5.0" in line
    # The root's bar spans the whole timeline; the grandchild's is a fifth of the child's.
    bars = {
        name: next(line for line in text.splitlines() if name in line).count("█")
        for name in ("parent-op", "child-op", "grandchild")
    }
    assert bars == {"parent-op": 40, "child-op": 24, "grandchild": 4}


def test_failed_span_is_red(trace: dict[str, Any]) -> None:
    console = Console(record=True, width=140, force_terminal=True, color_system="standard")
    console.print(waterfall(trace))
    styled = console.export_text(styles=True)
    boom_line = next(line for line in styled.splitlines() if "boom" in line)
    ok_line = next(line for line in styled.splitlines() if "second-child" in line)
    red = "\x1b[31m"
    assert red in boom_line
    assert red not in ok_line


def test_services_of_a_trace(trace: dict[str, Any]) -> None:
    assert trace_services(trace) == {"svc-a", "svc-b"}
    assert span_rows({"spans": []}) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5b8efff798038103d269b633813fc60c", True),
        ("0af7651916cd43dd8448eb211c80319c", True),
        ("7d1f4c1e-3c52-4f0e-9a57-2b1c0cbb2b14", False),
        ("not-a-trace", False),
    ],
)
def test_trace_ids_and_order_ids_are_told_apart(text: str, expected: bool) -> None:
    assert is_trace_id(text) is expected
