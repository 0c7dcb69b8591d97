"""Small-count suppression for aggregates shown to municipal contacts and observers (pure logic).

Rules (docs/reports.md explains them for readers of the reports):

1. Primary: any count from 1 to 4 is hidden and shown as "<5" (0 and 5+ are shown).
2. Complementary: in every *group* — a parent cell and the child cells that add up to it
   (a column and its total row, a row whose first column is the sum of the others) — a
   hidden child must not be recoverable as parent minus the visible children. When exactly
   one child is hidden and the parent is visible, the smallest other child is hidden too
   (non-zero first); when the parent is hidden and every child is visible, the smallest
   non-zero child is hidden. Repeated until nothing changes, because hiding a cell in a
   column can leave a row with a single hidden cell.
3. Differences: a count c of a filtered report whose parent T (the same count with one
   filter removed, visible to the same viewer) differs by 1 to 4 is hidden as well,
   because T − c would be a small count.
4. A rate (percentage) whose numerator or base is hidden is hidden.

Cells hidden by rule 1 show "<5"; cells hidden by rules 2–3 show "n.d." (they may be large).
Nothing here imports Flask or the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

THRESHOLD = 5
SMALL = "<5"
HIDDEN = "n.d."

Coord = tuple[int, int]


def is_small(value: int | None) -> bool:
    """A count that must not be shown: 1 to 4."""
    return value is not None and 0 < value < THRESHOLD


def reveals_difference(value: int | None, parent: int | None) -> bool:
    """True when showing `value` next to a visible `parent` would reveal a small count (T − c in 1..4)."""
    if value is None or parent is None:
        return False
    return 0 < parent - value < THRESHOLD


@dataclass(frozen=True)
class Group:
    """A parent cell and the cells that add up to it (coordinates in one grid)."""

    parent: Coord
    children: tuple[Coord, ...]


def table_groups(n_rows: int, n_cols: int, *, total_row: int | None = None,
                 count_cols: Iterable[int] | None = None,
                 row_sums: Sequence[tuple[int, Sequence[int]]] = ()) -> list[Group]:
    """The additive groups of a table: each count column with its total row, and per-row sums.

    `total_row` is the index of the total row (its cells are the parents of the columns);
    `row_sums` lists (parent column, child columns) that hold in every row, total included.
    """
    cols = list(range(n_cols)) if count_cols is None else list(count_cols)
    body = [r for r in range(n_rows) if r != total_row]
    groups: list[Group] = []
    if total_row is not None:
        for c in cols:
            groups.append(Group((total_row, c), tuple((r, c) for r in body)))
    for parent_col, child_cols in row_sums:
        for r in range(n_rows):
            groups.append(Group((r, parent_col), tuple((r, c) for c in child_cols)))
    return groups


def _pick(values, candidates: list[Coord]) -> Coord | None:
    """The smallest candidate, non-zero ones first (hiding a zero protects less)."""
    usable = [c for c in candidates if values[c[0]][c[1]] is not None]
    if not usable:
        return None
    return min(usable, key=lambda c: (values[c[0]][c[1]] == 0, values[c[0]][c[1]], c))


def complementary(values: Sequence[Sequence[int | None]], hidden: set[Coord],
                  groups: Iterable[Group]) -> set[Coord]:
    """Extend `hidden` so that no hidden cell can be recomputed from a group's visible cells."""
    hidden = set(hidden)
    groups = list(groups)
    changed = True
    while changed:
        changed = False
        for group in groups:
            kids_hidden = [c for c in group.children if c in hidden]
            visible_kids = [c for c in group.children if c not in hidden]
            pick = None
            if group.parent not in hidden and len(kids_hidden) == 1:
                pick = _pick(values, visible_kids)
            elif group.parent in hidden and not kids_hidden:
                nonzero = [c for c in visible_kids if values[c[0]][c[1]]]
                pick = _pick(values, nonzero)
            if pick is not None:
                hidden.add(pick)
                changed = True
    return hidden


def suppress(values: Sequence[Sequence[int | None]], *, groups: Iterable[Group] = (),
             small_counts: bool = True, always: Iterable[Coord] = (),
             extra: Iterable[Coord] = ()) -> tuple[set[Coord], set[Coord]]:
    """Which cells to hide: (primary, secondary).

    `small_counts`: hide every 1–4 count (municipal contacts and observers). `always`: cells
    whose 1–4 counts are hidden for every viewer (the protected records' row). `extra`:
    cells already known to need hiding (rule 3, differences). `None` values are not counts.
    """
    always = set(always)
    primary = {
        (r, c)
        for r, row in enumerate(values)
        for c, value in enumerate(row)
        if is_small(value) and (small_counts or (r, c) in always)
    }
    secondary = set(extra) - primary
    hidden = complementary(values, primary | secondary, groups)
    return primary, hidden - primary


def shown(value: int | None, *, primary: bool = False, secondary: bool = False) -> str:
    """How a count is written: "<5", "n.d." or the number (Italian thousands separator)."""
    if primary:
        return SMALL
    if secondary:
        return HIDDEN
    if value is None:
        return "—"
    return f"{value:,}".replace(",", ".")
