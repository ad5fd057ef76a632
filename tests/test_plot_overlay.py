"""``rpnkit plot A B``: one figure overlaying several runs, labelled by what differs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_rpnkit
from tests.test_compare import train_runs

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return train_runs(tmp_path_factory.mktemp("overlay"))


def _colours(png: Path) -> set[tuple[int, int, int]]:
    import matplotlib.image

    pixels = (matplotlib.image.imread(png)[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    saturated = pixels[(pixels.max(axis=1).astype(int) - pixels.min(axis=1)) > 80]
    return {tuple(int(v) // 32 for v in p) for p in saturated}  # type: ignore[misc]


def test_plot_overlays_runs_in_one_figure(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "overlay.png"
    result = run_rpnkit("plot", *map(str, runs), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "(3 runs)" in result.stdout
    import matplotlib.image

    height, width = matplotlib.image.imread(out).shape[:2]
    assert width > 3 * height  # three panels side by side: loss, accuracy, f1
    single = tmp_path / "single.png"
    assert run_rpnkit("plot", str(runs[0]), "-o", str(single)).returncode == 0
    # one colour per run: the overlay holds more distinct hues than one run's figure
    assert len(_colours(out)) > len(_colours(single))


def test_plot_of_a_run_without_history_says_so(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "config.yaml").write_text("seed: 0\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "config.yaml").write_text("seed: 1\n")
    result = run_rpnkit(
        "plot", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "x.png")
    )
    assert result.returncode == 2
    assert "no run has per-epoch history rows" in result.stderr
    assert not (tmp_path / "x.png").exists()
