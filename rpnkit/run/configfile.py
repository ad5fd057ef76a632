"""Reading a config file: UTF-8 text, a YAML mapping, bounded in size before it is built.

A config may come from anywhere (a paper's repository, a colleague), so reading it is
defensive: the file's size is bounded, bytes that are not UTF-8 text or NUL bytes are a
one-line error with their offset, and YAML aliases are counted at every use before the
document is constructed, so a few hundred bytes expanding to billions of values ("billion
laughs") are refused at once instead of eating memory. A key given twice in one mapping (two
``learner:`` sections) is refused rather than the last one kept silently. Errors name the
line and column. Paths a config file names for the run to write to stay inside the run
directory (:func:`check_written_paths`); only the command line may send them elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import yaml

from rpnkit.errors import ConfigError, one_line

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_NODES",
    "UniqueKeyLoader",
    "check_written_paths",
    "load_yaml",
]

#: The largest config file read, in bytes.
MAX_CONFIG_BYTES = 4 * 2**20
#: The most values a config's YAML may expand to, aliases counted at every use.
MAX_CONFIG_NODES = 100_000
#: Parameters of a logger that name where it writes.
_LOGGER_PATH_KEYS = ("directory", "filename", "log_dir", "save_dir", "path")


#: PyYAML's safe loader, on libyaml's parser when PyYAML was built with it (about ten times
#: faster; the same documents, nodes and marks).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UniqueKeyLoader(_SafeLoader):
    """PyYAML's safe loader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build the mapping; a repeated key is a :class:`yaml.constructor.ConstructorError`."""
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: the base class says so
                break
            if repeated:
                first = seen[key].start_mark
                raise yaml.constructor.ConstructorError(
                    f"while constructing a mapping (key {key!r} first given at line "
                    f"{first.line + 1})",
                    node.start_mark,
                    f"key {key!r} is given twice; give each key once",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


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
    loader = UniqueKeyLoader(text)  # a SafeLoader
    try:
        node = loader.get_single_node()  # parsed once: counted, then constructed
        _check_expanded_size(node, path)
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{path}: malformed YAML at {where}: {problem}") from None
    except yaml.YAMLError as exc:
        reason = one_line(exc, 200)
        raise ConfigError(f"{path}: malformed YAML: {reason}") from None
    finally:
        loader.dispose()
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


def check_written_paths(raw: Mapping[str, Any], path: str | Path) -> None:
    """Refuse paths a config file names for writing that would leave the run directory.

    ``learner.checkpoint_dir`` and the ``directory`` / ``filename`` (and similar) parameters
    of ``output.loggers`` must be relative paths without ``..``: they are placed inside the
    run's ``output.dir``. A config from elsewhere cannot write outside the run; the command
    line (``--set``, checked after this) may.

    Raises
    ------
    ConfigError
        Naming the field and the path.
    """
    learner = raw.get("learner")
    found: list[tuple[str, Any]] = []
    if isinstance(learner, Mapping) and "checkpoint_dir" in learner:
        found.append(("learner.checkpoint_dir", learner["checkpoint_dir"]))
    output = raw.get("output")
    loggers = output.get("loggers") if isinstance(output, Mapping) else None
    for i, logger in enumerate(loggers if isinstance(loggers, list) else []):
        parameters = logger.get("parameters") if isinstance(logger, Mapping) else None
        if isinstance(parameters, Mapping):
            found += [
                (f"output.loggers[{i}].parameters.{key}", parameters[key])
                for key in _LOGGER_PATH_KEYS
                if key in parameters
            ]
    for field, value in found:
        if not isinstance(value, str):
            continue
        pure = PurePath(value)
        if pure.is_absolute() or ".." in pure.parts or value.strip() in ("", "."):
            raise ConfigError(
                f"{path}: {field}={value!r} would write outside the run directory; a config "
                "file may only name a relative path inside it (without '..'); give another "
                "place on the command line (--set)"
            )
