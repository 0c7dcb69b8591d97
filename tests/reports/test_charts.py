"""SVG charts: accessible names, bars proportional to their values, "<5" never drawn to size, labels escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.reports import charts
from app.reports.indicators import Cell, Row, Table

SVG = "{http://www.w3.org/2000/svg}"


def _cell(value: int | None) -> Cell:
    if value is None:
        return Cell(None, "<5", True)
    return Cell(value, str(value), False)


def _rows(values: dict[str, int | None]) -> list[Row]:
    return [Row(key, f"Etichetta {key}", (_cell(value),)) for key, value in values.items()]


def _parse(svg) -> ET.Element:
    return ET.fromstring(str(svg))  # noqa: S314 - markup we generated ourselves


def _bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") != "suppressed"]


def _hatched(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "suppressed"]


def _texts(root: ET.Element) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text")]


def test_bar_chart_is_a_named_image_with_a_summary():
    """role=img, labelled by its <title> and <desc>; the desc is a sentence about the data."""
    root = _parse(charts.comparison_chart(_rows({"1": 40, "2": 10}), chart_id="towns", title="Giovani per comune"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "towns-t towns-d"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.get("id") == "towns-t" and title.text == "Giovani per comune"
    assert desc.get("id") == "towns-d"
    assert "il più alto è Etichetta 1 con 40" in desc.text and "il più basso Etichetta 2 con 10" in desc.text


def test_bar_lengths_are_proportional_to_the_values():
    """Horizontal bars: width proportional to value, the largest fills the plot; zero draws nothing."""
    root = _parse(charts.comparison_chart(_rows({"a": 80, "b": 20, "c": 40, "d": 0}), chart_id="c", title="t"))
    widths = [float(r.get("width")) for r in _bars(root)]
    assert len(widths) == 3  # the zero has a label, no bar
    assert widths[0] / widths[1] == pytest.approx(4, rel=0.01)
    assert widths[2] / widths[1] == pytest.approx(2, rel=0.01)
    assert "0" in _texts(root) and "80" in _texts(root)


def test_column_heights_are_proportional_and_months_are_labelled():
    """A monthly trend: columns in order, heights proportional, month names and the year underneath."""
    svg = charts.trend_chart(_rows({"2025-12": 30, "2026-01": 10, "2026-02": 20}), chart_id="trend", title="Colloqui")
    root = _parse(svg)
    heights = [float(r.get("height")) for r in _bars(root)]
    assert heights[0] / heights[1] == pytest.approx(3, rel=0.01)
    assert heights[2] / heights[1] == pytest.approx(2, rel=0.01)
    xs = [float(r.get("x")) for r in _bars(root)]
    assert xs == sorted(xs)
    texts = _texts(root)
    assert ["dic", "gen", "feb"] == [t for t in texts if t in charts.MONTHS_SHORT]
    assert "2025" in texts and "2026" in texts  # the first column and January carry the year
    assert "dicembre 2025 con 30" in root.find(f"{SVG}desc").text


@pytest.mark.parametrize("hidden_is_huge", [False, True])
def test_suppressed_values_are_hatched_never_drawn_to_size(hidden_is_huge):
    """"<5": an empty hatched box spanning 0–5 on the scale, labelled "<5", whatever the value behind it."""
    # A Cell that (wrongly) still carried its value must not leak it into the drawing either.
    leaky = Cell(4000 if hidden_is_huge else 3, "<5", True)
    rows = [Row("a", "Rodano", (leaky,)), Row("b", "Segrate", (Cell(50, "50"),))]
    root = _parse(charts.comparison_chart(rows, chart_id="s", title="t"))
    (hatched,) = _hatched(root)
    (bar,) = _bars(root)
    assert hatched.get("fill") == "url(#s-hatch)" and hatched.get("stroke-dasharray")
    assert float(hatched.get("width")) == pytest.approx(float(bar.get("width")) / 10, rel=0.01)  # 5 of 50
    assert "<5" in _texts(root)
    assert "4000" not in str(charts.comparison_chart(rows, chart_id="s", title="t"))
    assert "1 valore è inferiore a 5" in root.find(f"{SVG}desc").text


def test_suppressed_mark_stays_visible_on_a_large_scale():
    """On a scale of thousands the hatched box keeps a minimum size so "<5" is still seen."""
    root = _parse(charts.comparison_chart(_rows({"a": 5000, "b": None}), chart_id="s", title="t"))
    assert float(_hatched(root)[0].get("width")) == charts.MIN_SUPPRESSED_MARK


def test_all_suppressed_draws_boxes_and_says_so():
    """Nothing shown: the chart still draws the "<5" boxes and the summary says none is shown."""
    root = _parse(charts.trend_chart(_rows({"2026-01": None, "2026-02": None}), chart_id="t", title="t"))
    assert len(_hatched(root)) == 2 and not _bars(root)
    assert "nessuno mostrabile" in root.find(f"{SVG}desc").text


def test_labels_and_titles_are_escaped():
    """A label like <script> stays text: the SVG parses and contains no script element."""
    rows = [Row("1", '<script>alert("x")</script>', (Cell(7, "7"),)), Row("2", "Cassina de' Pecchi & co", (Cell(9, "9"),))]
    svg = charts.comparison_chart(rows, chart_id="e", title="<b>Titolo</b>", description='"desc" <i>')
    assert "<script>" not in svg and "<b>" not in svg
    root = _parse(svg)
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter("script"))
    assert root.find(f"{SVG}title").text == "<b>Titolo</b>"
    assert any(t.startswith("<script>") for t in _texts(root))
    assert "Cassina de' Pecchi & co" in _texts(root)


def test_csp_safe_markup_and_readable_colours():
    """No style attribute or element, no script, no event handler; marks and text in colours with enough contrast."""
    svg = str(charts.outcome_chart(_rows({str(n): n * 3 for n in range(1, 9)}), chart_id="o", title="Obiettivi"))
    assert "style" not in svg and "<script" not in svg and " on" not in svg.replace(" onc", "")
    root = _parse(svg)
    assert [t for t in _texts(root) if t.startswith("Obiettivo")] == [f"Obiettivo {n}" for n in range(1, 9)]
    for rect in _bars(root):
        assert _contrast(rect.get("fill")) >= 3
    for text in root.iter(f"{SVG}text"):
        assert _contrast(text.get("fill")) >= 4.5
        assert float(text.get("font-size")) >= 10


def test_outcome_summary_uses_full_outcome_names():
    """The <desc> names outcomes by their label, the bars by "Obiettivo N"."""
    rows = [Row("1", "Consapevolezza dei propri talenti", (Cell(12, "12"),)),
            Row("2", "Superare l'incertezza", (Cell(3, "3"),))]
    desc = _parse(charts.outcome_chart(rows, chart_id="o", title="t")).find(f"{SVG}desc").text
    assert "Consapevolezza dei propri talenti con 12" in desc


def test_unique_ids_per_chart_and_safe_id():
    """Two charts on one page keep their ids (and hatch patterns) apart; odd ids are cleaned."""
    root = _parse(charts.comparison_chart(_rows({"a": None}), chart_id='x" onload="1', title="t"))
    assert root.get("id") == "x--onload--1"
    assert _hatched(root)[0].get("fill") == "url(#x--onload--1-hatch)"


def test_italian_numbers():
    """Thousands with a dot, decimals with a comma."""
    assert charts.format_number(12345) == "12.345"
    assert charts.format_number(1234.5) == "1.234,5"
    assert charts.point("x", 7).shown == "7"


def _contrast(colour: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (luminance + 0.05)


def _table(key: str, values: dict[str, int | None], columns=("Giovani raggiunti", "Sessioni svolte", "Assenze")):
    rows = tuple(Row(k, f"Riga {k}", tuple(_cell(v) for _c in columns)) for k, v in values.items())
    return Table(key, f"Tabella {key}", "Etichetta", columns, rows)


def test_report_charts_draw_from_the_report_tables():
    """Trend by month, comparison by town (by desk when a single town), outcomes; all-zero charts are left out."""
    from types import SimpleNamespace

    tables = {"by_month": _table("by_month", {"2026-01": 12, "2026-02": None}, ("a", "b", "Sessioni svolte", "d")),
              "by_town": _table("by_town", {"7": 9}), "by_desk": _table("by_desk", {"1": 6, "2": None}),
              "by_outcome": _table("by_outcome", {str(n): 0 for n in range(1, 9)}, ("Sessioni", "x", "y", "z"))}
    result = charts.report_charts(SimpleNamespace(tables=tables), prefix="dash")
    assert [c.key for c in result] == ["by_month", "by_desk"]
    trend, desks = result
    assert trend.title == "Sessioni svolte per mese" and trend.value_heading == "Sessioni svolte"
    assert [(p.name, p.shown) for p in trend.points] == [("gennaio 2026", "12"), ("febbraio 2026", "<5")]
    assert _parse(trend.svg).get("id") == "dash-by-month"
    assert desks.title == "Giovani raggiunti per sportello" and len(_hatched(_parse(desks.svg))) == 1
