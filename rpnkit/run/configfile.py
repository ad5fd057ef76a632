"""Reading a config file: UTF-8 text, a YAML mapping, bounded in size before it is built.

A config may come from anywhere (a paper's repository, a colleague), so reading it is
defensive: the file's size is bounded, bytes that are not UTF-8 text or NUL bytes are a
one-line error with their offset, and YAML aliases are counted at every use before the
document is constructed, so a few hundred bytes expanding to billions of values ("billion
laughs") are refused at once instead of eating memory. Errors name the line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rpnkit.errors import ConfigError, one_line

__all__ = ["MAX_CONFIG_BYTES", "MAX_CONFIG_NODES", "load_yaml"]

#: The largest config file read, in bytes.
MAX_CONFIG_BYTES = 4 * 2**20
#: The most values a config's YAML may expand to, aliases counted at every use.
MAX_CONFIG_NODES = 100_000


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from ``path``.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid YAML (with line and column) or is not a mapping.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: {len(raw):,} bytes is too large for a config file (at most "
            f"{MAX_CONFIG_BYTES:,}); data belongs in a dataset file"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save the config as UTF-8"
        ) from None
    if "\x00" in text:
        raise ConfigError(
            f"{path}: contains a NUL byte at offset {text.index(chr(0))}; a config is a text file"
        )
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_expanded_size(node, path)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{path}: malformed YAML at {where}: {problem}") from None
    except yaml.YAMLError as exc:
        reason = one_line(exc, 200)
        raise ConfigError(f"{path}: malformed YAML: {reason}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of sections, got {type(data).__name__}"
        )
    return data


def _check_expanded_size(root: yaml.Node | None, path: Path) -> None:
    """Refuse YAML whose aliases expand to more than :data:`MAX_CONFIG_NODES` nodes.

    Aliases share nodes, so a few hundred bytes can describe billions of them ("billion
    laughs"); the expanded size is counted on the composed graph, each shared node once,
    before anything is built from it.
    """
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a node reached again while being counted: a recursive alias
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        sizes[id(node)] = total
        if total > MAX_CONFIG_NODES:
            raise ConfigError(
                f"{path}: its YAML aliases expand to more than {MAX_CONFIG_NODES:,} values; "
                "a config that large is refused (write the values out, or use fewer aliases)"
            )
        return total

    if root is not None:
        size(root)
