"""The documentation's code runs, so the docs cannot rot.

For every page under ``docs/``:

* fenced ``python`` blocks without a title are executed in order, in one namespace per page,
  in a temporary working directory holding a copy of the repository's ``configs/`` (pages
  listed in :data:`COMPILED_ONLY` hold illustrative fragments and are only compiled);
* fenced blocks with a ``title="path"`` are files: they are written under the temporary
  directory. The plugin guide's files form a package that is "installed" there with a
  ``.dist-info`` folder, so its ``rpnkit`` entry point is discovered like a pip-installed
  package's, and the guide's own tests are run;
* fenced ``bash`` blocks directly preceded by ``<!-- test -->`` hold one ``rpnkit`` command,
  which is run in that directory and must exit with status 0.
"""

from __future__ import annotations

import importlib.util
import inspect
import random
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from rpnkit.cli import main
from rpnkit.plugins.state import reset_registry

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
#: Pages whose Python blocks are fragments (names defined elsewhere): compiled, not executed.
COMPILED_ONLY = frozenset({"migrating-from-tinybig.md"})
#: The pages the issue requires to be executed; they must exist and hold code.
REQUIRED = ("quickstart.md", "plugin-guide.md")

_FENCE = re.compile(
    r"(?P<marker><!-- test -->[ \t]*\n)?^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)(?P<attrs>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_TITLE = re.compile(r'title="([^"]+)"')


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    lang: str
    body: str
    title: str | None
    tested: bool
    line: int


def blocks(page: str) -> list[Block]:
    """Return the fenced code blocks of ``docs/<page>`` in order."""
    text = (DOCS / page).read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        indent = match["indent"]
        body = "".join(
            line.removeprefix(indent) for line in match["body"].splitlines(keepends=True)
        )
        title = _TITLE.search(match["attrs"])
        found.append(
            Block(
                lang=match["lang"],
                body=body,
                title=title[1] if title else None,
                tested=match["marker"] is not None,
                line=text.count("\n", 0, match.start("lang")) + 1,
            )
        )
    return found


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary working directory with the shipped configs; a fresh registry around it."""
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    reset_registry()
    yield tmp_path
    reset_registry()


def install_titled_files(page_blocks: list[Block], root: Path) -> Path | None:
    """Write the page's titled blocks under ``root``; return the ``src`` folder of a package.

    When the files include a ``pyproject.toml``, a ``.dist-info`` folder with its metadata and
    entry points is written next to its sources, which makes the folder look like a
    site-packages directory where the package is installed.
    """
    for block in page_blocks:
        if block.title is not None:
            path = root / block.title
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.body, encoding="utf-8")
    if not (root / "pyproject.toml").exists():
        return None
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    src = root / "src"
    dist_info = src / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    sections = [
        "\n".join([f"[{group}]", *(f"{name} = {value}" for name, value in points.items())])
        for group, points in project.get("entry-points", {}).items()
    ]
    (dist_info / "entry_points.txt").write_text("\n\n".join(sections) + "\n")
    return src


def run_command(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Run a documented ``rpnkit ...`` command through the console script's entry function.

    Running :func:`rpnkit.cli.main` in this process, rather than a new interpreter, keeps the
    test fast; it is the function the ``rpnkit`` script calls.
    """
    argv = shlex.split(command)
    assert argv[:1] == ["rpnkit"], f"tested shell blocks run one rpnkit command, got {command!r}"
    status = main(argv[1:])
    out, err = capsys.readouterr()
    assert status == 0, f"`{command.strip()}` exited with {status}:\n{out}{err}"


def run_test_module(path: Path) -> int:
    """Import a documented test file and call its ``test_*`` functions; return how many ran."""
    spec = importlib.util.spec_from_file_location(f"_docs_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = [f for name, f in vars(module).items() if name.startswith("test_") and callable(f)]
    for test in tests:
        assert not inspect.signature(test).parameters, f"{test.__name__} must take no fixtures"
        test()
    return len(tests)


def test_every_page_has_blocks_the_harness_understands() -> None:
    for page in REQUIRED:
        page_blocks = blocks(page)
        assert any(b.lang == "python" and b.title is None for b in page_blocks), page
        assert any(b.tested for b in page_blocks), page
    for page in PAGES:
        for block in blocks(page):
            assert block.lang, f"{page}:{block.line}: a fence needs a language"
            if block.tested:
                assert block.lang == "bash", f"{page}:{block.line}: only bash blocks are run"


def _runnable(page: str) -> bool:
    return page not in COMPILED_ONLY and any(
        (b.lang == "python" and b.title is None) or b.tested for b in blocks(page)
    )


@pytest.mark.parametrize("page", [page for page in PAGES if _runnable(page)])
@pytest.mark.e2e
def test_page_code_runs(
    page: str, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page_blocks = blocks(page)
    src = install_titled_files(page_blocks, workdir)
    imported_before = set(sys.modules)
    if src is not None:
        monkeypatch.syspath_prepend(str(src))
        reset_registry()
    namespace: dict[str, object] = {"__name__": f"docs_{Path(page).stem}"}
    try:
        for block in page_blocks:
            if block.lang == "python" and block.title is None:
                code = compile(block.body, f"docs/{page}:{block.line}", "exec")
                exec(code, namespace)
            elif block.tested:
                run_command(block.body, capsys)
        for test_file in sorted(workdir.glob("tests/test_*.py")):
            assert run_test_module(test_file) > 0, f"{test_file.name} holds no test"
    finally:
        if src is not None:  # forget the documented package, as if it were uninstalled
            for name in set(sys.modules) - imported_before:
                if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(src)):
                    del sys.modules[name]


@pytest.mark.parametrize("page", sorted(COMPILED_ONLY))
def test_fragment_pages_compile(page: str) -> None:
    for block in blocks(page):
        if block.lang == "python":
            compile(block.body, f"docs/{page}:{block.line}", "exec")


def _bash_blocks(text: str) -> list[str]:
    return [m.strip() for m in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)]


def test_quick_start_opens_with_the_readme_commands() -> None:
    readme = _bash_blocks((ROOT / "README.md").read_text())
    quickstart = _bash_blocks((DOCS / "quickstart.md").read_text())
    assert len(readme) == 4  # install + main job, the tests, your own CSV, its regression
    assert quickstart[:2] == readme[:2]
    assert "rpnkit train configs/digits.yaml" in readme[0]
    assert readme[2] == _csv_lines() and len(readme[2].splitlines()) == 3
    assert readme[3] in quickstart and "configs/regression.yaml" in readme[3]


def _csv_lines() -> str:
    """The quick start's three lines training on one's own CSV file."""
    quickstart = _bash_blocks((DOCS / "quickstart.md").read_text())
    return next(block for block in quickstart if "data.name=csv" in block)


@pytest.mark.e2e
def test_the_quick_start_trains_on_your_own_csv_in_three_lines(tmp_path: Path) -> None:
    """The three lines, run as they are, on a file of another shape than iris's."""
    generator = random.Random(0)
    rows = [",".join([*(f"feature_{i}" for i in range(6)), "label"])]
    for i in range(48):
        kind = i % 4
        cells = [f"{kind + generator.random():.3f}" for _ in range(6)]
        rows.append(",".join([*cells, ("red", "green", "blue", "gold")[kind]]))
    (tmp_path / "mine.csv").write_text("\n".join(rows) + "\n")
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    argv = [token for token in shlex.split(_csv_lines()) if token != "\n"]
    assert argv[:2] == ["rpnkit", "train"]
    result = subprocess.run(
        [sys.executable, "-m", "rpnkit", *argv[1:], "--set", "learner.n_epochs=2"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout and "Trained 2 epochs" in result.stdout
    assert (
        "auto sizes: model.parameters.layers[0].m=6, model.parameters.layers[0].n=4 (from "
        "dataset 'mine.csv')"
    ) in result.stderr.splitlines()
    saved = yaml.safe_load((tmp_path / "runs/mine/config.yaml").read_text())
    layer = saved["model"]["parameters"]["layers"][0]
    assert (layer["m"], layer["n"]) == (6, 4)
