"""Training throughput on 1 and 2 CPU processes (DistributedDataParallel), in one run.

The same CPU-bound config trains in fresh interpreters as:

* 1 process with 1 thread;
* 1 process with 2 threads (intra-op parallelism, for comparison);
* 2 processes with 1 thread each, launched by torchrun (gloo on the loopback), through the
  same :func:`rpnkit.run.runner.run_config` that ``rpnkit train --nproc-per-node 2`` runs.

The config fits the KAN paper's ``exp(sin(pi*x1) + x2^2)`` (16 000 training samples) with an
RPN whose first layer expands each input into 1024 Gaussian radial basis functions (D = 2048)
and reconciles them to 512 outputs with rank 16: much arithmetic per sample, few parameters
(42 000, so 170 kB of gradients to average per step), and large steps (global batch 2048),
which is what data parallelism on CPUs needs: DDP with gloo costs a few milliseconds per step
on any model.

Throughput is training samples per second: the training set's size over the training pass's
time (the record's ``time_cost``, no test passes), median over the epochs after the first,
which warms up. The three settings alternate ``--repeats`` times and each one's median is
reported, so load from other processes disturbs them alike. Each process of the DDP run takes
half of every global batch, so the speed-up over one process is below 2 even on two idle
cores. The final training losses are printed too: the runs do the same work, the DDP run
in DistributedSampler's order.

Run it with ``python benchmarks/ddp_scaling.py [--epochs 6] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from rpnkit import build
from rpnkit.learner.launch import launch_rank
from rpnkit.run.config import normalize_config
from rpnkit.run.runner import run_config

CONFIG: dict[str, Any] = {
    "seed": 0,
    "device": "cpu",
    "data": {
        "name": "function",
        "parameters": {
            "function": "exp(sin(pi*x1)+x2^2)",
            "n_samples": 20000,
            "batch_size": 2048,
            "seed": 0,
        },
    },
    "model": {
        "name": "rpn",
        "parameters": {
            "layers": [
                {
                    "m": 2,
                    "n": 512,
                    "expansion": {
                        "name": "gaussian_rbf",
                        "parameters": {"num_interval": 1024, "base_range": [-1, 1]},
                    },
                    "reconciliation": {"name": "low_rank", "parameters": {"r": 16}},
                    "remainder": "linear",
                },
                {"m": 512, "n": 1, "expansion": "identity", "reconciliation": "identity"},
            ]
        },
    },
    "learner": {
        "loss": "mse",
        "optimizer": {"name": "adamw", "parameters": {"lr": 0.001}},
        "verbose": False,
        "test_check": False,
    },
    "metric": "mse",
}


def measure(epochs: int, result: Path) -> None:
    """Train :data:`CONFIG` in this process (one of a launch's or alone); rank 0 saves the numbers."""
    config = normalize_config({**CONFIG, "learner": {**CONFIG["learner"], "n_epochs": epochs}})
    run = run_config(config, verbose=False)
    if launch_rank() != 0:
        return
    steps = len(run.record["training"][0]["batch_records"])
    times = [entry["time_cost"] for entry in run.record["training"].values()][1:]
    n_train = build("dataset", config.data["name"], **config.data["parameters"]).n_train
    result.write_text(
        json.dumps(
            {
                "world_size": int(os.environ.get("WORLD_SIZE", "1")),
                "threads": torch.get_num_threads(),
                "steps": steps,
                "samples_per_second": n_train / statistics.median(times),
                "train_loss": run.final["train_loss"],
            }
        )
    )


def loopback() -> str:
    """The loopback interface, so gloo never listens on another address."""
    return next(name for _, name in socket.if_nameindex() if name.startswith("lo"))


def launch(processes: int, threads: int, epochs: int, folder: Path) -> dict[str, Any]:
    """Run :func:`measure` on ``processes`` fresh processes of ``threads`` threads each."""
    result = folder / f"p{processes}t{threads}.json"
    script = [__file__, "--measure", str(result), "--epochs", str(epochs)]
    if processes == 1:
        command = [sys.executable, *script]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1"]
        command += [f"--nproc-per-node={processes}", "--rdzv-backend=c10d"]
        command += ["--rdzv-endpoint=127.0.0.1:0", "--rdzv-id=rpnkit-benchmark", *script]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "GLOO_SOCKET_IFNAME": loopback()}
    subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    numbers: dict[str, Any] = json.loads(result.read_text())
    return numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=6, help="epochs per run (the first warms up)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each setting")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        measure(args.epochs, args.measure)
        return
    print(
        f"{os.cpu_count()} CPU cores; torch {torch.__version__}; {args.epochs} epochs per run, "
        f"median of {args.repeats} runs"
    )
    settings = ((1, 1), (1, 2), (2, 1))
    runs: dict[tuple[int, int], list[dict[str, Any]]] = {setting: [] for setting in settings}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            for processes, threads in settings:
                runs[processes, threads].append(
                    launch(processes, threads, args.epochs, Path(folder))
                )
    speeds = {s: statistics.median(r["samples_per_second"] for r in runs[s]) for s in settings}
    print(f"{'processes':>9}  {'threads':>7}  {'steps/epoch':>11}  {'samples/s':>9}  "
          f"{'speed-up':>8}  {'train loss':>10}")  # fmt: skip
    for setting in settings:
        run = runs[setting][-1]
        print(
            f"{run['world_size']:>9}  {run['threads']:>7}  {run['steps']:>11}  {speeds[setting]:>9.0f}  "
            f"{speeds[setting] / speeds[settings[0]]:>7.2f}x  {run['train_loss']:>10.4f}"
        )


if __name__ == "__main__":
    main()
