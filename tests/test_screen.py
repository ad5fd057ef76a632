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
