"""The migration guide is true: its commands run, its example is real, its table is complete."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from rpnkit.cli import main
from rpnkit.tinybig.network import HEAD_KEYS, LAYER_KEYS, MODEL_KEYS
from rpnkit.tinybig.run import LEARNER_KEYS, SECTIONS

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "migrating-from-tinybig.md").read_text()
TESTED = re.findall(r"<!-- test -->\n```bash\n(.*?)```", PAGE, flags=re.DOTALL)


def test_the_page_has_its_commands() -> None:
    assert len(TESTED) == 2


@pytest.mark.parametrize("command", TESTED)
def test_documented_commands_run(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    words = shlex.split(command)
    assert words[0] == "rpnkit"
    assert main(words[1:]) == 0


def test_the_validate_example_is_what_validate_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (example,) = re.findall(r"```text\n\$ rpnkit (.*?)\n(.*?)```", PAGE, flags=re.DOTALL)
    command, shown = example
    monkeypatch.chdir(ROOT / "tests" / "configs" / "tinybig" / "refused")
    assert main(shlex.split(command)) == 2
    assert capsys.readouterr().out == shown


@pytest.mark.parametrize(
    "key", sorted({*SECTIONS, *LEARNER_KEYS, *MODEL_KEYS, *LAYER_KEYS, *HEAD_KEYS})
)
def test_every_tinybig_key_has_a_row(key: str) -> None:
    rows = [line for line in PAGE.splitlines() if line.startswith("|")]
    assert any(f"`{key}`" in row or f"`{key}:" in row or f".{key}`" in row for row in rows), key
