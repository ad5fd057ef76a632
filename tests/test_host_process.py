"""A library call leaves its host process as it found it; only the ``rpnkit`` command tunes its own.

Every check runs in a fresh interpreter, so that nothing an earlier test did to this one
(torch's classes, the environment, the warning display) can hide a change.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
import yaml

from rpnkit.learner.dynamo_import import VERIFIED_TORCH, verified

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "seed": 0,
    "data": {"name": "iris", "parameters": {"batch_size": 32}},
    "model": {"name": "rpn", "parameters": {"layers": [{"m": 4, "n": 3}]}},
    "learner": {"n_epochs": 1},
}

# Prints, as one JSON line, what a host process would see of torch and of itself.
SNAPSHOT = """
import json, os, sys, warnings
import torch

def _cells(function):
    code = getattr(function, "__code__", None)
    if code is None:
        return {}
    return dict(zip(code.co_freevars, function.__closure__ or ()))

def snapshot():
    from rpnkit.learner import dynamo_import

    steps = {}
    for name in ("SGD", "Adam", "AdamW"):
        step = getattr(torch.optim, name).step
        inner = _cells(step).get("func")  # torch's profiling wrapper, once an instance exists
        inner = inner.cell_contents if inner is not None else step
        steps[name] = inner.__code__.co_qualname
    disabled = {}
    for name in ("add_param_group", "zero_grad", "state_dict", "load_state_dict"):
        fn = _cells(torch.optim.Optimizer.__dict__[name]).get("fn")
        fn = fn.cell_contents if fn is not None else None
        disabled[name] = fn is not None and getattr(fn, "__dynamo_disable", None) is fn
    return {
        "steps": steps,
        "stand_ins": disabled,
        "deferred": dynamo_import.dynamo_deferred() or dynamo_import.installed(),
        "meta_path": [repr(finder) for finder in sys.meta_path],
        "showwarning": repr(warnings.showwarning),
        "threads": torch.get_num_threads(),
        "environ": dict(os.environ),
        "dynamo": "torch._dynamo" in sys.modules,
    }
"""


def _python(script: str, *, env: dict[str, str] | None = None) -> list[dict[str, object]]:
    """Run ``script`` (after :data:`SNAPSHOT`) in a fresh interpreter; its JSON lines."""
    done = subprocess.run(
        [sys.executable, "-c", SNAPSHOT + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _environ_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}


LIBRARY_TRAINING = """
import torch
from rpnkit import BackwardLearner, build
torch.set_num_threads(2)
for name in ("SGD", "Adam", "AdamW"):  # torch hooks a class's step at its first instance
    getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(1))], lr=0.1)
before = snapshot()
print(json.dumps(before))
for optimizer in ({"name": "adam", "parameters": {"lr": 0.01}}, None):
    learner = BackwardLearner(n_epochs=1, verbose=False, seed=0, optimizer=optimizer)
    learner.train(build("model", "rpn", layers=[{"m": 4, "n": 3}]), build("dataset", "iris"))
print(json.dumps(snapshot()))
"""


def test_library_training_leaves_torch_and_the_process_as_they_were() -> None:
    """``BackwardLearner.train`` patches no torch class, finder, handler, thread or variable."""
    environ = _environ_without("THP_MEM_ALLOC_ENABLE", "MLFLOW_ALLOW_FILE_STORE")
    before, after = _python(LIBRARY_TRAINING, env=environ)
    torchs = "_use_grad_for_differentiable.<locals>._use_grad"
    assert set(before["steps"].values()) == {torchs}  # type: ignore[union-attr]
    assert after == {**before, "dynamo": after["dynamo"]}
    assert after["deferred"] is False
    assert not any(after["stand_ins"].values())  # type: ignore[union-attr]


def test_run_config_sets_its_threads_back(tmp_path: Path) -> None:
    """``run_config`` trains with the config's threads, then gives torch its own back."""
    script = f"""
    import torch
    from rpnkit.run.config import normalize_config
    from rpnkit.run.runner import run_config
    import torch._dynamo  # what torch itself sets on import (TORCHINDUCTOR_CACHE_DIR) is set
    torch.set_num_threads(2)
    before = snapshot()
    config = normalize_config({{**{TINY!r}, "threads": 1, "output": {{"dir": {str(tmp_path / "run")!r}}}}})
    run_config(config, verbose=False)
    after = snapshot()
    print(json.dumps(before)); print(json.dumps(after))
    """
    environ = _environ_without("THP_MEM_ALLOC_ENABLE", "MLFLOW_ALLOW_FILE_STORE")
    before, after = _python(script, env=environ)
    assert before["threads"] == after["threads"] == 2
    assert after["environ"] == before["environ"]
    assert after["showwarning"] == before["showwarning"]
    assert after["meta_path"] == before["meta_path"]
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["threads"] == 1


def _command(command: list[str], *, before: str = "") -> tuple[dict[str, object], ...]:
    """Snapshots before and after ``rpnkit.cli.main(command)`` in a fresh interpreter."""
    script = f"""
    from rpnkit.cli import main
    first = snapshot()
    code = main({command!r})
    assert code == 0, code
    print(json.dumps(first)); print(json.dumps(snapshot()))
    """
    script = before + "\n" + textwrap.dedent(script)
    return tuple(_python(script, env=_environ_without("THP_MEM_ALLOC_ENABLE")))


def test_validate_applies_no_threads_and_restores_the_warning_display(tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**TINY, "threads": 1}))
    first, after = _command(
        ["validate", str(config), "--threads", "1"], before="torch.set_num_threads(2)"
    )
    assert first["threads"] == after["threads"] == 2
    assert after["showwarning"] == first["showwarning"]


def test_a_command_gives_the_warning_display_back() -> None:
    script = """
    import warnings
    from rpnkit.cli import main
    shown = warnings.showwarning
    print(main(["list", "loss"]) == 0 and warnings.showwarning is shown)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "True"


def test_the_command_defers_dynamo_on_a_verified_torch(tmp_path: Path) -> None:
    """On 2.13 ``rpnkit validate`` puts the stand-ins in place and never imports dynamo."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    _, after = _command(["validate", str(config)])
    assert after["deferred"] is True and after["dynamo"] is False
    assert all(after["stand_ins"].values())  # type: ignore[union-attr]


def test_the_command_changes_nothing_of_an_unverified_torch(tmp_path: Path) -> None:
    """On a torch release it was not verified on, the command leaves torch's internals alone."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    pretend = (
        "from torch.torch_version import TorchVersion\ntorch.__version__ = TorchVersion('2.14.0')"
    )
    first, after = _command(["validate", str(config)], before=pretend)
    assert after["deferred"] is False
    assert not any(after["stand_ins"].values())  # type: ignore[union-attr]
    assert after["meta_path"] == first["meta_path"]
    assert after["dynamo"] is True  # torch's own wrappers imported it, as without rpnkit


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2.13.0+cpu", True),
        ("2.13.1", True),
        ("2.13.0a0+git1234", True),
        ("2.14.0", False),
        ("2.12.1+cu121", False),
        ("3.13.0", False),
        ("nightly", False),
    ],
)
def test_verified_torch_versions(version: str, expected: bool) -> None:
    assert verified(version) is expected


def _requirement(dependencies: list[str], name: str) -> str:
    (found,) = [d for d in dependencies if d.split(">")[0].split("=")[0].strip() == name]
    return found


def test_declared_python_and_torch_versions_agree() -> None:
    """pyproject's requires-python, ruff's target and mypy's version name one Python; the torch
    floor is a release the torch-internal code was verified on; the plugins declare the same."""
    main = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requires = main["project"]["requires-python"]
    assert requires.startswith(">=")
    major, minor = (int(part) for part in requires[2:].split("."))
    assert main["tool"]["ruff"]["target-version"] == f"py{major}{minor}"
    assert main["tool"]["mypy"]["python_version"] == f"{major}.{minor}"
    assert sys.version_info >= (major, minor)
    torch_floor = _requirement(main["project"]["dependencies"], "torch")
    floor = tuple(int(part) for part in torch_floor.removeprefix("torch>=").split("."))
    assert floor[:2] in VERIFIED_TORCH
    plugins = sorted((ROOT / "plugins").glob("*/pyproject.toml"))
    assert plugins
    for path in plugins:
        plugin = tomllib.loads(path.read_text())["project"]
        assert plugin["requires-python"] == requires, path
        assert _requirement(plugin["dependencies"], "torch") == torch_floor, path


FAKE_MLFLOW = {
    "mlflow/__init__.py": "",
    "mlflow/entities/__init__.py": (
        "from collections import namedtuple\n"
        "Param = namedtuple('Param', 'key value')\n"
        "Metric = namedtuple('Metric', 'key value timestamp step')\n"
    ),
    "mlflow/tracking/__init__.py": (
        "import os, types\n"
        "seen = []  # MLFLOW_ALLOW_FILE_STORE as each call of the logger found it\n"
        "class MlflowClient:\n"
        "    def __init__(self, tracking_uri):\n"
        "        seen.append(os.environ.get('MLFLOW_ALLOW_FILE_STORE'))\n"
        "    def __getattr__(self, name):\n"
        "        def call(*args, **kwargs):\n"
        "            seen.append(os.environ.get('MLFLOW_ALLOW_FILE_STORE'))\n"
        "            info = types.SimpleNamespace(run_id='r1', experiment_id='e1')\n"
        "            return None if name == 'get_experiment_by_name' else types.SimpleNamespace(\n"
        "                info=info) if name == 'create_run' else 'e1'\n"
        "        return call\n"
    ),
}


def test_the_mlflow_logger_never_touches_the_environment(tmp_path: Path) -> None:
    """Through every call the logger makes, the environment stays the host's.

    MLflow is an optional extra, so this runs the logger against a stand-in ``mlflow``
    package that records the environment at each call (the real one: test_loggers.py).
    """
    for name, text in FAKE_MLFLOW.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    script = f"""
    import torch._dynamo  # torch's own import sets TORCHINDUCTOR_CACHE_DIR
    from rpnkit import BackwardLearner, build
    from mlflow.tracking import seen
    before = snapshot()
    logger = {{"name": "mlflow", "parameters": {{"directory": {str(tmp_path / "run")!r}}}}}
    learner = BackwardLearner(n_epochs=2, verbose=False, seed=0, loggers=[logger])
    learner.train(build("model", "rpn", layers=[{{"m": 4, "n": 3}}]), build("dataset", "iris"))
    print(json.dumps(before)); print(json.dumps({{**snapshot(), "seen": seen}}))
    """
    environ = _environ_without("MLFLOW_ALLOW_FILE_STORE")
    environ["PYTHONPATH"] = os.pathsep.join([str(tmp_path), environ.get("PYTHONPATH", "")])
    before, after = _python(script, env=environ)
    # the client, the experiment looked up and created, the run, its parameters, two epochs,
    # the end: each found the variable as the host left it (unset)
    assert after.pop("seen") == [None] * 8
    assert after["environ"] == before["environ"]


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow not installed")
def test_a_program_that_does_not_allow_the_file_store_is_told_how(tmp_path: Path) -> None:
    script = f"""
    from rpnkit import BackwardLearner, build
    from rpnkit.errors import ConfigError
    logger = {{"name": "mlflow", "parameters": {{"directory": {str(tmp_path)!r}}}}}
    learner = BackwardLearner(n_epochs=1, verbose=False, loggers=[logger])
    try:
        learner.train(build("model", "rpn", layers=[{{"m": 4, "n": 3}}]), build("dataset", "iris"))
    except ConfigError as exc:
        print(json.dumps({{"error": str(exc)}}))
    """
    (found,) = _python(script, env=_environ_without("MLFLOW_ALLOW_FILE_STORE"))
    assert "MLFLOW_ALLOW_FILE_STORE=true" in str(found["error"])
