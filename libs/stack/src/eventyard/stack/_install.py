"""Getting what a component needs: checking programs, Maven Central fetches, Debian packages."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from eventyard.stack._errors import InstallFailed, PrerequisiteMissing

__all__ = ["find_pg_bin_dir", "maven_fetch", "require_program"]

INSTALL_HINTS = {
    "java": "install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)",
    "mvn": "install Apache Maven (Debian: apt-get install maven)",
}


def require_program(name: str) -> str:
    """Return the path of ``name`` on PATH, or raise naming what to install."""
    found = shutil.which(name)
    if found is None:
        raise PrerequisiteMissing(name, INSTALL_HINTS.get(name, f"install {name}"))
    return found


def _pg_bin_candidates() -> list[Path]:
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return []
    versions = sorted(
        (p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True
    )
    # PostgreSQL 15 is what the stack is tested with; take it first, then the newest.
    versions.sort(key=lambda p: p.name != "15")
    return [v / "bin" for v in versions]


def find_pg_bin_dir(configured: Path | None, *, log_path: Path) -> Path:
    """Find PostgreSQL's server binaries; install Debian's ``postgresql`` when root and missing."""
    if configured is not None:
        if not (configured / "initdb").exists():
            raise PrerequisiteMissing(
                f"initdb in {configured}", "point EVENTYARD_PG_BIN_DIR at PostgreSQL's bin folder"
            )
        return configured
    for candidate in _pg_bin_candidates():
        if (candidate / "initdb").exists() and (candidate / "postgres").exists():
            return candidate
    if os.geteuid() == 0 and shutil.which("apt-get"):
        _apt_install("postgresql", log_path)
        for candidate in _pg_bin_candidates():
            if (candidate / "initdb").exists():
                return candidate
    raise PrerequisiteMissing(
        "PostgreSQL server (initdb, postgres)",
        "install PostgreSQL 15 (Debian: apt-get install postgresql) "
        "or set EVENTYARD_PG_BIN_DIR to its bin folder",
    )


def _apt_install(package: str, log_path: Path) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with log_path.open("ab") as log:
        for argv in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", package]):
            done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
            if done.returncode != 0:
                raise InstallFailed(package, f"{' '.join(argv)} failed, see {log_path}")


def maven_fetch(*, what: str, pom: Path, goals: list[str], target: Path, log_path: Path) -> None:
    """Run Maven on ``pom`` to fill ``target`` (given as ``-Dtarget.dir``), atomically.

    The files land in a temporary sibling first and are renamed into place, so an interrupted
    fetch never leaves a half-filled folder that later runs would trust.
    """
    if target.is_dir():
        return
    mvn = require_program("mvn")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    argv = [
        mvn,
        "-B",
        "-q",
        "-Dstyle.color=never",
        "-f",
        str(pom),
        f"-Dtarget.dir={staging}",
        *goals,
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n=== fetching {what}: {' '.join(argv)}\n".encode())
        log.flush()
        done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0 or not staging.is_dir():
        shutil.rmtree(staging, ignore_errors=True)
        raise InstallFailed(
            what,
            f"Maven exited with {done.returncode}; see {log_path} (is Maven Central reachable?)",
        )
    staging.rename(target)
