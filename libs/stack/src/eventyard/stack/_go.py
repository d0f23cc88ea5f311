"""Building a Go program once from the Go module proxy, cached as one binary per version."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eventyard.stack._errors import InstallFailed, PrerequisiteMissing
from eventyard.stack._process import read_log_tail

__all__ = ["GoBuild", "find_go", "go_build"]

GO_HINT = (
    "install Go 1.24+ (https://go.dev/dl, unpacked into /usr/local/go) "
    "or put its bin folder on PATH"
)
_HEARTBEAT_S = 30.0


def find_go() -> str:
    """The ``go`` program on PATH or in ``/usr/local/go/bin``; raise naming what to install."""
    found = shutil.which("go") or shutil.which("go", path="/usr/local/go/bin")
    if found is None:
        raise PrerequisiteMissing("go", GO_HINT)
    return found


@dataclass(frozen=True, kw_only=True)
class GoBuild:
    """One program built from a scratch module: ``go get -tool package@version``, then build.

    ``replaces`` repeat the main module's own ``replace`` lines, which a dependency's go.mod
    cannot pass on (and which ``go install package@version`` refuses).
    """

    what: str
    package: str
    version: str
    target: Path
    replaces: tuple[str, ...] = ()


def _run(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    what: str,
    report: Callable[[str], None],
    label: str,
) -> None:
    report(f"{what}: {label}")
    started = time.monotonic()
    with log_path.open("ab") as log:
        log.write(f"\n=== {label}: {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        while True:
            try:
                code = process.wait(timeout=_HEARTBEAT_S)
                break
            except subprocess.TimeoutExpired:
                report(f"{what}: still {label} ({time.monotonic() - started:.0f} s)")
    if code != 0:
        raise InstallFailed(
            what,
            f"{argv[0]} exited with {code}; last lines of {log_path}:\n"
            + read_log_tail(log_path, 15),
        )


def go_build(
    build: GoBuild, *, cache_dir: Path, log_path: Path, report: Callable[[str], None]
) -> Path:
    """Build ``build.target`` unless it exists; the binary appears only when complete.

    Modules and build cache live under ``cache_dir`` (``go`` and ``go-build``), so later builds
    and other versions reuse them. The compile runs ``nice``d: it is CPU-heavy.
    """
    if build.target.is_file():
        return build.target
    go = find_go()
    env = {
        **os.environ,
        "GOPATH": str(cache_dir / "go"),
        "GOCACHE": str(cache_dir / "go-build"),
        "GOFLAGS": "-modcacherw -buildvcs=false",
        "PATH": f"{Path(go).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    nice = [found, "-n", "10"] if (found := shutil.which("nice")) else []
    build.target.parent.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    report(f"{build.what}: building with {go} once (a few minutes); log {log_path}")
    started = time.monotonic()
    staging = build.target.with_name(f".{build.target.name}.partial")
    with tempfile.TemporaryDirectory(prefix="gobuild-", dir=build.target.parent) as scratch:
        module = Path(scratch)
        steps: list[tuple[str, list[str]]] = [
            ("creating the build module", [go, "mod", "init", "eventyardbuild"]),
            *(
                ("pinning a replaced module", [go, "mod", "edit", f"-replace={replace}"])
                for replace in build.replaces
            ),
            (
                f"downloading {build.package}@{build.version} and its modules",
                [go, "get", "-tool", f"{build.package}@{build.version}"],
            ),
            (
                "compiling",
                [
                    *nice,
                    go,
                    "build",
                    "-trimpath",
                    "-ldflags=-s -w",
                    "-o",
                    str(staging),
                    build.package,
                ],
            ),
        ]
        try:
            for label, argv in steps:
                _run(
                    argv,
                    cwd=module,
                    env=env,
                    log_path=log_path,
                    what=build.what,
                    report=report,
                    label=label,
                )
            staging.rename(build.target)
        finally:
            staging.unlink(missing_ok=True)
    report(f"{build.what}: built in {time.monotonic() - started:.0f} s -> {build.target}")
    return build.target
