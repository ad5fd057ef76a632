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
    one_line_error(lambda: series_csv(path=str(path)), "line 3 has 1 field(s)")


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


# -- validation split ----------------------------------------------------------------------------
def _starts(loader: Any) -> list[float]:
    """The first input value of every window, in the loader's order (the window's start time)."""
    return [float(row.reshape(-1)[0]) for batch in loader for row in batch[0]]


def test_series_val_size_takes_the_last_training_windows_in_time_order(tmp_path: Path) -> None:
    path = write_series(tmp_path / "t.csv", {"v": np.arange(100.0)})
    base = series_csv(path=str(path), x_len=4, standardize=False, shuffle=False)
    split = series_csv(path=str(path), x_len=4, standardize=False, shuffle=False, val_size=0.25)
    assert base.val_loader is None and split.val_loader is not None
    n_val = int(np.ceil(0.25 * base.n_train))
    assert (split.n_train, split.n_val, split.n_test) == (base.n_train - n_val, n_val, base.n_test)
    train, val, test = (_starts(loader) for loader in split.values())
    assert val == sorted(val) and max(train) < min(val) and max(val) < min(test)
    assert train + val == _starts(base.train_loader) and test == _starts(base.test_loader)
    # standardised with the values the training windows (not the validation ones) cover
    scaled = series_csv(path=str(path), x_len=4, val_size=0.25)
    period = np.arange(100.0)[: split.n_train - 1 + 4 + 1 + 1]
    assert scaled.series_mean is not None and scaled.series_std is not None
    assert float(scaled.series_mean[0]) == pytest.approx(period.mean())
    assert float(scaled.series_std[0]) == pytest.approx(period.std())


def test_series_without_val_size_split_exactly_as_before(tmp_path: Path) -> None:
    path = write_series(tmp_path / "t.csv", {"a": np.sin(np.arange(80.0)), "b": np.arange(80.0)})
    base = series_csv(path=str(path), x_len=5)
    zero = series_csv(path=str(path), x_len=5, val_size=0)
    assert zero.val_loader is None and "val_loader" not in zero
    for mine, theirs in ((zero.train_loader, base.train_loader),
                         (zero.test_loader, base.test_loader)):  # fmt: skip
        for a, b in zip(mine.dataset.tensors, theirs.dataset.tensors, strict=True):  # type: ignore[attr-defined]
            assert torch.equal(a, b)
    n_windows = 80 - 7 + 1
    assert zero.n_train == 2 * round(0.8 * n_windows)  # two columns per window
    assert zero.series_mean is not None and base.series_mean is not None
    assert torch.equal(zero.series_mean, base.series_mean)


def test_every_series_source_counts_val_size_in_windows(tmp_path: Path) -> None:
    folder = tmp_path / "minutely"
    folder.mkdir()
    csv = write_series(folder / "minutely_All.csv", {"s1": np.arange(60.0),
                                                     "s2": 100 + np.arange(60.0)})  # fmt: skip
    bundles = [
        synthetic_series(length=200, val_size=6),
        etf(path=str(csv), x_len=5, val_size=6),
        traffic_la(root=str(tmp_path), x_len=5, val_size=6),
        build("dataset", "stock", path=str(csv), x_len=5, val_size=6),
        build("dataset", "traffic_bay", path=str(csv), x_len=5, val_size=6),
    ]
    for bundle in bundles:
        columns = 1 if bundle.name.startswith("series_") else 2
        assert bundle.n_val == 6 * columns, bundle.name
    plain = etf(path=str(csv), x_len=5, standardize=False, shuffle=False, val_size=6)
    train, val, test = (_starts(loader) for loader in plain.values())
    assert max(s % 100 for s in train) < min(s % 100 for s in val)
    assert max(s % 100 for s in val) < min(s % 100 for s in test)


def test_sequence_classification_val_size_is_stratified_from_the_training_part() -> None:
    base = sequence_classification(task="frequency", n_samples=400, seed=3, shuffle=False)
    split = sequence_classification(task="frequency", n_samples=400, seed=3, shuffle=False,
                                    val_size=0.2)  # fmt: skip
    assert base.val_loader is None and split.val_loader is not None
    assert split.n_val == int(np.ceil(0.2 * base.n_train))
    assert split.n_train + split.n_val == base.n_train

    def rows(loader: Any) -> list[bytes]:
        return sorted(row.numpy().tobytes() for batch in loader for row in batch[0])

    assert rows(split.test_loader) == rows(base.test_loader)
    assert sorted(rows(split.train_loader) + rows(split.val_loader)) == rows(base.train_loader)
    base_y = torch.cat([b[1] for b in base.train_loader])
    val_y = torch.cat([b[1] for b in split.val_loader])
    expected = 0.2 * torch.bincount(base_y, minlength=3).double()
    assert bool(((torch.bincount(val_y, minlength=3).double() - expected).abs() <= 1).all())


@pytest.mark.parametrize(
    "name", ["series_csv", "synthetic_series", "etf", "stock", "traffic_la", "traffic_bay",
             "sequence_classification"],
)  # fmt: skip
def test_a_sequence_val_size_out_of_range_is_one_line(name: str, tmp_path: Path) -> None:
    csv = write_series(tmp_path / "s.csv", {"v": np.arange(40.0)})
    extra = {"path": str(csv)} if name in ("series_csv", "etf", "stock", "traffic_la",
                                             "traffic_bay") else {}  # fmt: skip
    one_line_error(lambda: build("dataset", name, val_size=1.5, **extra), "val_size", "1.5",
                   "[0, 1)")  # fmt: skip
    one_line_error(lambda: build("dataset", name, val_size=10_000, **extra), "val_size=10000",
                   "lower val_size")  # fmt: skip
