"""The run table on a terminal: fitted to its width, never dropping what identifies a run."""

from __future__ import annotations

import io

import pytest

from rpnkit.cli.table import format_table, say

COLUMNS = [
    "run", "status", "model.layers.0.expansion", "model.layers.0.reconciliation", "params",
    "epochs", "best_epoch", "val_loss", "val_accuracy", "test_loss", "test_accuracy",
    "objective", "seconds",
]  # fmt: skip


def rows() -> list[dict[str, object]]:
    out = []
    for i, (expansion, reconciliation) in enumerate(
        [("gaussian_rbf", "identity"), ("chebyshev", "low_rank"), ("taylor", "lphm")]
    ):
        out.append({
            "run": f"/somewhere/quite/long/sweeps/digits_rpn/trial-000{i}",
            "status": "finished" if i else "failed: objective val_loss: diverged (NaN)",
            "model.layers.0.expansion": expansion,
            "model.layers.0.reconciliation": reconciliation,
            "params": 22858 + i, "epochs": 6, "best_epoch": 5, "val_loss": 0.1234 + i,
            "val_accuracy": 0.97, "test_loss": 0.13, "test_accuracy": 0.978,
            "objective": 0.1234 + i, "seconds": 0.21,
        })  # fmt: skip
    return out


def test_a_wide_table_is_fitted_to_80_columns() -> None:
    text = format_table(COLUMNS, rows(), tsv=False, width=80, keep=["objective"])
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), text
    assert lines[0] == "runs in /somewhere/quite/long/sweeps/digits_rpn/"
    header = lines[1].split()
    # the run, its status, the differing keys (by their last part) and the sort column stay
    assert header[:4] == ["run", "status", "expansion", "reconciliation"]
    assert "objective" in header and "seconds" not in header
    assert lines[2].startswith("trial-0000  failed: objective")
    assert "…" in lines[2]  # the reason, cut
    assert any(line.split()[:4] == ["trial-0002", "finished", "taylor", "lphm"] for line in lines)
    note = " ".join(lines[5:])
    assert " more column(s): " in note
    hidden = [c for c in COLUMNS if c not in header and not c.startswith("model.")]
    assert all(c in note for c in hidden) and "--json" in note


def test_a_table_that_fits_and_a_pipe_are_unchanged() -> None:
    wide = format_table(COLUMNS, rows(), tsv=False, width=400)
    assert wide == format_table(COLUMNS, rows(), tsv=False)
    assert wide.splitlines()[0].split()[:3] == ["run", "status", "model.layers.0.expansion"]
    tsv = format_table(COLUMNS, rows(), tsv=True, width=80)
    assert tsv.splitlines()[0].split("\t") == COLUMNS
    assert "/somewhere/quite/long/sweeps/digits_rpn/trial-0001" in tsv


def test_keys_with_the_same_last_part_keep_enough_to_differ() -> None:
    columns = ["run", "status", "model.layers.0.expansion", "model.layers.1.expansion", "params"]
    table = [{"run": f"r{i}", "status": "finished", "model.layers.0.expansion": "taylor" * 3,
              "model.layers.1.expansion": "identity" * 3, "params": 10} for i in range(2)]  # fmt: skip
    header = format_table(columns, table, tsv=False, width=60).splitlines()[0].split()
    assert header[2:4] == ["0.expansion", "1.expansion"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_line_wraps_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    line = "trial 8: complete val_loss=0.1234  [expansion=gaussian_rbf, reconciliation=identity]"
    terminal, pipe = _Terminal(), io.StringIO()
    say(line, terminal)
    say(line, pipe)
    wrapped = terminal.getvalue().splitlines()
    assert len(wrapped) > 1 and all(len(part) <= 40 for part in wrapped)
    assert all(part.startswith("    ") for part in wrapped[1:])
    assert " ".join(terminal.getvalue().split()) == " ".join(line.split())  # every word, in order
    assert pipe.getvalue() == line + "\n"
