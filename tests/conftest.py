"""Shared fixtures: real (temporary) distributions with ``rpnkit`` entry points."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Make a bare ``pytest`` the fast run for daily work: it leaves out the ``e2e`` tests.

    The end-to-end suite (real ``rpnkit`` processes that train, get killed, resume, launch
    DDP) runs with ``pytest -m e2e``; CI runs both. Naming test files or nodes, or passing any
    ``-m`` expression, selects exactly what was asked (``-m "e2e or not e2e"`` for
    everything).
    """
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS and not config.option.markexpr:
        config.option.markexpr = "not e2e"


@pytest.fixture
def make_distribution(tmp_path: Path) -> Callable[..., Path]:
    """Write an installed-looking distribution (``*.dist-info`` + modules) into a folder.

    Put the returned folder on ``PYTHONPATH`` and ``importlib.metadata`` discovers its entry
    points exactly as for a pip-installed package.
    """

    def make(name: str, entry_points: dict[str, str], modules: dict[str, str]) -> Path:
        site = tmp_path / f"site-{name}"
        dist_info = site / f"{name.replace('-', '_')}-1.0.dist-info"
        dist_info.mkdir(parents=True)
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        lines = ["[rpnkit]"] + [f"{k} = {v}" for k, v in entry_points.items()]
        (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for module, source in modules.items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
        return site

    return make


def run_rpnkit(
    *args: str, pythonpath: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m rpnkit ARGS`` in a fresh interpreter and capture its output."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    if pythonpath is not None:
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(pythonpath), full_env.get("PYTHONPATH", "")) if p
        )
    return subprocess.run(
        [sys.executable, "-m", "rpnkit", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


@pytest.fixture(scope="session")
def tinybig() -> Any:
    """tinybig 0.2.1, the reference implementation; skips the test when it is not installed."""
    from tests.tinybig_reference import import_tinybig

    module = import_tinybig()
    if module is None:
        pytest.skip("tinybig 0.2.1 is not installed (pip install --no-deps tinybig==0.2.1)")
    return module
