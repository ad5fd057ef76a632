"""A corpus of bad inputs: each is refused with exit code 2 and one line naming the field and
the value, with no traceback and nothing left on disk."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rpnkit.cli import main

GOOD_DATA = "data: {name: iris, parameters: {batch_size: 16}}\n"
GOOD_MODEL = "model: {name: rpn, parameters: {layers: [{m: 4, n: 3}]}}\n"
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['x'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)

# (case id, config bytes, words the one line must hold)
CASES: list[tuple[str, bytes, tuple[str, ...]]] = [
    ("negative seed", (f"seed: -1\n{GOOD_DATA}{GOOD_MODEL}").encode(), ("seed=-1", "2**64")),
    ("huge seed", (f"seed: {2**70}\n{GOOD_DATA}{GOOD_MODEL}").encode(), ("seed=", "2**64")),
    ("text seed", (f"seed: abc\n{GOOD_DATA}{GOOD_MODEL}").encode(), ("seed", "'abc'")),
    ("latin-1 bytes", b"data: d\xffigits\n", ("not UTF-8", "0xff", "offset 7")),
    ("NUL byte", b"data: digits\x00\n", ("NUL byte", "offset 12")),
    ("alias bomb", BOMB.encode(), ("aliases expand", "100,000")),
    ("malformed YAML", b"data: {name: iris\n", ("malformed YAML", "line")),
    ("top level list", b"- data\n", ("top level must be a mapping",)),
    ("unknown section", (GOOD_DATA + "modle: {}\n").encode(), ("modle", "'model'")),
    ("unknown optimizer one edit away", (GOOD_DATA + GOOD_MODEL + "learner: {optimizer: adamx}\n").encode(),
     ("adamx", "'adam'", "'adamax'", "'adamw'")),
    ("dotted-path typo", (GOOD_DATA + GOOD_MODEL + "learner: {optimizer: torch.optim.AdamWW}\n").encode(),
     ("learner.optimizer", "torch.optim.AdamWW", "'torch.optim.AdamW'")),
    ("shell command as a loss", (GOOD_DATA + GOOD_MODEL + "learner: {loss: os.system}\n").encode(),
     ("learner.loss", "os.system", "--trust-code")),
    ("function as a dataset", (b"data: {name: os.getcwd}\n" + GOOD_MODEL.encode()),
     ("data", "os.getcwd")),
    ("unknown dataset", (b"data: irs\n" + GOOD_MODEL.encode()), ("irs", "'iris'")),
    ("unknown expansion", (GOOD_DATA + "model: {name: rpn, parameters: {layers: [{m: 4, n: 3, expansion: tayler}]}}\n").encode(),
     ("model.layers[0]", "tayler", "'taylor'")),
    ("zero epochs", (GOOD_DATA + GOOD_MODEL + "learner: {n_epochs: 0}\n").encode(), ("n_epochs",)),
    ("bad strategy", (GOOD_DATA + GOOD_MODEL + "strategy: dp\n").encode(), ("strategy='dp'",)),
    ("bad nan policy", (GOOD_DATA + GOOD_MODEL + "learner: {nan_policy: ignore}\n").encode(),
     ("nan_policy='ignore'", "'raise'")),
    ("bad monitor", (GOOD_DATA + GOOD_MODEL + "learner: {monitor: test_los}\n").encode(),
     ("monitor='test_los'", "'test_loss'")),
    ("bad scheduler parameter", (GOOD_DATA + GOOD_MODEL + "learner: {lr_scheduler: {name: step, parameters: {step_sise: 2}}}\n").encode(),
     ("step_sise", "'step_size'")),
    ("layers that do not chain", (GOOD_DATA + "model: {name: rpn, parameters: {layers: [{m: 4, n: 8}, {m: 6, n: 3}]}}\n").encode(),
     ("model.layers[1].m=6", "model.layers[0].n=8")),
    ("model wider than the data", (GOOD_DATA + "model: {name: rpn, parameters: {layers: [{m: 5, n: 3}]}}\n").encode(),
     ("m=5", "4 features")),
    ("resume file missing", (GOOD_DATA + GOOD_MODEL + "learner: {resume: /nonexistent/last.pt}\n").encode(),
     ("resume=", "/nonexistent/last.pt")),
    ("device that does not exist", (GOOD_DATA + GOOD_MODEL + "device: tpu\n").encode(), ("device", "tpu")),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "words"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", ["validate", "train"])
def test_bad_input_is_one_clear_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    case: str,
    text: bytes,
    words: tuple[str, ...],
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_bytes(text)
    out = tmp_path / "run"
    extra = ["--output", str(out), "--quiet"] if command == "train" else []
    assert main([command, str(config), *extra]) == 2
    captured = capsys.readouterr()
    errors = [
        line for line in (captured.out + captured.err).splitlines() if line.startswith("error")
    ]
    assert errors, (captured.out, captured.err)
    line = next((e for e in errors if all(w in e for w in words)), None)
    assert line is not None, errors
    assert len(line) < 600
    assert "Traceback" not in captured.err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_list_into_a_closed_pipe_is_quiet() -> None:
    pipeline = f"{shlex.quote(sys.executable)} -m rpnkit list --json | head -c 20 > /dev/null"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
