"""Errors for hot-list files that cannot be read at all (a bad row is a `RowError`, not this)."""

from __future__ import annotations

from alpr_common.errors import Unprocessable


class MalformedImport(Unprocessable):
    """The file as a whole is unreadable: wrong encoding, binary, wrong header or layout.

    The detail names the line and column where reading failed and what the file should contain,
    so a hotlist manager can fix the extract without reading code.
    """

    def __init__(
        self,
        problem: str,
        *,
        fmt: str,
        expected: str,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        where = ""
        if line is not None:
            where = f"line {line}" + (f", column {column}" if column is not None else "") + ": "
        super().__init__(
            f"{fmt} hot-list file, {where}{problem}. Expected: {expected}",
            extra={"format": fmt, "line": line, "column": column},
        )
        self.problem = problem
        self.line = line
        self.column = column


class UnknownImportFormat(Unprocessable):
    """The caller named a file format no importer handles."""
