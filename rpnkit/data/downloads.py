"""Where the datasets tinybig downloads come from, for the one-line "download it" messages.

rpnkit downloads nothing. tinybig's RPN 2 datasets (``mnist``, ``cifar10``, ``cora``,
``citeseer``, ``pubmed``, ``etf``, ``stock``, ``traffic_la``, ``traffic_bay``) are read from
a local copy instead; :data:`LOCAL_COPIES` says, for each, which parameter points at the copy
and what to download. Used by the readers and by the tinybig config translation.
"""

from __future__ import annotations

__all__ = ["LOCAL_COPIES", "download_hint"]

_TINYBIG = "https://raw.githubusercontent.com/jwzhanggy/tinybig_dataset_repo/main/data"

#: Dataset name -> (the parameter naming the local copy, what to download into it).
LOCAL_COPIES: dict[str, tuple[str, str]] = {
    "mnist": ("root", "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
              "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (the MNIST database, "
              "e.g. from https://ossci-datasets.s3.amazonaws.com/mnist/) into one folder"),
    "cifar10": ("root", "the CIFAR-10 *binary version* (cifar-10-binary.tar.gz from "
                "https://www.cs.toronto.edu/~kriz/cifar.html), unpacked into a folder"),
    "cora": ("root", f"{_TINYBIG}/graph/cora/node and .../cora/link into one folder"),
    "citeseer": ("root", f"{_TINYBIG}/graph/citeseer/node and .../citeseer/link into one folder"),
    "pubmed": ("root", f"{_TINYBIG}/graph/pubmed/node and .../pubmed/link into one folder"),
    "etf": ("path", f"{_TINYBIG}/time_series/etfs/daily/1_year_daily_Open.csv (or another "
            "granularity/attribute file)"),
    "stock": ("path", f"{_TINYBIG}/time_series/stocks/daily/1_year_daily_Open.csv (or another "
              "granularity/attribute file; unzip a .zip)"),
    "traffic_la": ("path", f"{_TINYBIG}/time_series/traffic_la/minutely/minutely_All.csv"),
    "traffic_bay": ("path", f"{_TINYBIG}/time_series/traffic_bay/minutely/minutely_All.csv"),
}  # fmt: skip


def download_hint(name: str) -> str:
    """``"rpnkit downloads nothing: download … and set the dataset's parameters to …"``."""
    parameter, what = LOCAL_COPIES[name]
    target = "<that folder>" if parameter == "root" else "<the file>"
    return (
        f"rpnkit downloads nothing: download {what} and set the dataset's parameters to "
        f"{{{parameter}: {target}}}"
    )
