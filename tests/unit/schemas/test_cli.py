"""The eventyard-schemas command on a temporary git repository with schema history."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Parses only XML this test suite's own command just wrote.
from xml.etree import ElementTree

import httpx
import pytest
from typer.testing import CliRunner

from eventyard.schemas._cli import create_app
from eventyard.schemas._registry import RegistryClient
from eventyard.schemas.testing import FakeRegistry

SUBJECT = "orders.order-created"


def record(*fields: dict[str, Any]) -> str:
    schema = {"type": "record", "name": "OrderCreated", "namespace": "acme", "fields": list(fields)}
    return json.dumps(schema, indent=2) + "\n"


ORDER_ID = {"name": "order_id", "type": "string"}
AMOUNT = {"name": "amount", "type": "long"}
NOTE = {"name": "note", "type": ["null", "string"], "default": None}
EMAIL = {"name": "email", "type": "string"}


class Repo:
    """A git repository with a schemas/ folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.schemas = root / "schemas"
        self.schemas.mkdir()
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        command = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args]
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, check=True)
        return done.stdout

    def write(self, subject: str, text: str) -> Path:
        path = self.schemas / subject / "schema.avsc"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def commit(self, subject: str, text: str, message: str = "change") -> None:
        self.write(subject, text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def levels(self, text: str) -> None:
        (self.schemas / "compatibility.toml").write_text(text, encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(tmp_path)
    made = Repo(tmp_path)
    made.commit(SUBJECT, record(ORDER_ID, AMOUNT), "v1")
    made.commit(SUBJECT, record(ORDER_ID, AMOUNT, NOTE), "v2")
    return made


Run = Callable[..., Any]


@pytest.fixture
def run() -> Run:
    runner = CliRunner()
    app = create_app()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, list(args))

    return invoke


def test_unchanged_schema_is_compatible(repo: Repo, run: Run) -> None:
    result = run("check")
    assert result.exit_code == 0, result.output
    assert f"✓ {SUBJECT} (BACKWARD, against 2 versions)" in result.output


def test_breaking_change_exits_1_with_file_line_and_reason(repo: Repo, run: Run) -> None:
    repo.write(SUBJECT, record(ORDER_ID, AMOUNT, NOTE, EMAIL))
    result = run("check")
    assert result.exit_code == 1
    assert f"schemas/{SUBJECT}/schema.avsc:" in result.output
    assert "READER_FIELD_MISSING_DEFAULT_VALUE at /fields/3" in result.output
    assert "The new schema has field 'email'" in result.output


def test_transitive_level_from_config_reaches_older_versions(repo: Repo, run: Run) -> None:
    repo.commit(SUBJECT, record(ORDER_ID, NOTE), "v3: amount dropped")
    repo.write(SUBJECT, record(ORDER_ID, NOTE, {"name": "amount", "type": "long"}))
    assert run("check").exit_code == 1  # BACKWARD: v3 lacks amount, and it has no default
    repo.write(SUBJECT, record(ORDER_ID, NOTE))
    assert run("check").exit_code == 0
    repo.levels(f'[subjects."{SUBJECT}"]\nlevel = "FORWARD_TRANSITIVE"\n')
    result = run("check", "--format", "json")
    assert result.exit_code == 1  # v1 and v2 readers need amount
    document = json.loads(result.output)
    versions = {m["version"] for m in document["subjects"][0]["messages"]}
    assert versions == {1, 2}
    assert document["subjects"][0]["level"] == "FORWARD_TRANSITIVE"


def test_level_option_overrides_config(repo: Repo, run: Run) -> None:
    repo.write(SUBJECT, record(ORDER_ID, AMOUNT, NOTE, EMAIL))
    assert run("check", "--level", "FORWARD").exit_code == 0
    assert run("check", "--level", "NONE").exit_code == 0
    assert run("check", "--level", "SIDEWAYS").exit_code == 2


def test_json_format(repo: Repo, run: Run) -> None:
    text = record(ORDER_ID, {"name": "amount", "type": "int"}, NOTE)
    repo.write(SUBJECT, text)
    type_line = text.splitlines().index('      "type": "int"') + 1
    result = run("check", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["compatible"] is False
    assert document["against"] == "git main"
    (subject,) = document["subjects"]
    assert subject["status"] == "incompatible"
    assert subject["versions"] == 2
    first = subject["messages"][0]
    assert first["type"] == "TYPE_MISMATCH"
    assert first["location"] == "/fields/1/type"
    assert first["version"] == 2
    assert first["direction"] == "BACKWARD"
    assert first["line"] == type_line  # where amount's type is written


def test_junit_format(repo: Repo, run: Run) -> None:
    repo.write(SUBJECT, record(ORDER_ID, AMOUNT, NOTE, EMAIL))
    repo.write("customers.registered", record(ORDER_ID))
    result = run("check", "--format", "junit")
    assert result.exit_code == 1
    root = ElementTree.fromstring(result.output)  # noqa: S314 - our own output, see import
    assert root.tag == "testsuites"
    assert root.attrib["tests"] == "2"
    assert root.attrib["failures"] == "1"
    cases = {case.attrib["name"]: case for case in root.iter("testcase")}
    assert cases[SUBJECT].find("failure") is not None
    assert cases["customers.registered"].find("failure") is None


def test_github_format_annotates_the_offending_line(repo: Repo, run: Run) -> None:
    text = record(ORDER_ID, AMOUNT, NOTE, EMAIL)
    repo.write(SUBJECT, text)
    field_line = text.splitlines().index('      "name": "email",')  # the line before: "{"
    result = run("check", "--format", "github")
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert first.startswith(f"::error file=schemas/{SUBJECT}/schema.avsc,line={field_line},")
    assert "READER_FIELD_MISSING_DEFAULT_VALUE::" in first
    assert "%3A" in first.split("::")[1]  # ':' escaped inside the title property


def test_invalid_schema_exits_2_naming_file_and_error(repo: Repo, run: Run) -> None:
    repo.write(SUBJECT, '{\n  "type": "record",\n  "name": "OrderCreated"\n  "fields": []\n}\n')
    result = run("check")
    assert result.exit_code == 2
    assert (
        f"schemas/{SUBJECT}/schema.avsc:4:3: invalid Avro schema: not valid JSON" in result.output
    )
    github = run("check", "--format", "github")
    assert github.exit_code == 2
    assert github.output.startswith(f"::error file=schemas/{SUBJECT}/schema.avsc,line=4,")


def test_new_subject_has_nothing_to_compare(repo: Repo, run: Run) -> None:
    repo.write("customers.registered", record(ORDER_ID))
    result = run("check", "customers.registered")
    assert result.exit_code == 0
    assert "new subject" in result.output


def test_against_git_ref_and_renames(repo: Repo, run: Run) -> None:
    repo.git("branch", "release")
    repo.commit(SUBJECT, record(ORDER_ID, NOTE), "v3 on main")
    repo.write(SUBJECT, record(ORDER_ID, NOTE))
    assert run("check", "--against-git", "release").exit_code == 0  # vs v2: amount removed
    assert run("check", "--against-git", "release", "--level", "FORWARD").exit_code == 1
    repo.git("mv", f"schemas/{SUBJECT}", "schemas/orders.created")
    repo.git("commit", "-q", "-m", "rename")
    result = run("check", "orders.created", "--format", "json")
    assert json.loads(result.output)["subjects"][0]["versions"] == 3


def test_usage_errors_exit_2(repo: Repo, run: Run) -> None:
    assert run("check", "--against-git", "no-such-ref").exit_code == 2
    assert run("check", "no.such.subject").exit_code == 2
    assert run("check", "--schemas-dir", "missing").exit_code == 2
    both = run("check", "--against-git", "main", "--against-registry", "http://r")
    assert both.exit_code == 2
    repo.levels("[global\n")
    assert run("check").exit_code == 2


def test_default_ref_prefers_origin_main(repo: Repo, run: Run) -> None:
    repo.git("update-ref", "refs/remotes/origin/main", "HEAD~1")  # origin is one commit behind
    result = run("check", "--format", "json")
    document = json.loads(result.output)
    assert document["against"] == "git origin/main"
    assert document["subjects"][0]["versions"] == 1


def registry_app(registry: FakeRegistry) -> Any:
    return create_app(
        registry_factory=lambda url: RegistryClient(url, transport=registry.transport)
    )


def test_check_against_registry(repo: Repo) -> None:
    registry = FakeRegistry()
    registry.add(SUBJECT, record(ORDER_ID, AMOUNT))
    repo.write(SUBJECT, record(ORDER_ID, AMOUNT, NOTE, EMAIL))
    app = registry_app(registry)
    result = CliRunner().invoke(app, ["check", "--against-registry", "http://registry.test"])
    assert result.exit_code == 1  # email is new and has no default: v1's data lacks it
    assert "against 1 version)" in result.output
    assert "registry http://registry.test" in result.output
    assert "FORWARD" not in result.output


def test_register_and_dry_run(repo: Repo) -> None:
    registry = FakeRegistry()
    registry.add(SUBJECT, record(ORDER_ID, AMOUNT))
    app = registry_app(registry)
    runner = CliRunner()
    base = ["register", "--registry", "http://registry.test"]
    dry = runner.invoke(app, [*base, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would register as version 2" in dry.output
    assert registry.subjects[SUBJECT][-1][1] == record(ORDER_ID, AMOUNT)  # nothing registered
    done = runner.invoke(app, [*base, "--format", "json"])
    assert done.exit_code == 0
    assert json.loads(done.output)["subjects"][0]["status"] == "ok"
    assert len(registry.subjects[SUBJECT]) == 2
    again = runner.invoke(app, [*base, "--dry-run"])
    assert "already registered as version 2" in again.output


def test_register_incompatible_exits_1(repo: Repo) -> None:
    registry = FakeRegistry()
    registry.add(SUBJECT, record(ORDER_ID, AMOUNT, NOTE, EMAIL))
    repo.write(SUBJECT, record(ORDER_ID, AMOUNT, NOTE, {"name": "phone", "type": "string"}))
    app = registry_app(registry)
    runner = CliRunner()
    base = ["register", "--registry", "http://registry.test"]
    dry = runner.invoke(app, [*base, "--dry-run"])
    assert dry.exit_code == 1
    assert "would be rejected at BACKWARD" in dry.output
    real = runner.invoke(app, base)
    assert real.exit_code == 1
    assert "rejected by the registry" in real.output
    assert len(registry.subjects[SUBJECT]) == 1


def test_registry_down_exits_3(repo: Repo) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app = create_app(
        registry_factory=lambda url: RegistryClient(url, transport=httpx.MockTransport(down))
    )
    result = CliRunner().invoke(app, ["check", "--against-registry", "http://registry.test"])
    assert result.exit_code == 3
    assert "retry later" in result.output
