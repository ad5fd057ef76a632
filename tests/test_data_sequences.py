"""Sequence datasets: forecasting windows (no test-period leak), generated sequence tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rpnkit import build
from rpnkit.data.sequence_tasks import sequence_classification, synthetic_series
from rpnkit.data.sequences import SequenceBundle, series_csv, windows
from rpnkit.data.tinybig_series import etf, traffic_la
from rpnkit.errors import ConfigError


def one_line_error(call: Any, *fragments: str) -> str:
    with pytest.raises(ConfigError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def write_series(path: Path, columns: dict[str, np.ndarray]) -> Path:
    names = list(columns)
    lines = ["date," + ",".join(names)]
    for t in range(len(columns[names[0]])):
        lines.append(f"d{t}," + ",".join(repr(float(columns[c][t])) for c in names))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_windows_follow_tinybigs_x_len_y_len_and_gap() -> None:
    values = np.arange(12.0)[:, None]
    x, y = windows(values, x_len=3, y_len=2, xy_gap=1)
    assert len(x) == 12 - 3 - 2 - 1 + 1
    assert x[0, 0].tolist() == [0, 1, 2] and y[0, 0].tolist() == [4, 5]  # one step skipped
    assert x[-1, 0].tolist() == [6, 7, 8] and y[-1, 0].tolist() == [10, 11]
    _, y0 = windows(values, x_len=3, y_len=1, xy_gap=0)
    assert y0[0, 0].tolist() == [3]


def test_series_is_normalised_with_the_training_period_only(tmp_path: Path) -> None:
    # a series that jumps in its test period: whole-series statistics would shift the inputs
    values = np.concatenate([np.arange(45.0), 1000 + np.arange(5.0)])
    path = write_series(tmp_path / "s.csv", {"v": values})
    bundle = series_csv(path=str(path), x_len=4, y_len=1, xy_gap=1, shuffle=False)
    assert isinstance(bundle, SequenceBundle)
    n_windows = 50 - 6 + 1
    n_train = int(0.8 * n_windows)
    assert (bundle.n_train, bundle.n_test) == (n_train, n_windows - n_train)
    period = values[: n_train - 1 + 6]  # every value the training windows use, nothing after
    assert bundle.series_mean is not None and bundle.series_std is not None
    assert float(bundle.series_mean[0]) == pytest.approx(period.mean())
    assert float(bundle.series_std[0]) == pytest.approx(period.std())
    assert period.max() < 1000  # the jump is in the test period and in no statistic
    x, y = next(iter(bundle.train_loader))
    expected = (values[:4] - period.mean()) / period.std()
    assert np.allclose(x[0].numpy(), expected, atol=1e-5)
    assert float(y[0, 0]) == pytest.approx((values[5] - period.mean()) / period.std(), abs=1e-5)
    # the chronological split: the test windows come after every training window
    tx, _ = next(iter(bundle.test_loader))
    assert float(tx[0, 0] * bundle.series_std[0] + bundle.series_mean[0]) == pytest.approx(
        values[n_train], abs=1e-3
    )


def test_every_column_is_its_own_series_window_by_window(tmp_path: Path) -> None:
    a, b = np.arange(20.0), 100 - 3 * np.arange(20.0)
    path = write_series(tmp_path / "two.csv", {"a": a, "b": b})
    bundle = series_csv(path=str(path), x_len=3, y_len=2, standardize=False, shuffle=False,
                        layout="sequence")  # fmt: skip
    x, y = next(iter(bundle.train_loader))
    assert x.shape[1:] == (3, 1) and y.shape[1:] == (2,)
    assert x[0, :, 0].tolist() == [0, 1, 2] and x[1, :, 0].tolist() == [100, 97, 94]
    assert y[0].tolist() == [4, 5] and x[2, :, 0].tolist() == [1, 2, 3]
    only_b = series_csv(path=str(path), columns="b", x_len=3, standardize=False, shuffle=False)
    assert next(iter(only_b.train_loader))[0][0].tolist() == [100, 97, 94]


def test_series_errors_are_one_line(tmp_path: Path) -> None:
    path = write_series(tmp_path / "s.csv", {"v": np.arange(8.0)})
    one_line_error(lambda: series_csv(path=str(path), x_len=6), "gives 1 windows",
                   "too few")  # fmt: skip
    one_line_error(lambda: series_csv(path=str(path), columns="w"), "columns names 'w'")
    path.write_text("date,v\nd0,1\nd1,x\n")
    one_line_error(lambda: series_csv(path=str(path)), "line 3, column 'v'", "'x'")
    path.write_text("date,v\nd0,1\nd1\n")
    one_line_error(lambda: series_csv(path=str(path)), "line 3 has 1 cells")


def test_tinybigs_series_read_a_local_copy_or_say_what_to_download(tmp_path: Path) -> None:
    one_line_error(lambda: etf(), "rpnkit downloads nothing",
                   "etfs/daily/1_year_daily_Open.csv", "{path: <file>}")  # fmt: skip
    folder = tmp_path / "traffic_la" / "minutely"
    folder.mkdir(parents=True)
    write_series(folder / "minutely_All.csv", {"s1": np.sin(np.arange(60.0)),
                                                "s2": np.cos(np.arange(60.0))})  # fmt: skip
    bundle = traffic_la(root=str(tmp_path), instance_ids=["s2"], x_len=5)
    assert bundle.in_features == 5 and bundle.series_mean is not None
    assert bundle.series_mean.shape == (1,)
    path = str(folder / "minutely_All.csv")
    assert build("dataset", "etfs", path=path).n_train > 0


@pytest.mark.parametrize("task", ["parity", "majority", "trend", "frequency"])
def test_generated_sequence_tasks_are_seeded_and_labelled_by_their_rule(task: str) -> None:
    bundle = sequence_classification(task=task, length=12, n_samples=300, seed=5, noise=0.05)
    again = sequence_classification(task=task, length=12, n_samples=300, seed=5, noise=0.05)
    x, y = bundle.train_loader.dataset.tensors  # type: ignore[attr-defined]
    assert torch.equal(x, again.train_loader.dataset.tensors[0])  # type: ignore[attr-defined]
    assert x.shape[1] == 12 and bundle.n_train + bundle.n_test == 300
    if task == "parity":
        assert torch.equal((x.sum(dim=1) % 2).long(), y)
    elif task == "majority":
        assert torch.equal((x.sum(dim=1) > 6).long(), y)
    elif task == "trend":
        slope = ((x[:, -3:].mean(dim=1) - x[:, :3].mean(dim=1)) > 0).long()
        assert float((slope == y).float().mean()) > 0.95
    else:
        assert bundle.out_features == 3
        spectrum = torch.fft.rfft(x.double(), n=240).abs().argmax(dim=1)
        assert torch.equal(torch.bucketize(spectrum, torch.tensor([40, 70])), y)


def test_sequence_layouts_and_the_synthetic_series() -> None:
    grid = sequence_classification(layout="sequence", length=8, n_samples=50, batch_size=10)
    assert next(iter(grid.train_loader))[0].shape == (10, 8, 1)
    one_line_error(lambda: sequence_classification(task="copy"), "task='copy'")
    series = synthetic_series(kind="ar", length=200, x_len=6)
    assert (series.task, series.in_features, series.out_features) == ("regression", 6, 1)
    assert series.n_train + series.n_test == 200 - 6 - 1 - 1 + 1
