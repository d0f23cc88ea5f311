"""Stack start-up times and memory: writes bench/results/stack.json.

- ``cold_up_s``: ``up`` of every component with an empty jar cache, an empty Maven local
  repository (everything downloaded from Maven Central) and no data.
- ``warm_up_s``: ``down`` then ``up`` again: jars cached, data present.
- ``rss_mb`` / ``pss_mb`` per component, read from /proc after the warm start. PostgreSQL runs
  several processes sharing memory: RSS counts shared pages once per process, PSS splits them,
  so the PSS total is the stack's real footprint.

The benchmark runs in its own state folder and cache, on free ports, beside any running stack.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

from eventyard.stack import Stack, StackSettings

RESULTS = Path(__file__).parent / "results" / "stack.json"


def _group_memory_mb(leader: int) -> tuple[float, float]:
    """Summed RSS and PSS (MiB) of every process in ``leader``'s process group."""
    rss = pss = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != leader:
                continue
            for line in (entry / "smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except (OSError, ProcessLookupError):
            continue
    return round(rss / 1024, 1), round(pss / 1024, 1)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="eventyard-bench-") as scratch:
        root = Path(scratch)
        root.chmod(0o755)  # PostgreSQL runs as its own account and must reach its data folder
        os.environ["MAVEN_OPTS"] = f"-Dmaven.repo.local={root / 'm2'}"
        settings = StackSettings(state_dir=root / "state", cache_dir=root / "cache")
        stack = Stack(settings, report=lambda message: print(f"  {message}"))
        try:
            print("cold up (empty caches, downloads from Maven Central)")
            started = time.monotonic()
            cold = stack.up()
            cold_up_s = time.monotonic() - started
            stack.down()
            print("warm up")
            started = time.monotonic()
            warm = stack.up()
            warm_up_s = time.monotonic() - started
            time.sleep(5)  # let the JVMs settle after start-up
            memory = {s.name: _group_memory_mb(s.pid) for s in warm if s.pid is not None}
        finally:
            stack.down(purge=True)
    result = {
        "cold_up_s": round(cold_up_s, 1),
        "warm_up_s": round(warm_up_s, 1),
        "cold_up_per_component_s": {s.name: round(s.started_s or 0, 1) for s in cold},
        "warm_up_per_component_s": {s.name: round(s.started_s or 0, 1) for s in warm},
        "rss_mb": {name: rss for name, (rss, _pss) in memory.items()},
        "pss_mb": {name: pss for name, (_rss, pss) in memory.items()},
        "total_pss_mb": round(sum(pss for _rss, pss in memory.values()), 1),
        "heaps": {"kafka": settings.kafka_heap, "connect": settings.connect_heap},
        "goals": {"warm_up_s_max": 30, "total_mb_max": 3072},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
