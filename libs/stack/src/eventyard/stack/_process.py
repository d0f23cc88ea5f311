"""Detached OS processes tracked by pid files that survive the CLI that started them.

A pid file holds the pid and the process start time (from ``/proc``), so a stale file left by
a crash, or a pid reused by another program, is never mistaken for a running component.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

__all__ = ["PidFile", "as_account", "read_log_tail", "spawn"]


def _start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` in clock ticks, or None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in {"Z", "X"}:
        _reap(pid)
        return None
    return int(fields[19])


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` is still running (zombies, already dead, do not
    count: nothing but their parent can remove them)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":  # state, ppid, pgrp
            return True
    return False


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


@dataclass(frozen=True, kw_only=True)
class PidFile:
    """The pid file of one component."""

    path: Path

    def write(self, pid: int) -> None:
        """Record ``pid`` with its start time."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"pid": pid, "start": _start_time(pid)}))

    def pid(self) -> int | None:
        """The recorded pid if that very process still runs; clears a stale file."""
        try:
            record = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        pid = record.get("pid")
        if not isinstance(pid, int):
            self.clear()
            return None
        started = _start_time(pid)
        if started is None or started != record.get("start"):
            self.clear()
            return None
        return pid

    def clear(self) -> None:
        """Remove the file."""
        self.path.unlink(missing_ok=True)

    def signal(self, sig: signal.Signals, *, group: bool = False) -> bool:
        """Send ``sig`` to the recorded process (and its process group); False if not running."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        return True

    def kill_group(self, timeout_s: float) -> bool:
        """SIGKILL the recorded process and its process group, as a crash would, and wait until
        every process of the group has exited (a PostgreSQL backend still dying keeps the data
        folder's lock file and shared memory busy); False if it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        self.wait_gone(timeout_s)
        deadline = time.monotonic() + timeout_s
        while _group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return True

    def wait_gone(self, timeout_s: float) -> bool:
        """Wait until the recorded process has exited; True if it did in time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pid = self.pid()
            if pid is None:
                return True
            _reap(pid)
            time.sleep(0.05)
        return self.pid() is None


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    pid_file: PidFile,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> int:
    """Start ``argv`` in its own session with output appended to ``log_path``; return its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(
            f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode()
        )
        log.flush()
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
            **as_account(user),
        )
    pid_file.write(process.pid)
    return process.pid


class _Account(TypedDict, total=False):
    user: str
    group: int
    extra_groups: list[int]


def as_account(user: str | None) -> _Account:
    """``subprocess`` arguments that run a child as ``user`` with that account's own group.

    Only the uid would change otherwise: the child would keep root's group and its folders
    would be judged by their group bits.
    """
    if user is None:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def read_log_tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, or an empty string."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
