"""Wall time of ``rpnkit list`` in a pipe and on a terminal, beside ``python -c pass``.

Run by hand: ``python benchmarks/cli_startup.py [--repeats 15]``. The commands run
interleaved (one of each per round, so a busy machine slows them alike) and each figure is the
median over the rounds: ``rpnkit list`` into a pipe (tab-separated text), ``rpnkit list`` on a
pseudo-terminal (rich tables, 120 columns), ``python -c pass`` and ``python -c "import
torch"``. Prints each median, its ratio to ``python -c pass``, and the verdict against the
target: ``rpnkit list`` at most 0.35 s in both modes (issue 14), with the installed plugins.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import statistics
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable

TARGET_S = 0.35
LIST = [sys.executable, "-m", "rpnkit", "list"]


def in_pipe(cmd: list[str]) -> float:
    """Seconds ``cmd`` takes with its output captured through a pipe."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def on_terminal(cmd: list[str]) -> float:
    """Seconds ``cmd`` takes writing to a 120x40 pseudo-terminal (read to the end)."""
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    start = time.perf_counter()
    process = subprocess.Popen(cmd, stdin=secondary, stdout=secondary, stderr=secondary, env=env)
    os.close(secondary)
    while True:
        try:
            if not os.read(main, 65536):
                break
        except OSError:
            break
    process.wait()
    elapsed = time.perf_counter() - start
    os.close(main)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    runs: dict[str, Callable[[], float]] = {
        "python -c pass": lambda: in_pipe([sys.executable, "-c", "pass"]),
        "rpnkit list (pipe)": lambda: in_pipe(LIST),
        "rpnkit list (terminal)": lambda: on_terminal(LIST),
        "python -c 'import torch'": lambda: in_pipe([sys.executable, "-c", "import torch"]),
    }
    for run in runs.values():  # warm-up: file caches, bytecode
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            times[name].append(run())
    medians = {name: statistics.median(values) for name, values in times.items()}
    bare = medians["python -c pass"]
    for name, value in medians.items():
        print(f"{name:26s} median {value:.3f} s  = {value / bare:5.1f}x python -c pass")
    for name in ("rpnkit list (pipe)", "rpnkit list (terminal)"):
        value = medians[name]
        verdict = "OK" if value <= TARGET_S else "OVER"
        print(
            f"target {name} <= {TARGET_S:.2f} s: {value:.3f} s ({value / TARGET_S:.2f}x) {verdict}"
        )


if __name__ == "__main__":
    main()
