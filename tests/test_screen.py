"""What the command prints fits the screen: ``rpnkit list`` in a pseudo-terminal, plain pipes."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest

from tests.conftest import run_rpnkit


def on_terminal(columns: int, *args: str) -> list[str]:
    """The lines ``rpnkit ARGS`` prints on a pseudo-terminal ``columns`` wide, styling removed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns)}
    process = subprocess.Popen(
        [sys.executable, "-m", "rpnkit", *args], stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.wait(timeout=120) == 0
    text = b"".join(chunks).decode().replace("\r", "")
    return re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()


@pytest.mark.parametrize("columns", [80, 120])
def test_list_fits_the_terminal(columns: int) -> None:
    lines = on_terminal(columns, "list")
    assert len(lines) > 100
    over = [line for line in lines if len(line) > columns]
    assert not over, over[:3]
    assert any(line.startswith("cosine_annealing_lr") for line in lines)
    # no alias is split across lines (a group too narrow for its columns is drawn stacked:
    # name and summary, then the aliases and plugin below); only an alias wider than the
    # space left beside the name column (20 columns at least) could ever be broken
    aliases: dict[str, list[str]] = {}
    for row in run_rpnkit("list").stdout.splitlines()[1:]:  # a pipe: group, name, aliases
        group, _, names, *_ = row.split("\t")
        aliases.setdefault(group, []).extend(a for a in names.split(",") if a)
    sections = _sections(lines, set(aliases))
    assert set(sections) == set(aliases)
    for group, text in sections.items():
        split = [
            alias
            for alias in aliases[group]
            if len(alias) <= 20 and not re.search(rf"(?<![\w.]){re.escape(alias)}(?![\w.])", text)
        ]
        assert not split, (group, split)
    assert any(len(a) > 10 for names in aliases.values() for a in names)  # some need the room


def _sections(lines: list[str], groups: set[str]) -> dict[str, str]:
    """Each group's part of the output (its title to the next group's), as one text."""
    sections: dict[str, list[str]] = {}
    group = ""
    for line in lines:
        title = line.split(":", 1)[0]
        if title in groups and line.startswith(f"{title}: "):
            group = title
            sections[group] = []
        elif group:
            sections[group].append(line)
    return {group: "\n".join(text) for group, text in sections.items()}


def test_show_and_plugins_are_plain_text_when_piped() -> None:
    shown = run_rpnkit("show", "cosine")
    assert shown.returncode == 0
    assert "aliases: cosine, cosine_annealing" in shown.stdout
    assert not set("┌│┏┃━─") & set(shown.stdout)
    plugins = run_rpnkit("plugins")
    assert plugins.returncode == 0 and not set("┌│┏┃━─") & set(plugins.stdout)
    assert plugins.stdout.splitlines()[0].split("\t")[:2] == ["name", "source"]


def test_bare_rpnkit_prints_its_commands() -> None:
    bare = run_rpnkit()
    assert bare.returncode == 0
    for command in ("train", "validate", "list", "predict", "evaluate", "export"):
        assert command in bare.stdout
