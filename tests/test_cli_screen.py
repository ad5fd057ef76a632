"""``rpnkit list`` and ``rpnkit plugins`` as people and pipes read them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_rpnkit

LONG_REASON = "the optional dependency needed here is missing: " + "install it " * 20


def test_list_in_a_pipe_is_tab_separated_with_full_names_one_row_per_component() -> None:
    plain = run_rpnkit("list", env={"COLUMNS": "40"})
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.splitlines()
    assert lines[0].split("\t") == ["group", "name", "aliases", "plugin", "summary"]
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(row) == 5 for row in rows)
    listed = json.loads(run_rpnkit("list", "--json").stdout)
    expected = [(group, e["name"]) for group, entries in listed.items() for e in entries]
    assert [(row[0], row[1]) for row in rows] == expected
    by_name = {row[1]: row for row in rows}
    assert "breast_cancer_wisconsin" in by_name["breast_cancer"][2]  # never squeezed
    assert by_name["breast_cancer"][4] == listed["dataset"][3]["summary"]
    assert "│" not in plain.stdout and "\x1b[" not in plain.stdout


def test_list_on_a_terminal_is_a_rich_table(tmp_path: Path) -> None:
    from tests.test_display import run_in_terminal

    text = run_in_terminal(["list", "loss"])
    assert "loss\x1b[0m: " in text and "\x1b[1;36mcross_entropy" in text  # styled, aligned


def test_a_failed_and_an_unmarked_plugin_keep_their_whole_reason(
    make_distribution: Callable[..., Path],
) -> None:
    site = make_distribution(
        "tmp-screen",
        {"needsdep": "tmp_needs_dep", "unmarked": "tmp_unmarked"},
        {
            "tmp_needs_dep": f"raise ImportError({LONG_REASON!r})\n",
            "tmp_unmarked": """
                def rpnkit_add_components(registry):
                    registry.register("loss", "never_seen", "torch.nn:L1Loss")
            """,
        },
    )
    result = run_rpnkit("plugins", pythonpath=site, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    # piped: one tab-separated line per plugin, its whole reason in the last field
    rows = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()}
    assert rows["needsdep"][4] == "failed"
    assert " ".join(LONG_REASON.split()) in rows["needsdep"][5]
    assert rows["unmarked"][4] == "loaded"
    assert rows["unmarked"][5].startswith("rpnkit_add_components")
    assert "hookimpl" in result.stderr and "'unmarked'" in result.stderr
    records = {
        r["name"]: r for r in json.loads(run_rpnkit("plugins", "--json", pythonpath=site).stdout)
    }
    assert records["unmarked"]["status"] == "loaded"
    assert "@rpnkit.hookimpl" in records["unmarked"]["warning"]


def _png_width(path: Path) -> int:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big")


def _history(tmp_path: Path, metric: object, rows: list[dict[str, float]]) -> Path:
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"config": {"metric": metric}, "history": rows}))
    return path


@pytest.mark.e2e
def test_plot_draws_a_panel_per_metric_for_classification(tmp_path: Path) -> None:
    rows = [
        {"epoch": e, "train_loss": 1.0 / (e + 1), "train_score": 0.5 + e / 10, "test_loss": 0.9 / (e + 1),
         "test_score": 0.4 + e / 10, "lr": 0.01, "seconds": 0.1, "train_accuracy": 0.5 + e / 10,
         "test_accuracy": 0.4 + e / 10, "train_f1": 0.3 + e / 10, "test_f1": 0.2 + e / 10}
        for e in range(3)
    ]  # fmt: skip
    history = _history(tmp_path, [{"name": "accuracy"}, {"name": "f1"}], rows)
    one, log = tmp_path / "one.png", tmp_path / "log.png"
    assert run_rpnkit("plot", str(history), "-o", str(one)).returncode == 0
    assert run_rpnkit("plot", str(history), "-o", str(log), "--log").returncode == 0
    assert _png_width(one) == _png_width(log) == 3 * _png_width_of_one_panel(tmp_path)


def _png_width_of_one_panel(tmp_path: Path) -> int:
    rows = [{"epoch": 0, "train_loss": 1.0, "test_loss": 0.5}, {"epoch": 1, "train_loss": 0.5}]
    out = tmp_path / "loss_only.png"
    assert run_rpnkit("plot", str(_history(tmp_path, [], rows)), "-o", str(out)).returncode == 0
    return _png_width(out)


@pytest.mark.e2e
def test_a_regression_score_copying_the_loss_is_not_drawn_twice(tmp_path: Path) -> None:
    copy = [
        {"epoch": e, "train_loss": 2.0 - e, "train_score": 2.0 - e, "test_loss": 1.5 - e / 2,
         "test_score": 1.5 - e / 2, "lr": 0.01, "seconds": 0.1}
        for e in range(3)
    ]  # fmt: skip
    out = tmp_path / "mse.png"
    result = run_rpnkit("plot", str(_history(tmp_path, "mse", copy)), "-o", str(out), "--log")
    assert result.returncode == 0, result.stderr
    width = _png_width(out)
    assert width == _png_width_of_one_panel(tmp_path)  # the losses only
    r2 = [{**row, "train_score": 0.1 * row["epoch"], "test_score": 0.2} for row in copy]
    out_r2 = tmp_path / "r2.png"
    assert run_rpnkit("plot", str(_history(tmp_path, "r2", r2)), "-o", str(out_r2)).returncode == 0
    assert _png_width(out_r2) == 2 * width
