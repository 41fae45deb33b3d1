"""Plain aligned text columns: tables that read well in a terminal, a log file or a pipe."""

from __future__ import annotations

from collections.abc import Sequence


def columns(rows: Sequence[Sequence[str]], *, right: frozenset[int] = frozenset()) -> list[str]:
    """Rows as aligned text columns, the ones in `right` right-aligned; the last column (free
    text) is left ragged so that a long detail never pushes the others apart."""
    if not rows:
        return []
    aligned = len(rows[0]) - 1
    widths = [max([len(row[i]) for row in rows]) for i in range(aligned)]
    # One format for every row (`{:>7}` pads as rjust(7) does): a plan prints 10,000 of them.
    line = "  ".join(
        [f"{{:{'>' if i in right else '<'}{width}}}" for i, width in enumerate(widths)] + ["{}"]
    )
    lines = []
    for row in rows:
        if len(row) == aligned + 1:
            lines.append(line.format(*row).rstrip())
            continue
        cells = [  # a row shorter than the first: its cells, each as wide as its column
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row[:-1])
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines
