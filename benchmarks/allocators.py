"""Run a benchmark under each CPU allocator setting, each in a fresh process.

PyTorch backs CPU allocations of 2 MiB and more with transparent huge pages when
``THP_MEM_ALLOC_ENABLE=1``, which the ``rpnkit`` command sets for its processes
(``rpnkit/cli/huge_pages.py``). Torch reads the switch once, so a script measures each
setting by running itself again with the variable set: ``--allocator both`` (the default)
runs ``torch`` (``THP_MEM_ALLOC_ENABLE=0``) and then ``huge-pages`` (``=1``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

__all__ = ["ALLOCATORS", "add_allocator_argument", "rerun_per_allocator"]

#: ``--allocator`` choices and the ``THP_MEM_ALLOC_ENABLE`` value each runs under.
ALLOCATORS = {"torch": "0", "huge-pages": "1"}
_TITLES = {
    "torch": "torch's default CPU allocator (THP_MEM_ALLOC_ENABLE=0)",
    "huge-pages": "huge pages, as the rpnkit command runs (THP_MEM_ALLOC_ENABLE=1)",
}


def add_allocator_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--allocator {torch,huge-pages,both}`` (default ``both``)."""
    parser.add_argument(
        "--allocator",
        choices=[*ALLOCATORS, "both"],
        default="both",
        help="CPU allocator setting; 'both' measures each in its own process (default)",
    )


def rerun_per_allocator(allocator: str, script: str) -> bool:
    """Run ``script`` again per setting unless this process already runs ``allocator``.

    Returns
    -------
    bool
        Whether the runs were made here (the caller then stops); ``False`` when this process
        is the one to measure.
    """
    if allocator != "both" and os.environ.get("THP_MEM_ALLOC_ENABLE") == ALLOCATORS[allocator]:
        return False
    for each in ALLOCATORS if allocator == "both" else [allocator]:
        environ = {**os.environ, "THP_MEM_ALLOC_ENABLE": ALLOCATORS[each]}
        # the last --allocator on a command line wins
        command = [sys.executable, script, *sys.argv[1:], "--allocator", each]
        print(f"=== {_TITLES[each]}", flush=True)
        subprocess.run(command, env=environ, check=True)
    return True
