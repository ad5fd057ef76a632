"""A corpus of bad inputs: each is refused with exit code 2 and one line naming the field and
the value, with no traceback and nothing left on disk."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

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
    ("optimizer lr not a number", (GOOD_DATA + GOOD_MODEL + "learner: {optimizer: {name: adam, parameters: {lr: fast}}}\n").encode(),
     ("optimizer 'adam'", "lr='fast'", "non-negative")),
    ("negative optimizer lr", (GOOD_DATA + GOOD_MODEL + "learner: {optimizer: {name: sgd, parameters: {lr: -0.1}}}\n").encode(),
     ("lr=-0.1", "non-negative")),
    ("negative momentum", (GOOD_DATA + GOOD_MODEL + "learner: {optimizer: {name: sgd, parameters: {lr: 0.1, momentum: -1}}}\n").encode(),
     ("momentum=-1", "non-negative")),
    ("nan weight decay", (GOOD_DATA + GOOD_MODEL + "learner: {optimizer: {name: adamw, parameters: {weight_decay: .nan}}}\n").encode(),
     ("weight_decay=nan", "finite")),
    ("unknown optimizer parameter", (GOOD_DATA + GOOD_MODEL + "learner: {optimizer: {name: adam, parameters: {lrr: 0.1}}}\n").encode(),
     ("lrr", "'lr'")),
    ("unknown scheduler", (GOOD_DATA + GOOD_MODEL + "learner: {lr_scheduler: stepp}\n").encode(), ("stepp", "'step'")),
    ("unknown loss", (GOOD_DATA + GOOD_MODEL + "learner: {loss: mse_los}\n").encode(), ("mse_los",)),
    ("unknown metric", (GOOD_DATA + GOOD_MODEL + "metric: acuracy\n").encode(), ("acuracy", "'accuracy'")),
    ("unknown model", (GOOD_DATA + "model: rnp\n").encode(), ("rnp", "'rpn'")),
    ("unknown learner key", (GOOD_DATA + GOOD_MODEL + "learner: {n_epoch: 2}\n").encode(), ("n_epoch", "'n_epochs'")),
    ("unknown output key", (GOOD_DATA + GOOD_MODEL + "output: {dri: x}\n").encode(), ("dri",)),
    ("text epochs", (GOOD_DATA + GOOD_MODEL + "learner: {n_epochs: many}\n").encode(), ("n_epochs", "many")),
    ("fractional epochs", (GOOD_DATA + GOOD_MODEL + "learner: {n_epochs: 1.5}\n").encode(), ("n_epochs", "1.5")),
    ("negative epochs", (GOOD_DATA + GOOD_MODEL + "learner: {n_epochs: -3}\n").encode(), ("n_epochs", "-3")),
    ("text grad clip", (GOOD_DATA + GOOD_MODEL + "learner: {grad_clip_norm: x}\n").encode(), ("grad_clip_norm='x'",)),
    ("negative grad clip", (GOOD_DATA + GOOD_MODEL + "learner: {grad_clip_norm: -1}\n").encode(), ("grad_clip_norm=-1",)),
    ("zero batch size", (b"data: {name: iris, parameters: {batch_size: 0}}\n" + GOOD_MODEL.encode()), ("batch_size", "0")),
    ("text batch size", (b"data: {name: iris, parameters: {batch_size: big}}\n" + GOOD_MODEL.encode()), ("batch_size", "'big'")),
    ("unknown dataset parameter", (b"data: {name: iris, parameters: {batch_sise: 8}}\n" + GOOD_MODEL.encode()),
     ("batch_sise", "'batch_size'")),
    ("huge synthetic dataset", (b"data: {name: function, parameters: {n_samples: 1000000000000}}\n"
     b"model: {name: rpn, parameters: {layers: [{m: 1, n: 1}]}}\n"), ("n_samples=1000000000000", "memory")),
    ("huge equation dataset", (b"data: {name: elementary, parameters: {n_samples: 1000000000000}}\n"
     b"model: {name: rpn, parameters: {layers: [{m: 1, n: 1}]}}\n"), ("n_samples=1000000000000", "memory")),
    ("negative dataset seed", (b"data: {name: function, parameters: {seed: -1}}\n"
     b"model: {name: rpn, parameters: {layers: [{m: 1, n: 1}]}}\n"), ("seed", "-1")),
    ("unknown synthetic function", (b"data: {name: function, parameters: {function: sinn}}\n"
     b"model: {name: rpn, parameters: {layers: [{m: 1, n: 1}]}}\n"), ("sinn", "'sin'")),
    ("missing data file", (b"data: {name: csv, parameters: {path: /nonexistent/x.csv, target: y}}\n" + GOOD_MODEL.encode()),
     ("/nonexistent/x.csv",)),
    ("float seed", (f"seed: 1.5\n{GOOD_DATA}{GOOD_MODEL}").encode(), ("seed", "1.5")),
    ("boolean seed", (f"seed: true\n{GOOD_DATA}{GOOD_MODEL}").encode(), ("seed", "True")),
    ("layers not a list", (GOOD_DATA + "model: {name: rpn, parameters: {layers: 4}}\n").encode(), ("layers",)),
    ("zero width layer", (GOOD_DATA + "model: {name: rpn, parameters: {layers: [{m: 4, n: 0}]}}\n").encode(), ("n", "0")),
    ("auto misspelt", (GOOD_DATA + "model: {name: rpn, parameters: {layers: [{m: autoo, n: 3}]}}\n").encode(),
     ("model.layers[0].m='autoo'", "(did you mean 'auto'?)", "an integer >= 1 or 'auto'")),
    ("zero input size", (GOOD_DATA + "model: {name: rpn, parameters: {layers: [{m: 0, n: 3}]}}\n").encode(),
     ("model.layers[0].m=0", "an integer >= 1 or 'auto'")),
    ("negative output size", (GOOD_DATA + "model: {name: rpn, parameters: {layers: [{m: 4, n: -1}]}}\n").encode(),
     ("model.layers[0].n=-1", "an integer >= 1 or 'auto'")),
    ("auto on an inner layer's n", (GOOD_DATA + "model: {name: rpn, parameters: {layers: [{m: auto, n: auto}, {m: auto, n: 3}]}}\n").encode(),
     ("model.layers[0].n='auto'", "give a number")),
    ("auto inside a preset's dims", (GOOD_DATA + "model: {name: kan, parameters: {dims: [auto, auto, auto]}}\n").encode(),
     ("dims[1]='auto'", "give a number")),
    ("unknown reconciliation", (GOOD_DATA + "model: {name: rpn, parameters: {layers: [{m: 4, n: 3, reconciliation: identty}]}}\n").encode(),
     ("identty", "'identity'")),
    ("unknown layer key", (GOOD_DATA + "model: {name: rpn, parameters: {layers: [{m: 4, n: 3, expanson: taylor}]}}\n").encode(),
     ("expanson",)),
    ("model as a shell function", (GOOD_DATA + "model: {name: subprocess.run}\n").encode(), ("model", "subprocess.run")),
    ("optimizer as eval", (GOOD_DATA + GOOD_MODEL + "learner: {optimizer: builtins.eval}\n").encode(),
     ("learner.optimizer", "builtins.eval")),
    ("metric as a shell command", (GOOD_DATA + GOOD_MODEL + "metric: os.system\n").encode(), ("os.system",)),
    ("python tag", (GOOD_DATA + GOOD_MODEL + "seed: !!python/object/apply:os.system [echo hi]\n").encode(), ("python",)),
    ("data not a mapping or name", (b"data: 5\n" + GOOD_MODEL.encode()), ("data",)),
    ("missing model", GOOD_DATA.encode(), ("model",)),
    ("bad precision", (GOOD_DATA + GOOD_MODEL + "learner: {precision: fp8}\n").encode(), ("precision", "fp8")),
    ("bad scheduler interval", (GOOD_DATA + GOOD_MODEL + "learner: {lr_scheduler: step, lr_scheduler_interval: hour}\n").encode(),
     ("lr_scheduler_interval", "hour")),
    ("empty file", b"", ("data",)),
    ("device not available", (GOOD_DATA + GOOD_MODEL + "device: cuda:7\n").encode(), ("device", "cuda:7")),
    ("scheduler gamma not a number", (GOOD_DATA + GOOD_MODEL + "learner: {lr_scheduler: {name: step, parameters: {step_size: 1, gamma: x}}}\n").encode(),
     ("lr_scheduler 'step_lr'", "gamma='x'", "a finite number")),
    ("scheduler step size not an integer", (GOOD_DATA + GOOD_MODEL + "learner: {lr_scheduler: {name: step, parameters: {step_size: 1.5}}}\n").encode(),
     ("step_size=1.5", "an integer")),
    ("duplicate section", (GOOD_DATA + GOOD_MODEL + "learner: {n_epochs: 1}\nlearner: {n_epochs: 2}\n").encode(),
     ("'learner'", "given twice", "line 4")),
    ("callbacks naming code", (GOOD_DATA + GOOD_MODEL + "learner: {callbacks: [os.system]}\n").encode(),
     ("learner.callbacks", "os.system")),
    ("a million threads", (f"threads: 1000000\n{GOOD_DATA}{GOOD_MODEL}").encode(), ("threads=1000000", "valid: 1 to")),
    ("checkpoints outside the run", (GOOD_DATA + GOOD_MODEL + "learner: {checkpoint_dir: ../escaped}\n").encode(),
     ("learner.checkpoint_dir", "'../escaped'", "outside the run directory")),
    ("logger writing elsewhere", (GOOD_DATA + GOOD_MODEL + "output: {loggers: [{name: csv, parameters: {directory: /tmp/x}}]}\n").encode(),
     ("output.loggers[0].parameters.directory", "'/tmp/x'")),
    ("a __main__ module as a loss", (GOOD_DATA + GOOD_MODEL + "learner: {loss: venv.__main__.EnvBuilder}\n").encode(),
     ("learner.loss", "venv.__main__", "runs a program")),
    ("a module that is not imported", (GOOD_DATA + GOOD_MODEL + "learner: {loss: antigravity.X}\n").encode(),
     ("learner.loss", "'antigravity'", "--trust-code")),
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
    assert len(errors) == 1, (captured.out, captured.err)
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


def _rpnkit(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rpnkit", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.mark.e2e
def test_validate_reports_each_of_several_files_on_its_own_line(tmp_path: Path) -> None:
    names = ["good.yaml", *(f"bad{i}.yaml" for i in range(len(CASES)))]
    (tmp_path / "good.yaml").write_text(GOOD_DATA + GOOD_MODEL)
    for i, (_, text, _) in enumerate(CASES):
        (tmp_path / f"bad{i}.yaml").write_bytes(text)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = _rpnkit("validate", *names, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "good.yaml: OK" in result.stdout
    for i, (case, _, words) in enumerate(CASES):
        lines = [
            line
            for line in (result.stdout + result.stderr).splitlines()
            if line.startswith("error") and all(w in line for w in words)
        ]
        assert lines, (case, result.stdout, result.stderr)
        assert f"bad{i}.yaml" in result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("make", "overwrite", "words"),
    [
        (lambda out: out.write_text("x"), False, ("exists and is not a directory",)),
        (lambda out: (out / "model.pt").mkdir(parents=True), True, ("'model.pt' is a directory",)),
        (lambda out: out.mkdir() or (out / "x").write_text("x"), False, ("is not empty",)),
        (lambda out: out.parent.joinpath("blocker").write_text("x"), False, ()),
    ],
)  # fmt: skip
@pytest.mark.e2e
def test_validate_refuses_the_output_dirs_train_refuses(
    tmp_path: Path, make: Any, overwrite: bool, words: tuple[str, ...]
) -> None:
    (tmp_path / "good.yaml").write_text(GOOD_DATA + GOOD_MODEL)
    out = tmp_path / "run"
    make(out)
    target = tmp_path / "blocker" / "run" if not words else out
    if not words:
        words = ("cannot be created", "is a file")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    for command in ("validate", "train"):
        extra = ["--quiet"] if command == "train" else []
        extra += ["--set", "output.overwrite=true"] if overwrite else []
        result = _rpnkit(command, "good.yaml", "--output", str(target), *extra, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        errors = [e for e in (result.stdout + result.stderr).splitlines() if e.startswith("error")]
        assert len(errors) == 1 and all(w in errors[0] for w in words), (command, errors)
        assert "Traceback" not in result.stderr
        assert sorted(str(p) for p in tmp_path.rglob("*")) == before


# -- data files: training, predict and evaluate read them; each problem is one line ------------
_ROWS = ["a,b,y"] + [f"{i % 7}.5,{i % 3},{i % 2}" for i in range(40)]


def _table(*middle: str, header: str = "a,b,y", width: int = 3) -> bytes:
    rows = [header, *(",".join(r.split(",")[:width]) for r in _ROWS[1:6]), *middle]
    return (
        "\n".join([*rows, *(",".join(r.split(",")[:width]) for r in _ROWS[6:])]) + "\n"
    ).encode()


def _pickled_object_npz(path: Path) -> None:
    import numpy as np

    np.savez(path, x=np.array([[1, 2], [3, 4]], dtype=object), y=np.array([0, 1]))


def _huge_npz_label(path: Path) -> None:
    import numpy as np

    y = np.linspace(-1.0, 1.0, 40)
    y[7] = 1e39  # finite in float64, infinite in float32
    np.savez(path, x=np.arange(80.0).reshape(40, 2), y=y)


def _huge_npz_feature(path: Path) -> None:
    import numpy as np

    x = np.arange(80.0).reshape(40, 2)
    x[33, 1] = -1e39
    np.savez(path, x=x, y=np.arange(40) % 2)


# (case id, file name, contents (bytes, or a function writing the file), words of the line)
DATA_CASES: list[tuple[str, str, Any, tuple[str, ...]]] = [
    ("a latin-1 byte", "latin.csv", _table("1.0,2\xff,1").replace(b"\xc3\xbf", b"\xff"),
     ("'latin.csv'", "not UTF-8", "0xff", "line 7")),
    ("a cell over 128 KiB", "big.csv", _table("1," + "2" * (140 * 1024) + ",1"),
     ("'big.csv'", "line 7", "over 131,072 characters")),
    ("1e39, infinite as float32", "huge.csv", _table("1e39,1,1"), ("'huge.csv'", "column 'a'", "'1e39'", "float32")),
    ("a header naming a column twice", "dup.csv", _table(header="a,a,y"), ("'dup.csv'", "'a'", "twice")),
]  # fmt: skip


def _write(path: Path, contents: Any) -> None:
    if callable(contents):
        contents(path)
    else:
        path.write_bytes(contents)


def _one_line(result: subprocess.CompletedProcess[str], words: tuple[str, ...]) -> str:
    errors = [e for e in (result.stdout + result.stderr).splitlines() if e.startswith("error")]
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert len(errors) == 1 and all(w in errors[0] for w in words), errors
    assert "Traceback" not in result.stderr and "allow_pickle" not in result.stderr
    return errors[0]


@pytest.mark.parametrize(
    ("case", "name", "contents", "words"),
    [
        *DATA_CASES,
        ("an object array", "obj.npz", _pickled_object_npz, ("'obj.npz'", "Python objects")),
        ("1e39 in npz regression labels", "huge_y.npz", _huge_npz_label,
         ("'huge_y.npz'", "labels array 'y'", "'1e+39' at row 8", "float32")),
        ("1e39 in streamed npz features", "huge_x.stream.npz", _huge_npz_feature,
         ("'huge_x.stream.npz'", "features array 'x'", "'-1e+39' at row 34", "float32")),
    ],
    ids=[*(c[0] for c in DATA_CASES), "an object array", "1e39 npz label", "1e39 streamed npz"],
)  # fmt: skip
def test_a_bad_data_file_is_refused_by_training_in_one_line(
    tmp_path: Path, case: str, name: str, contents: Any, words: tuple[str, ...]
) -> None:
    _write(tmp_path / name, contents)
    stream = ", stream: true" if ".stream." in name else ""
    data = (
        f"npz, parameters: {{path: {name}{stream}}}"
        if name.endswith(".npz")
        else f"csv, parameters: {{path: {name}, target: y}}"
    )
    (tmp_path / "c.yaml").write_text(
        f"seed: 0\ndata: {{name: {data}}}\nmodel: {{name: rpn, parameters: {{layers: [{{m: 2, n: 2}}]}}}}\n"
        "learner: {n_epochs: 1}\n"
    )  # fmt: skip
    result = _rpnkit("train", "c.yaml", "--output", "run", "--quiet", cwd=tmp_path)
    _one_line(result, words)
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run trained on a two-feature CSV (columns a, b; target y)."""
    folder = tmp_path_factory.mktemp("small_run")
    (folder / "good.csv").write_text("\n".join(_ROWS) + "\n")
    (folder / "c.yaml").write_text(
        f"seed: 0\ndata: {{name: csv, parameters: {{path: {folder / 'good.csv'}, target: y}}}}\n"
        "model: {name: rpn, parameters: {layers: [{m: 2, n: 2}]}}\nlearner: {n_epochs: 1}\n"
    )
    assert main(["train", str(folder / "c.yaml"), "--output", str(folder / "run"), "--quiet"]) == 0
    return folder / "run"


def _numpy_inputs(kind: str) -> Any:
    def write(path: Path) -> None:
        import pickle

        import numpy as np

        if kind == "object npz":
            np.savez(path, x=np.array([[1, 2], [3, 4]], dtype=object))
        elif kind == "object npy":
            np.save(path, np.array([[1, 2], [3, 4]], dtype=object), allow_pickle=True)
        else:  # a pickle named .npy
            path.write_bytes(pickle.dumps([[1.0, 2.0]]))

    return write


PREDICT_CASES: list[tuple[str, str, Any, tuple[str, ...]]] = [
    *((case, name, _table(*(
        [{"latin.csv": "1.0,2\xff", "big.csv": "1," + "2" * (140 * 1024), "huge.csv": "1e39,1"}[name]] if name != "dup.csv" else []),
        header="a,a" if name == "dup.csv" else "a,b", width=2).replace(b"\xc3\xbf", b"\xff"), words)
      for case, name, _, words in DATA_CASES),
    ("an object array in an npz", "obj.npz", _numpy_inputs("object npz"), ("'obj.npz'", "array 'x'", "Python objects")),
    ("an object .npy", "obj.npy", _numpy_inputs("object npy"), ("'obj.npy'", "Python objects")),
    ("a pickle named .npy", "pickle.npy", _numpy_inputs("pickle"), ("'pickle.npy'", "neither a .npy array nor an .npz")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "name", "contents", "words"), PREDICT_CASES, ids=[c[0] for c in PREDICT_CASES]
)
def test_a_bad_input_file_is_refused_by_predict_in_one_line(
    tmp_path: Path, small_run: Path, case: str, name: str, contents: Any, words: tuple[str, ...]
) -> None:
    _write(tmp_path / name, contents)
    result = _rpnkit("predict", str(small_run), name, "-o", "out.csv", cwd=tmp_path)
    _one_line(result, words)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("name", ["obj.npz", "latin.csv"])
def test_a_bad_labelled_file_is_refused_by_evaluate_in_one_line(
    tmp_path: Path, small_run: Path, name: str
) -> None:
    if name == "obj.npz":
        _pickled_object_npz(tmp_path / name)
        words: tuple[str, ...] = ("'obj.npz'", "Python objects")
    else:
        (tmp_path / name).write_bytes(_table("1.0,2\xff,1").replace(b"\xc3\xbf", b"\xff"))
        words = ("'latin.csv'", "not UTF-8", "0xff", "line 7")
    _one_line(_rpnkit("evaluate", str(small_run), "--data", name, cwd=tmp_path), words)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_later_batch_of_another_width_is_one_line() -> None:
    import torch
    from torch import nn

    from rpnkit import BackwardLearner
    from rpnkit.errors import ConfigError

    class Ragged:
        """Two batches: 4 features, then 5."""

        def __iter__(self) -> Any:
            yield torch.randn(8, 4), torch.randint(0, 2, (8,))
            yield torch.randn(8, 5), torch.randint(0, 2, (8,))

        def __len__(self) -> int:
            return 2

    loaders = {"train_loader": Ragged(), "test_loader": Ragged()}
    with pytest.raises(ConfigError) as caught:
        BackwardLearner(n_epochs=1).train(nn.Linear(4, 2), loaders, disable_tqdm=True)
    message = str(caught.value)
    assert "\n" not in message
    assert "batch 1 of" in message and "width 5" in message and "in_features=4" in message
