"""The speed options: ``threads``, ``compile``, and optimizers built without ``torch._dynamo``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rpnkit.errors import ConfigError
from rpnkit.learner import BackwardLearner
from rpnkit.learner.compiling import compile_time_cost
from rpnkit.run.config import normalize_config

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e

TINY = {
    "seed": 0,
    "data": {"name": "iris", "parameters": {"batch_size": 32}},
    "model": {"name": "rpn", "parameters": {"layers": [{"m": 4, "n": 3}]}},
    "learner": {"n_epochs": 1},
}


def _rpnkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rpnkit", *args], cwd=cwd, capture_output=True, text=True
    )


def test_threads_key_is_checked() -> None:
    assert normalize_config({**TINY, "threads": 2}).threads == 2
    assert normalize_config(TINY).threads is None
    for bad in (0, -1, 1.5, "two", True):
        with pytest.raises(ConfigError, match="threads"):
            normalize_config({**TINY, "threads": bad})


def test_threads_flag_sets_torch_threads_and_is_saved(tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    script = (
        "import sys, torch; from rpnkit.cli import main; "
        f"code = main(['train', {str(config)!r}, '--output', {str(tmp_path / 'run')!r}, "
        "'--quiet', '--threads', '1']); print(torch.get_num_threads()); sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "1"
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["threads"] == 1
    bad = _rpnkit("validate", str(config), "--threads", "0", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: threads=0 is not valid; expected an integer >= 1"
    ]


def _imports(command: list[str], module: str) -> bool:
    """Whether running the CLI ``command`` in a fresh interpreter imports ``module``."""
    script = (
        "import sys; from rpnkit.cli import main; "
        f"code = main({command!r}); print({module!r} in sys.modules); sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    answer = done.stdout.split()[-1]
    assert answer in ("True", "False"), done.stdout
    return answer == "True"


def test_training_without_compiling_never_imports_dynamo(tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    output = ["--output", str(tmp_path / "run")]
    for command in (["validate", str(config)], ["train", str(config), "--quiet"]):
        assert not _imports(command + output, "torch._dynamo"), command


def test_validate_leaves_the_display_libraries_unimported(tmp_path: Path) -> None:
    """rich is imported once a training run starts to show progress, so validate never pays it."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    assert not _imports(["validate", str(config)], "rich")


def test_optimizers_work_under_compile_after_deferral() -> None:
    """The deferred wrappers give way to torch's own once torch._dynamo is imported."""
    script = (
        "import sys, torch\n"
        "from rpnkit.learner.dynamo_import import (\n"
        "    defer_dynamo_import, defer_step_import, dynamo_deferred)\n"
        "defer_dynamo_import()\n"
        "p = torch.nn.Parameter(torch.ones(3))\n"
        "opt = torch.optim.SGD([p], lr=0.1)\n"
        "defer_step_import(opt)\n"
        "p.grad = torch.ones(3); opt.step()\n"
        "deferred = dynamo_deferred() and 'torch._dynamo' not in sys.modules\n"
        "import torch._dynamo\n"
        "print(deferred, dynamo_deferred())\n"
        "state = opt.state_dict(); opt.load_state_dict(state); opt.zero_grad()\n"
        "p.grad = torch.ones(3); opt.step(); print(*p.tolist())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["True", "False"]
    assert [float(v) for v in lines[1].split()] == pytest.approx([0.8] * 3)  # two SGD steps


STEP_SCRIPT = """
import sys, torch
from rpnkit.learner.dynamo_import import defer_dynamo_import, defer_step_import

def train(name, kwargs):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    optimizer = getattr(torch.optim, name)(model.parameters(), **kwargs)
    defer_step_import(optimizer)
    calls = []
    optimizer.register_step_pre_hook(lambda *a: calls.append("pre"))
    optimizer.register_step_post_hook(lambda *a: calls.append("post"))
    for _ in range(5):
        optimizer.zero_grad()
        model(torch.randn(4, 5)).square().mean().backward()
        with torch.enable_grad():
            optimizer.step()
            assert torch.is_grad_enabled()
    assert calls == ["pre", "post"] * 5, calls
    return [p.detach().clone() for p in model.parameters()]

defer_dynamo_import()
cases = [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.01}),
         ("AdamW", {"lr": 0.01}), ("RMSprop", {"lr": 0.01})]
deferred = [train(name, kwargs) for name, kwargs in cases]
assert "torch._dynamo" not in sys.modules
import torch._dynamo  # torch's own step wrappers from here on
plain = [train(name, kwargs) for name, kwargs in cases]
for (name, _), mine, theirs in zip(cases, deferred, plain):
    assert all(torch.equal(a, b) for a, b in zip(mine, theirs)), name
print("same")
"""


def test_steps_without_dynamo_are_torchs_steps() -> None:
    """The stand-in ``step`` updates bit for bit as torch's, hooks and grad mode included."""
    done = subprocess.run([sys.executable, "-c", STEP_SCRIPT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["same"]


def test_compile_argument_is_checked() -> None:
    assert BackwardLearner(compile=True).compile is True
    assert BackwardLearner().compile is False
    with pytest.raises(ConfigError, match="compile must be true or false"):
        BackwardLearner(compile="yes")  # type: ignore[arg-type]


def test_compile_time_cost_estimate() -> None:
    assert compile_time_cost([5.0, 1.0, 2.0, 1.0]) == pytest.approx(4.0)
    assert compile_time_cost([0.5, 1.0, 1.0]) == 0.0
    assert compile_time_cost([3.0]) == 3.0
    assert compile_time_cost([]) == 0.0


@pytest.mark.e2e
def test_compiled_training_saves_weights_for_the_plain_model() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(24, 4), torch.randint(0, 3, (24,))
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    model = nn.Linear(4, 3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    learner = BackwardLearner(n_epochs=1, compile=True, verbose=False)
    record = learner.train(model, {"train_loader": loader, "test_loader": loader})
    assert record["preparation"]["compile_time_cost"] >= 0.0
    plain = nn.Linear(4, 3)
    plain.load_state_dict(model.state_dict())
    assert not torch.equal(plain.weight, before["weight"])
    expected = BackwardLearner(n_epochs=1, verbose=False)
    eager = nn.Linear(4, 3)
    eager.load_state_dict(before)
    expected.train(eager, {"train_loader": loader, "test_loader": loader})
    torch.testing.assert_close(plain.weight, eager.weight, rtol=1e-4, atol=1e-5)


def test_history_stays_readable(tmp_path: Path) -> None:
    """A run with threads: keeps every output file readable JSON."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**TINY, "threads": 1, "output": {"dir": "run"}}))
    done = _rpnkit("train", str(config), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    history = json.loads((tmp_path / "run" / "history.json").read_text())["history"]
    assert len(history) == 1


def _environment_after_validate(config: Path, *, before: str = "", env: dict[str, str]) -> str:
    """``THP_MEM_ALLOC_ENABLE`` as the process sees it after ``rpnkit validate`` ran in it."""
    script = (
        f"{before}import os, sys; from rpnkit.cli import main; "
        f"code = main(['validate', {str(config)!r}]); "
        "print(os.environ.get('THP_MEM_ALLOC_ENABLE', 'unset')); sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


def test_the_command_turns_on_huge_pages_unless_the_user_chose(tmp_path: Path) -> None:
    import os

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    environ = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    assert _environment_after_validate(config, env=environ) == "1"
    chosen = {**environ, "THP_MEM_ALLOC_ENABLE": "0"}
    assert _environment_after_validate(config, env=chosen) == "0"
    # called from a program that already uses torch, the setting could no longer apply
    late = _environment_after_validate(config, before="import torch; ", env=environ)
    assert late == "unset"
