"""Run one benchmark by name: ``python bench/run.py stack [ARGS]`` runs ``bench/stack_bench.py``.

Each benchmark writes ``bench/results/<name>.json``.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    known = sorted(p.name.removesuffix("_bench.py") for p in HERE.glob("*_bench.py"))
    if len(sys.argv) < 2 or sys.argv[1] not in known:
        sys.exit(f"usage: make bench NAME=<{'|'.join(known)}>")
    (HERE / "results").mkdir(exist_ok=True)
    script = HERE / f"{sys.argv[1]}_bench.py"
    sys.argv = [str(script), *sys.argv[2:]]  # the benchmark sees only its own arguments
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
