"""Wall time of ``rpnkit list`` beside ``python -c "import torch"``, in the same run.

Run by hand: ``python benchmarks/cli_startup.py [--repeats 15]``. Prints the median of each
and their ratio. Target: ``rpnkit list`` at most 0.35 s on the project's machines.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET_S = 0.35


def median_wall_time(cmd: list[str], repeats: int) -> float:
    """Median wall time in seconds of ``cmd`` over ``repeats`` runs (after one warm-up)."""
    subprocess.run(cmd, check=True, capture_output=True)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    rpnkit_list = median_wall_time([sys.executable, "-m", "rpnkit", "list"], args.repeats)
    import_torch = median_wall_time([sys.executable, "-c", "import torch"], args.repeats)
    bare = median_wall_time([sys.executable, "-c", "pass"], args.repeats)
    print(f"python -c pass        median {bare:.3f} s")
    print(f"python -c import torch median {import_torch:.3f} s")
    print(f"rpnkit list           median {rpnkit_list:.3f} s")
    print(f"ratio rpnkit list / import torch = {rpnkit_list / import_torch:.2f}")
    verdict = "OK" if rpnkit_list <= TARGET_S else "OVER"
    print(f"target rpnkit list <= {TARGET_S:.2f} s: {verdict}")


if __name__ == "__main__":
    main()
