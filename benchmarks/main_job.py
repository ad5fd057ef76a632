"""Start-up of the README's main job beside ``python -c "import torch"``, in the same run.

Run by hand: ``python benchmarks/main_job.py [--repeats 5] [--config configs/digits.yaml]``.
Each round runs, interleaved: ``python -c "import torch"``, ``python -c "import torch,
torch._dynamo"`` (what a hand-written loop with a torch optimizer imports at its first step;
rpnkit's loop does not, see ``rpnkit/learner/dynamo_import.py``), ``rpnkit train CONFIG`` as
configured (the shipped digits config says ``threads: 1``) and with torch's default threads
(``--set threads=null``), and ``rpnkit validate CONFIG``. It prints medians and the targets of
the speed issue:

- train wall / (import torch + the training time the run reports) at most 1.3;
- validate wall / import torch at most 1.3.

Run from the repository root; ``--root DIR`` measures the rpnkit source tree at ``DIR``
instead (e.g. an older checkout, for before/after figures).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.3
_TRAINED = re.compile(r"Trained \d+ epochs in ([0-9.]+) s")


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    """Wall seconds of ``cmd`` and its standard output."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--config", default="configs/digits.yaml")
    parser.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args()
    root = args.root.resolve()
    config = str(Path(args.config).resolve())
    py = sys.executable
    figures: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        figures.setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats + 1):  # round 0 warms the caches
            runs: dict[str, float] = {}
            runs["import torch"], _ = timed([py, "-c", "import torch"], root)
            runs["import torch, torch._dynamo"], _ = timed(
                [py, "-c", "import torch, torch._dynamo"], root
            )
            for label, extra in (
                ("train", []),
                ("train, torch's default threads", ["--set", "threads=null"]),
            ):
                out = Path(tmp, f"run{i}-{len(extra)}")
                cmd = [py, "-m", "rpnkit", "train", config, "--output", str(out), *extra]
                try:
                    wall, stdout = timed(cmd, root)
                except subprocess.CalledProcessError:  # an older tree without threads
                    continue
                found = _TRAINED.search(stdout)
                runs[label] = wall
                if found:
                    runs[f"{label}: reported training"] = float(found.group(1))
            runs["validate"], _ = timed([py, "-m", "rpnkit", "validate", config], root)
            if i:
                for key, value in runs.items():
                    add(key, value)
                add(
                    "train ratio",
                    runs["train"] / (runs["import torch"] + runs["train: reported training"]),
                )
                add("validate ratio", runs["validate"] / runs["import torch"])

    med = {key: statistics.median(values) for key, values in figures.items()}
    print(f"rpnkit tree: {root}  ({args.repeats} interleaved rounds, medians)")
    for key, value in med.items():
        if not key.endswith("ratio"):
            print(f"  {key:<40} {value:7.2f} s")
    dynamo = med["import torch, torch._dynamo"] - med["import torch"]
    print(
        f"  {'torch._dynamo, imported by a plain loop':<40} {dynamo:7.2f} s "
        "(at the first optimizer step; rpnkit train skips it)"
    )
    for key, what in (
        ("train ratio", "train wall / (import torch + reported training)"),
        ("validate ratio", "validate wall / import torch"),
    ):
        verdict = "OK" if med[key] <= TARGET else "OVER"
        print(f"  {what:<50} {med[key]:5.2f}  (target <= {TARGET}: {verdict})")


if __name__ == "__main__":
    main()
