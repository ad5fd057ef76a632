"""What the ``sweep`` command runs in a child of its launcher (:mod:`rpnkit.sweep.launcher`).

Both need torch, which the sweep's own process never imports: the checks build the config
once, and the result table counts each trial's parameters from its ``model.pt``. Each runs
where fork is not available in the sweep's process instead, with the same result.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rpnkit.sweep.space import Dimension

__all__ = ["run_checks", "summary_table"]


def run_checks(
    base: Path, overrides: list[str], dimensions: list[Dimension], trust_code: bool
) -> list[str]:
    """:func:`~rpnkit.sweep.plan.check_values` as the ``rpnkit`` command runs it (its
    optimizers built without importing ``torch._dynamo``, warnings as ``warning:`` lines);
    run in a child of the launcher."""
    import warnings

    from rpnkit.components.trust import trusted_code
    from rpnkit.learner.dynamo_import import install
    from rpnkit.sweep.plan import check_values

    install()
    with warnings.catch_warnings(), trusted_code(trust_code):
        warnings.showwarning = _warning_line
        return check_values(base, overrides, dimensions)


def _warning_line(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    """A warning as the ``rpnkit`` command shows it: one ``warning:`` line on stderr."""
    print(f"warning: {message}", file=sys.stderr)


def summary_table(dirs: list[str], reverse: bool) -> tuple[list[str], list[dict[str, Any]]]:
    """The compare table of the trials' run directories ``dirs``, by objective (run in a child
    of the launcher: its parameter counts read ``model.pt`` with torch)."""
    from rpnkit.cli.compare import compare_table, read_run

    runs = [read_run(Path(d)) for d in dirs if Path(d).is_dir()]
    return compare_table(runs, "objective", reverse=reverse) if runs else ([], [])
