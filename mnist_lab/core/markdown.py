"""Markdown tables, as the leaderboards, the performance targets and the course site write them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], align: str, rows: Iterable[Sequence[str]]) -> str:
    """A markdown table ending in a newline; `align` holds one "l" or "r" per column."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(_escape(cell) for cell in cells) + " |"

    rule = ["---:" if side == "r" else "---" for side in align]
    return "\n".join([line(header), line(rule), *(line(row) for row in rows)]) + "\n"
