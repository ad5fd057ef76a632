"""A delimited text file's header line, and its rows, each as wide as the header.

The three readers of CSV text (the ``csv`` dataset, the graph datasets' node and edge tables,
and ``rpnkit predict``'s input files) share what a table is: a header line naming the columns,
then rows with one field per column (blank lines skipped). Each opens the file and turns the
``csv`` module's own errors into its one-line messages; this is the part they have in common.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from rpnkit.errors import ConfigError

__all__ = ["CsvReader", "read_header", "rows_as_wide"]


class CsvReader(Protocol):
    """What :func:`csv.reader` returns: rows of fields, and the line it has read up to."""

    @property
    def line_num(self) -> int:
        """The number of lines read from the file so far."""

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


def read_header(reader: CsvReader, where: str) -> list[str]:
    """The column names of the header line (stripped); ``where`` names the file in the error.

    Raises
    ------
    ConfigError
        ``WHERE has no header line``, for an empty file or a blank first line.
    """
    header = next(reader, None)
    if not header:
        raise ConfigError(f"{where} has no header line")
    return [column.strip() for column in header]


def rows_as_wide(reader: CsvReader, where: str, width: int) -> Iterator[list[str]]:
    """The rows after the header, blank lines skipped, each with ``width`` fields.

    Raises
    ------
    ConfigError
        ``WHERE: line N has K field(s), the header has WIDTH``, for the first row that has
        another number of fields (``reader.line_num`` is that row's last line).
    """
    for row in reader:
        if not row:  # a blank line
            continue
        if len(row) != width:
            raise ConfigError(
                f"{where}: line {reader.line_num} has {len(row)} field(s), the header has {width}"
            )
        yield row
