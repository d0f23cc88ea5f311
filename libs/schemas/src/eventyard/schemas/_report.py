"""Rendering a :class:`CheckReport`: readable text, JSON, JUnit XML, GitHub annotations."""

from __future__ import annotations

import enum
import json
from typing import Any

# ElementTree only *writes* XML here, from our own data; nothing untrusted is parsed.
from xml.etree import ElementTree

from rich.console import Console
from rich.markup import escape

from eventyard.schemas._results import Incompatibility
from eventyard.schemas._workflow import CheckReport, Status, SubjectOutcome

__all__ = ["OutputFormat", "render_github", "render_json", "render_junit", "render_text"]


class OutputFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"
    JUNIT = "junit"
    GITHUB = "github"


def _where(outcome: SubjectOutcome, message: Incompatibility) -> str:
    line = f":{message.line}" if message.line else ""
    return f"{outcome.file}{line}"


def _against(message: Incompatibility) -> str:
    if message.version is None or message.direction is None:
        return ""
    return f"v{message.version} {message.direction.lower()}"


def _versions(count: int) -> str:
    return f"{count} version{'s' if count != 1 else ''}"


def render_text(report: CheckReport, console: Console) -> None:
    """Print the report for a person."""
    for outcome in report.outcomes:
        head = f"[bold]{escape(outcome.subject)}[/bold] ({outcome.level}"
        if outcome.status is Status.COMPATIBLE:
            console.print(f"[green]✓[/green] {head}, against {_versions(outcome.versions)})")
        elif outcome.status is Status.NEW:
            console.print(f"[blue]•[/blue] {head}) new subject: nothing to compare with")
        elif outcome.status is Status.INVALID:
            console.print(f"[red]✗[/red] {head}) {escape(outcome.error or 'invalid schema')}")
        else:
            count = len(outcome.messages)
            console.print(
                f"[red]✗[/red] {head}, against {_versions(outcome.versions)}) "
                f"{count} incompatibilit{'ies' if count != 1 else 'y'}"
            )
            for message in outcome.messages:
                console.print(
                    f"    {escape(_where(outcome, message))}  {_against(message)}  "
                    f"[yellow]{message.type}[/yellow] at {escape(message.location)}"
                )
                console.print(f"      {escape(message.message)}")
        for warning in outcome.warnings:
            console.print(f"    [yellow]warning:[/yellow] {escape(warning)}")
    counts = dict.fromkeys(Status, 0)
    for outcome in report.outcomes:
        counts[outcome.status] += 1
    summary = ", ".join(f"{counts[status]} {status}" for status in Status if counts[status])
    console.print(f"Checked against {escape(report.against)}: {summary or 'no subjects'}")


def _message_json(message: Incompatibility) -> dict[str, Any]:
    return {
        "type": str(message.type),
        "location": message.location,
        "message": message.message,
        "version": message.version,
        "direction": None if message.direction is None else str(message.direction),
        "line": message.line,
    }


def render_json(report: CheckReport) -> str:
    """The report as one JSON document."""
    document = {
        "compatible": report.exit_code == 0,
        "against": report.against,
        "subjects": [
            {
                "subject": outcome.subject,
                "file": outcome.file,
                "level": str(outcome.level),
                "status": str(outcome.status),
                "versions": outcome.versions,
                "messages": [_message_json(message) for message in outcome.messages],
                "error": outcome.error,
                "warnings": list(outcome.warnings),
            }
            for outcome in report.outcomes
        ],
    }
    return json.dumps(document, indent=2)


def render_junit(report: CheckReport) -> str:
    """The report as JUnit XML: one test case per subject."""
    failures = sum(o.status is Status.INCOMPATIBLE for o in report.outcomes)
    errors = sum(o.status is Status.INVALID for o in report.outcomes)
    counts = {"tests": str(len(report.outcomes)), "failures": str(failures), "errors": str(errors)}
    root = ElementTree.Element("testsuites", {"name": "eventyard-schemas", **counts})
    suite_name = f"schema compatibility against {report.against}"
    suite = ElementTree.SubElement(root, "testsuite", {"name": suite_name, **counts})
    for outcome in report.outcomes:
        case = ElementTree.SubElement(
            suite, "testcase", classname="schemas", name=outcome.subject, file=outcome.file
        )
        if outcome.status is Status.INCOMPATIBLE:
            count = len(outcome.messages)
            failure = ElementTree.SubElement(
                case,
                "failure",
                type="INCOMPATIBLE",
                message=f"{count} incompatibilit{'ies' if count != 1 else 'y'} at {outcome.level}",
            )
            failure.text = "\n".join(
                f"{_where(outcome, m)} {_against(m)} {m.type} at {m.location}: {m.message}"
                for m in outcome.messages
            )
        elif outcome.status is Status.INVALID:
            error = ElementTree.SubElement(
                case, "error", type="SchemaParseError", message=outcome.error or "invalid schema"
            )
            error.text = outcome.error
        if outcome.warnings:
            ElementTree.SubElement(case, "system-out").text = "\n".join(outcome.warnings)
    body = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}'


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(file: str, line: int | None, title: str, text: str) -> str:
    props = f"file={_escape_property(file)}"
    if line:
        props += f",line={line}"
    props += f",title={_escape_property(title)}"
    return f"::error {props}::{_escape_data(text)}"


def render_github(report: CheckReport) -> str:
    """GitHub Actions workflow commands: one ``::error`` per finding, on its file and line."""
    lines: list[str] = []
    for outcome in report.outcomes:
        if outcome.status is Status.INVALID:
            text = outcome.error or "invalid schema"
            lines.append(_annotation(outcome.file, outcome.error_line, "Invalid Avro schema", text))
        for message in outcome.messages:
            title = f"{outcome.subject}: {message.type}"
            text = f"{_against(message)} at {message.location}: {message.message}"
            lines.append(_annotation(outcome.file, message.line, title, text))
    bad = sum(o.status in (Status.INCOMPATIBLE, Status.INVALID) for o in report.outcomes)
    lines.append(f"eventyard-schemas: {len(report.outcomes)} subject(s), {bad} failing")
    return "\n".join(lines)
