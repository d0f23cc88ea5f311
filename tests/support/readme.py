"""Run the fenced Python blocks of a Markdown file (a README) as tests, one test per block.

    from tests.support.readme import Block, Readme

    README = Readme(ROOT / "libs" / "kafka" / "README.md")

    @pytest.mark.parametrize("block", README.params())
    def test_readme_block(block: Block) -> None:
        README.run(block)

Conventions in the Markdown:

- A ```` ```python ```` block runs. A ```` ```py ```` block is a fragment (it names things the
  README does not define, or would leave something running): it is only compiled.
- A block followed by a paragraph that is just ``prints`` and then a ```` ```text ```` block
  must print that text: its output has to end with it (logs may come first).

Each block is compiled with the README's path as its file name and its README line numbers, so
a traceback, and pytest's failure report, show ``libs/kafka/README.md:27`` and the README's own
lines; the exception also gets a note naming the failing README line. Parametrized test ids are
``libs/kafka/README.md:22`` (the line after the opening fence).

A `Readme` made with ``chained=True`` runs its blocks in one namespace, as a reader would top
down: running a block first runs the earlier ones that have not run yet (so ``-k`` one block
works), and a block whose predecessor failed fails naming it.
"""

from __future__ import annotations

import collections
import contextlib
import io
import linecache
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any, TextIO, cast

import pytest

ROOT = Path(__file__).resolve().parents[2]

# An opening fence: up to three spaces of indent, three or more backticks or tildes, and an info
# string whose first word is the language.
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<title>.*?)[ \t#]*$")
RUNNABLE = frozenset({"python", "python3"})
FRAGMENT = frozenset({"py"})
PYTHON = RUNNABLE | FRAGMENT


@dataclass(frozen=True)
class Block:
    """One fenced code block: its code and where it is in the file."""

    path: Path
    line: int  # 1-based number of the block's first code line (the one after the fence)
    code: str
    info: str = ""
    heading: str = ""  # the title of the nearest heading above the block
    prints: str | None = None  # the documented output (a "prints" paragraph, a text block)

    @property
    def language(self) -> str:
        words = self.info.split()
        return words[0].lower() if words else ""

    @property
    def fragment(self) -> bool:
        """A ``py`` block: only compiled."""
        return self.language in FRAGMENT

    @property
    def location(self) -> str:
        """``libs/kafka/README.md:22`` (relative to the repository when it is inside it)."""
        path = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{path}:{self.line}"

    @property
    def id(self) -> str:
        """The pytest id: the location."""
        return self.location

    def __str__(self) -> str:
        return self.location


def blocks(path: Path | str, languages: Iterable[str] | None = None) -> list[Block]:
    """The fenced blocks of ``path`` (those whose language is in ``languages``; all if None)."""
    path = Path(path).resolve()
    wanted = None if languages is None else {language.lower() for language in languages}
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    heading = ""
    prose: list[str] = []  # non-blank lines since the last fence
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            title = _HEADING.match(lines[index])
            if title is not None:
                heading = title["title"]
            if lines[index].strip():
                prose.append(lines[index].strip())
            index += 1
            continue
        fence, indent, info = opening["fence"], len(opening["indent"]), opening["info"].strip()
        start = index + 2  # 1-based number of the line after the fence
        body: list[str] = []
        index += 1
        while index < len(lines) and not _closes(lines[index], fence):
            line = lines[index]
            # A fence indented in a list item: drop (up to) that much indent from its lines.
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])
            index += 1
        index += 1  # past the closing fence (or the end of the file)
        block = Block(path, start, "\n".join(body) + "\n", info, heading)
        if found and block.language == "text" and _says_prints(prose):
            found[-1] = _with_prints(found[-1], block.code)
        if wanted is None or block.language in wanted:
            found.append(block)
        prose = []
    return [b for b in found if wanted is None or b.language in wanted]


def _closes(line: str, fence: str) -> bool:
    stripped = line.lstrip(" ")
    return (
        len(line) - len(stripped) <= 3
        and stripped.startswith(fence[0] * len(fence))
        and not stripped.strip().strip(fence[0])
    )


def _says_prints(prose: list[str]) -> bool:
    return len(prose) == 1 and prose[0].rstrip(":").lower() == "prints"


def _with_prints(block: Block, text: str) -> Block:
    return Block(block.path, block.line, block.code, block.info, block.heading, text)


def python_blocks(path: Path | str) -> list[Block]:
    """The Python blocks of ``path``: ``python`` (run) and ``py`` (fragments), in file order."""
    return blocks(path, PYTHON)


def compile_block(block: Block) -> CodeType:
    """Compile ``block`` so its code objects report the README's path and line numbers.

    The code is compiled as written, then every code object's first line is moved to the
    block's place in the file (line tables are relative to it): tracebacks name README lines,
    and pytest shows the block's own source rather than the README from its top.
    """
    filename = str(block.path)
    offset = block.line - 1
    try:
        code = compile(block.code, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        if error.lineno is not None:
            error.lineno += offset
        if error.end_lineno is not None:
            error.end_lineno += offset
        raise
    linecache.checkcache(filename)
    return _shift(code, offset)


def _shift(code: CodeType, offset: int) -> CodeType:
    consts = tuple(_shift(c, offset) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_firstlineno=code.co_firstlineno + offset, co_consts=consts)


def failing_location(block: Block, error: BaseException) -> str:
    """``path:line`` of the innermost frame of ``error``'s traceback that runs ``block``."""
    line = block.line
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == str(block.path):
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return f"{Block(block.path, line, '').location}"


def run_block(
    block: Block, namespace: dict[str, Any] | None = None, *, name: str = "readme"
) -> dict[str, Any]:
    """Execute ``block`` in ``namespace`` (a fresh one by default); return the namespace.

    A block that does not compile fails the test naming its README line. An exception raised
    while it runs gets a note naming the README line that raised it.
    """
    __tracebackhide__ = True
    if namespace is None:
        namespace = {}
    namespace.setdefault("__name__", name)
    namespace.setdefault("__file__", str(block.path))
    try:
        code = compile_block(block)
    except SyntaxError as error:
        where = Block(block.path, error.lineno or block.line, "").location
        pytest.fail(f"{where}: the README block does not compile: {error.msg}", pytrace=False)
    try:
        exec(code, namespace)  # noqa: S102 - running the documentation is the point
    except BaseException as error:
        error.add_note(f"(in the README block at {failing_location(block, error)})")
        raise
    return namespace


class _Output:
    """``sys.stdout`` while a README's block runs, and for whatever keeps it afterwards (a logger
    in a thread the block started, say).

    Writes reach the real stream only while a block of the README runs, under a lock; between
    blocks they wait (the last ones) and go out when the next block starts. A thread that outlives
    its test so never writes to pytest's capture while pytest reads and truncates it (the two at
    once can crash the interpreter). While a block runs, a copy of its output is kept.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stream: Any = None
        self._copy: io.StringIO | None = None
        self._pending: collections.deque[str] = collections.deque(maxlen=10_000)

    def write(self, text: str) -> int:
        with self._lock:
            if self._copy is not None:
                self._copy.write(text)
            if self._stream is not None:
                self._stream.write(text)
            else:
                self._pending.append(text)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._stream is not None:
                self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(sys.__stdout__, name)

    @contextlib.contextmanager
    def capturing(self) -> Iterator[io.StringIO]:
        """Send this output (and what waited) to the current ``sys.stdout``; yield the copy."""
        copy = io.StringIO()
        with self._lock:
            self._stream, self._copy = sys.stdout, copy
            while self._pending:
                self._stream.write(self._pending.popleft())
        try:
            with contextlib.redirect_stdout(cast("TextIO", self)):
                yield copy
        finally:
            with self._lock:
                self._stream = self._copy = None

    def release(self) -> None:
        """Write what waited to the current ``sys.stdout`` (call it from the main thread)."""
        with self._lock:
            while self._pending:
                sys.stdout.write(self._pending.popleft())


@dataclass
class Ran:
    """What running a block left: its namespace and what it printed."""

    block: Block
    namespace: dict[str, Any]
    out: str


@dataclass
class Readme:
    """The Python blocks of one Markdown file, to run as tests (see the module's docstring)."""

    path: Path
    chained: bool = False
    blocks: list[Block] = field(init=False)
    namespace: dict[str, Any] = field(init=False, default_factory=dict)
    _ran: set[int] = field(init=False, default_factory=set)
    _failed: Block | None = field(init=False, default=None)
    _output: _Output = field(init=False, default_factory=_Output)

    def __post_init__(self) -> None:
        self.path = Path(self.path).resolve()
        self.blocks = python_blocks(self.path)

    def runnable(self) -> list[Block]:
        return [b for b in self.blocks if not b.fragment]

    def fragments(self) -> list[Block]:
        return [b for b in self.blocks if b.fragment]

    def section(self, title: str) -> list[Block]:
        """The blocks under the nearest heading whose title contains ``title``."""
        found = [b for b in self.blocks if title.lower() in b.heading.lower()]
        assert found, f"{self.path}: no Python block under a heading containing {title!r}"
        return found

    def block(self, *, containing: str) -> Block:
        """The one block whose code contains ``containing``."""
        found = [b for b in self.blocks if containing in b.code]
        assert len(found) == 1, f"{self.path}: {len(found)} Python blocks contain {containing!r}"
        return found[0]

    def params(self, blocks_: Iterable[Block] | None = None) -> list[Any]:
        """``pytest.param`` per block (all by default), with ``path:line`` ids."""
        chosen = self.blocks if blocks_ is None else list(blocks_)
        assert chosen, f"{self.path}: no Python blocks"
        return params(chosen)

    def reset(self) -> None:
        """Forget what ran: a fresh namespace for a chained README."""
        self.namespace = {}
        self._ran.clear()
        self._failed = None
        self._output.release()

    def run(self, block: Block, namespace: dict[str, Any] | None = None) -> Ran:
        """Run ``block`` (a fragment is only compiled) and check what it prints.

        Unchained, the block runs in ``namespace`` or a fresh one. Chained, it runs in the
        README's namespace after the earlier blocks that have not run yet.
        """
        __tracebackhide__ = True
        if block.fragment:
            try:
                compile_block(block)
            except SyntaxError as error:
                where = Block(block.path, error.lineno or block.line, "").location
                pytest.fail(f"{where}: the README fragment does not compile: {error.msg}")
            return Ran(block, {}, "")
        if not self.chained:
            return self._run(block, {} if namespace is None else namespace)
        assert namespace is None, "a chained README runs in its own namespace"
        for earlier in self.runnable():
            if earlier.line >= block.line:
                break
            if earlier.line not in self._ran:
                self._run_chained(earlier)
        return self._run_chained(block)

    def run_all(self) -> None:
        """Run, in order, the blocks of a chained README that have not run yet."""
        __tracebackhide__ = True
        assert self.chained, "run_all is for a chained README"
        for block in self.runnable():
            if block.line not in self._ran:
                self._run_chained(block)

    def _run_chained(self, block: Block) -> Ran:
        __tracebackhide__ = True
        if self._failed is not None:
            pytest.fail(
                f"{block.location} runs after {self._failed.location}, which failed",
                pytrace=False,
            )
        try:
            ran = self._run(block, self.namespace)
        except BaseException:
            self._failed = block
            raise
        self._ran.add(block.line)
        return ran

    def _run(self, block: Block, namespace: dict[str, Any]) -> Ran:
        __tracebackhide__ = True
        with self._output.capturing() as copy:
            run_block(block, namespace)
        out = copy.getvalue()
        if block.prints is not None:
            assert out.endswith(block.prints), (
                f"{block.location} should print (as the README says)\n{block.prints}"
                f"but printed\n{out}"
            )
        return Ran(block, namespace, out)


def params(blocks_: Iterable[Block]) -> list[Any]:
    """``pytest.param`` per block, with ``path:line`` ids, for ``parametrize``."""
    return [pytest.param(block, id=block.id) for block in blocks_]


__all__ = [
    "FRAGMENT",
    "PYTHON",
    "ROOT",
    "RUNNABLE",
    "Block",
    "Ran",
    "Readme",
    "blocks",
    "compile_block",
    "failing_location",
    "params",
    "python_blocks",
    "run_block",
]
