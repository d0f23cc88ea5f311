"""A schema file's earlier versions from git history (subprocess git; the only git I/O)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from eventyard.schemas._exceptions import HistoryError

__all__ = ["GitHistory", "find_repo_root"]

#: Tried in order when no ref is given: the upstream main, then the local one.
DEFAULT_REFS = ("origin/main", "main")


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
        )
    except FileNotFoundError:
        raise HistoryError("git is not installed (needed for --against-git)") from None
    except subprocess.TimeoutExpired:
        raise HistoryError(f"git {' '.join(args)} took over 60 s") from None
    if done.returncode != 0:
        raise HistoryError(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
    return done.stdout


def find_repo_root(path: Path) -> Path:
    """The top of the git work tree that holds ``path``."""
    start = path if path.is_dir() else path.parent
    return Path(_git(start, "rev-parse", "--show-toplevel").strip())


@dataclass(frozen=True, slots=True)
class GitHistory:
    """Versions of files as committed on ``ref`` in the repository at ``root``."""

    root: Path
    ref: str

    @classmethod
    def open(cls, path: Path, ref: str | None) -> GitHistory:
        """The repository holding ``path``, compared at ``ref`` (default: origin/main, main)."""
        root = find_repo_root(path)
        candidates = (ref,) if ref else DEFAULT_REFS
        for candidate in candidates:
            try:
                _git(root, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
            except HistoryError:
                continue
            return cls(root=root, ref=candidate)
        tried = ", ".join(candidates)
        raise HistoryError(f"no such git ref: {tried} (pass --against-git REF)")

    def versions(self, file: Path) -> list[str]:
        """Each committed content of ``file`` reachable from the ref, oldest first.

        Renames are followed. A content committed again later (a revert) counts once, at its
        latest position, as a registry keeps one version per distinct schema.
        """
        relative = file.resolve().relative_to(self.root.resolve()).as_posix()
        log = _git(
            self.root,
            "log",
            "--follow",
            "--format=%x00%H",
            "--name-status",
            self.ref,
            "--",
            relative,
        )
        texts: list[str] = []
        for entry in log.split("\x00")[1:]:
            lines = [line for line in entry.splitlines() if line.strip()]
            if len(lines) < 2:
                continue
            commit, status = lines[0].strip(), lines[-1].split("\t")
            if status[0].startswith("D"):
                continue
            path_then = status[-1]
            texts.append(_git(self.root, "show", f"{commit}:{path_then}"))
        seen: set[str] = set()
        unique: list[str] = []
        for text in texts:  # newest first: keep each content at its latest position
            if text not in seen:
                seen.add(text)
                unique.append(text)
        unique.reverse()
        return unique
