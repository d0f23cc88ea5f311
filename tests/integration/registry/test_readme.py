"""services/schema-registry/README.md runs as written, top down.

"Run it" is followed on a free port instead of 8081, on a fresh database of the stack's
PostgreSQL (what ``eventyard-stack up --only postgres`` and ``eval "$(eventyard-stack env)"``
give a reader): the registry is started with the README's command, and each ``curl -s URL``
line is that GET, whose answer must be the README's. The Python blocks then run in one
namespace against that registry (``EVENTYARD_REGISTRY_URL``, which they read) and print what
the README says they print. The start-up error the README shows is the one a dead database
gives. Commands a test cannot follow (another host's database, Docker) are checked for their
options only.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.readme import ROOT, Block, Readme, blocks

PATH = ROOT / "services" / "schema-registry" / "README.md"
README = Readme(PATH, chained=True)
SCRIPT = Path(sys.executable).with_name("eventyard-schema-registry")
STACK_SETUP = ("uv run eventyard-stack up --only postgres", 'eval "$(uv run eventyard-stack env)"')

NewDatabase = Callable[[], AbstractContextManager[str]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(**extra: str) -> dict[str, str]:
    """This environment without registry settings, plus ``extra``."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("EVENTYARD_REGISTRY_") and k != "EVENTYARD_PG_DSN"
    }
    return {**kept, **extra}


@dataclass(frozen=True)
class Step:
    """A ``$ command`` of a ``console`` block and the output lines shown after it."""

    command: str
    output: list[str]

    @property
    def words(self) -> list[str]:
        return shlex.split(self.command)


def session(block: Block) -> list[Step]:
    steps: list[Step] = []
    lines = block.code.replace("\\\n", " ").splitlines()  # join continued lines
    for line in lines:
        if line.startswith("$ "):
            steps.append(Step(line[2:].split("  #")[0].strip(), []))
        elif steps:
            steps[-1].output.append(line)
    return steps


def console(heading: str) -> list[Block]:
    return [b for b in blocks(PATH, ["console"]) if heading.lower() in b.heading.lower()]


def run_it() -> list[Step]:
    first = console("Run it")[0]
    assert [step.command for step in session(first)][:2] == list(STACK_SETUP), (
        f"{first.location}: the test gives a fresh database where the README starts the stack"
    )
    return session(first)[2:]


def ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()[0]
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the registry did not become ready"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def served(new_database: NewDatabase) -> Iterator[str]:
    """The registry as "Run it" starts it, on a free port and a fresh database: its URL."""
    start = run_it()[0].words
    assert start[:3] == ["uv", "run", "eventyard-schema-registry"], start
    port = str(free_port())
    options = [port if word == "8081" else word for word in start[3:]]
    with new_database() as dsn:
        process = subprocess.Popen(
            [str(SCRIPT), *options],
            env=environment(EVENTYARD_PG_DSN=dsn),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            ready(url, process)
            yield url
        finally:
            process.terminate()
            process.communicate(timeout=30)


def test_run_it_answers_as_shown(served: str) -> None:
    _, *checks = run_it()
    assert checks, "the README shows no request to the registry it started"
    for step in checks:
        assert step.words[:2] == ["curl", "-s"], f"teach this test to follow {step.command}"
        (address,) = step.words[2:]
        url = served + address.removeprefix("localhost:8081")
        assert httpx.get(url).text.strip() == "\n".join(step.output).strip()


@pytest.mark.parametrize("block", README.params())
def test_readme_block(block: Block, served: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTYARD_REGISTRY_URL", served)
    README.run(block)


def test_an_unusable_database_stops_it_with_the_line_shown() -> None:
    (shown,) = [b for b in blocks(PATH, ["text"]) if "cannot use PostgreSQL" in b.code]
    port = free_port()  # nothing listens there
    finished = subprocess.run(
        [str(SCRIPT), "--dsn", f"postgresql://postgres@127.0.0.1:{port}/platform"],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    pattern = re.escape(shown.code.strip().replace(":5432/", f":{port}/")).replace(r"\.\.\.", ".*")
    assert re.fullmatch(pattern, finished.stderr.strip()), finished.stderr


def test_the_other_commands_use_options_the_registry_has() -> None:
    shown = subprocess.run(
        [str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    commands = [step.words for b in console("") for step in session(b)]
    registry = [w for w in commands if "eventyard-schema-registry" in w]
    assert len(registry) >= 2
    for words in registry:
        for option in (w.split("=")[0] for w in words if w.startswith("--")):
            assert option in shown, f"{option} is not an option of eventyard-schema-registry"
