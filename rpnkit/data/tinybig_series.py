"""tinybig's time series datasets (``etf``, ``stock``, ``traffic_la``, ``traffic_bay``), read locally.

tinybig downloads a CSV per dataset, granularity and attribute from its dataset repository
(``{granularity}/{years}_year_{granularity}_{attribute}.csv`` for ETFs and stocks,
``{granularity}/{granularity}_All.csv`` for traffic): a header of instance ids, one row per
timestamp. These datasets read that same file from a local ``path`` (or from ``root``, laid
out as tinybig's cache) and window it like ``series_csv``, each instance its own series.
Unlike tinybig, the series are standardised with the *training period's* statistics only
(tinybig's whole-series normalisation leaks the test period); see
:mod:`rpnkit.data.sequences`. rpnkit downloads nothing.
"""

from __future__ import annotations

from pathlib import Path

from rpnkit.data.options import SplitOptions
from rpnkit.data.sequences import SequenceBundle, read_series, series_bundle
from rpnkit.errors import ConfigError

__all__ = ["TinybigSeries", "etf", "stock", "traffic_bay", "traffic_la"]

_REPO = "https://raw.githubusercontent.com/jwzhanggy/tinybig_dataset_repo/main/data/time_series"


class TinybigSeries:
    """One of tinybig's time series datasets, as an rpnkit dataset factory.

    Parameters
    ----------
    name
        rpnkit name (``"etf"``).
    folder
        tinybig's folder name in its repository (``"etfs"``).
    granularity, attribute
        tinybig's default ``time_granularity`` and ``target_attributes``.
    years
        Whether the file name starts with ``{coverage_year_range}_year_``.
    """

    def __init__(self, name: str, folder: str, granularity: str, attribute: str, years: bool):
        self.name = name
        self.folder = folder
        self.granularity = granularity
        self.attribute = attribute
        self.years = years
        self.__doc__ = (
            f"tinybig's {name} series from a local CSV (path, or root laid out as tinybig's "
            f"cache), windowed with x_len/y_len/xy_gap, normalised on the training period."
        )

    def __repr__(self) -> str:
        return f"TinybigSeries({self.name!r})"

    def file_name(self, granularity: str, attribute: str, years: int) -> str:
        """tinybig's file name for these choices."""
        prefix = f"{years}_year_" if self.years else ""
        return f"{prefix}{granularity}_{attribute}.csv"

    def __call__(
        self,
        *,
        path: str | None = None,
        root: str | None = None,
        x_len: int = 10,
        y_len: int = 1,
        xy_gap: int = 1,
        time_granularity: str | None = None,
        target_attributes: str | None = None,
        coverage_year_range: int = 1,
        instance_ids: list[str] | None = None,
        layout: str = "flat",
        batch_size: int = 64,
        test_batch_size: int | None = None,
        test_size: float = 0.2,
        val_size: float | int = 0,
        seed: int = 0,
        standardize: bool = True,
        shuffle: bool = True,
    ) -> SequenceBundle:
        """Window the local file; ``instance_ids`` picks columns (``None``: all instances).

        ``val_size`` (a fraction of the training windows in ``[0, 1)`` or a number of
        windows; 0: none) validates on the last training windows, before the test period.

        Raises
        ------
        ConfigError
            Without a local file (saying what to download and how to point the config at
            it), or for a malformed file.
        """
        options = SplitOptions.of(self.name, locals())
        granularity = time_granularity or self.granularity
        attribute = target_attributes or self.attribute
        file = self.file_name(granularity, attribute, coverage_year_range)
        found: Path | None = None
        if path is not None:
            found = Path(str(path)).expanduser()
        elif root is not None:
            base = Path(str(root)).expanduser()
            candidates = [base / self.folder / granularity / file, base / granularity / file,
                          base / file]  # fmt: skip
            found = next((c for c in candidates if c.is_file()), None)
        if found is None or not found.is_file():
            raise ConfigError(
                f"dataset {self.name!r}: no local file {file!r} (path={path!r}, root={root!r}); "
                f"rpnkit downloads nothing: download {_REPO}/{self.folder}/{granularity}/{file} "
                "(unzip it if it is a .zip) and set the dataset's parameters to {path: <file>}"
            )
        values = read_series(self.name, str(found), instance_ids)
        return series_bundle(self.name, values, x_len=x_len, y_len=y_len, xy_gap=xy_gap,
                             layout=layout, options=options)  # fmt: skip


etf = TinybigSeries("etf", "etfs", "daily", "Open", years=True)
stock = TinybigSeries("stock", "stocks", "daily", "Open", years=True)
traffic_la = TinybigSeries("traffic_la", "traffic_la", "minutely", "All", years=False)
traffic_bay = TinybigSeries("traffic_bay", "traffic_bay", "minutely", "All", years=False)
