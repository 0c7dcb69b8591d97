"""Small-count suppression, pure logic (no app): primary, complementary, differences."""

from app.domain import suppression as s


def hidden_cells(values, **kwargs):
    primary, secondary = s.suppress(values, **kwargs)
    return primary, secondary


def test_primary_hides_only_one_to_four():
    primary, secondary = hidden_cells([[0, 1, 4, 5, 120]])
    assert primary == {(0, 1), (0, 2)} and secondary == set()
    assert [s.shown(v) for v in (0, 5, 1234)] == ["0", "5", "1.234"]
    assert s.shown(3, primary=True) == "<5" and s.shown(40, secondary=True) == "n.d."


def test_no_suppression_for_viewers_who_see_small_counts_except_forced_cells():
    primary, _ = hidden_cells([[2, 7], [3, 9]], small_counts=False, always={(1, 0)})
    assert primary == {(1, 0)}


def test_single_suppressed_cell_in_a_column_with_total_hides_the_next_smallest():
    # rows 8, 3, 12, 0; total 23: "3" alone could be recomputed as 23 - 8 - 12 - 0.
    values = [[8], [3], [12], [0], [23]]
    groups = s.table_groups(5, 1, total_row=4)
    primary, secondary = hidden_cells(values, groups=groups)
    assert primary == {(1, 0)}
    assert secondary == {(0, 0)}          # the next smallest non-zero cell, not the zero
    shown = [v for r, (v,) in enumerate(values[:4]) if (r, 0) not in primary | secondary]
    assert values[4][0] - sum(shown) == 8 + 3  # what remains is a sum of two hidden cells


def test_zero_is_hidden_only_when_nothing_else_can_be():
    values = [[3], [0], [3]]
    groups = s.table_groups(3, 1, total_row=2)
    primary, secondary = hidden_cells(values, groups=groups)
    assert primary == {(0, 0), (2, 0)} and secondary == set()  # the total is itself <5


def test_complementary_suppression_propagates_across_rows_and_columns():
    # columns a, b with a row sum: col0 = col1 + col2; the total row last.
    values = [
        [10, 7, 3],
        [20, 12, 8],
        [30, 19, 11],
    ]
    groups = s.table_groups(3, 3, total_row=2, row_sums=((0, (1, 2)),))
    primary, secondary = hidden_cells(values, groups=groups)
    hidden = primary | secondary
    assert primary == {(0, 2)}
    # row 0: 10 = 7 + ?, so 7 is hidden too; column 1 then has one hidden cell: 12 follows; row 1 then 8.
    assert {(0, 1), (1, 1), (1, 2)} <= hidden
    for group in groups:
        kids_hidden = [c for c in group.children if c in hidden]
        assert len(kids_hidden) != 1 or group.parent in hidden


def test_a_hidden_total_with_every_part_visible_hides_a_part():
    values = [[6], [9], [15]]
    groups = s.table_groups(3, 1, total_row=2)
    primary, secondary = hidden_cells(values, groups=groups, extra={(2, 0)})
    assert secondary == {(2, 0), (0, 0)}


def test_difference_between_filtered_count_and_parent():
    assert s.reveals_difference(7, 9)      # 9 - 7 = 2 people outside the filter
    assert not s.reveals_difference(7, 12)  # 5 or more: fine
    assert not s.reveals_difference(7, 7)   # nothing outside the filter
    assert not s.reveals_difference(None, 9)
