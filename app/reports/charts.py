"""Server-rendered SVG charts for the monitoring pages and the quarterly PDF (issue 8).

Pure functions (no app, no request): they take labelled values and return SVG markup as
`markupsafe.Markup`, every label escaped. Each chart is an image with a name and a
one-sentence summary (`role="img"`, `<title>`, `<desc>`); the template puts the data table
beside it (app/templates/reports/_chart.html). The markup obeys the strict CSP: presentation
attributes only (no `style=`, no `<style>`, no script). Colours: marks in #0066cc (5.6:1 on
white), text in #17324d (12:1), secondary text and the "<5" hatching in #5d7083 (5.0:1).

A suppressed value ("<5") is never drawn to its size (the chart does not know it): it is an
empty, hatched, dashed box covering the range 0–5 on the chart's scale, labelled "<5".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup

MARK = "#0066cc"
TEXT = "#17324d"
MUTED = "#5d7083"
GRID = "#c5c7c9"
FONT = "Titillium Web, DejaVu Sans, sans-serif"

WIDTH = 640
SUPPRESSION_THRESHOLD = 5  # a value shown as "<5" lies between 1 and this, excluded
SMALL = "<5"
MIN_SUPPRESSED_MARK = 18   # px: the hatched "<5" box stays visible on a scale of thousands

# Month names in the interface language (lazy strings: the charts are built inside a request).
MONTHS_SHORT = (_l("gen"), _l("feb"), _l("mar"), _l("apr"), _l("mag"), _l("giu"),
                _l("lug"), _l("ago"), _l("set"), _l("ott"), _l("nov"), _l("dic"))
MONTHS_LONG = (_l("gennaio"), _l("febbraio"), _l("marzo"), _l("aprile"), _l("maggio"), _l("giugno"),
               _l("luglio"), _l("agosto"), _l("settembre"), _l("ottobre"), _l("novembre"), _l("dicembre"))


@dataclass(frozen=True)
class Point:
    """One value of a chart as the viewer may see it: `value` is None when suppressed or not applicable."""

    label: str
    value: float | None
    shown: str
    suppressed: bool = False
    sublabel: str = ""  # a second line under a column's label (the year under "gen")
    long_label: str = ""  # the full name for the summary sentence when the chart shows a short one

    @property
    def name(self) -> str:
        """The name used in the summary sentence."""
        return self.long_label or self.label

    @property
    def drawn(self) -> bool:
        """True when the value is drawn to its size."""
        return self.value is not None and not self.suppressed


def point(label: str, cell, *, sublabel: str = "") -> Point:
    """A Point from a report Cell (value, shown, suppressed) or a plain number."""
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return Point(str(label), float(cell), format_number(cell), False, sublabel)
    suppressed = bool(getattr(cell, "suppressed", False))
    value = getattr(cell, "value", None)
    shown = str(getattr(cell, "shown", "—"))
    return Point(str(label), None if suppressed or value is None else float(value), shown, suppressed, sublabel)


def month_points(rows: Iterable, column: int = 0) -> list[Point]:
    """Points for a monthly trend from rows keyed "YYYY-MM" or "YYYYMM": "gen", the year under January and the first."""
    points = []
    for index, row in enumerate(rows):
        month = _parse_month(row.key)
        if month is None:
            points.append(point(row.label, row.cells[column]))
            continue
        year = str(month.year) if index == 0 or month.month == 1 else ""
        points.append(replace(point(MONTHS_SHORT[month.month - 1], row.cells[column], sublabel=year),
                              long_label=f"{MONTHS_LONG[month.month - 1]} {month.year}"))
    return points


def format_number(value: float | int) -> str:
    """Italian digits: 1.234 and 12,5."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.1f}".replace(",", "\0").replace(".", ",").replace("\0", ".")


# --- Charts ------------------------------------------------------------------------------------

def column_chart(points: Sequence[Point], *, chart_id: str, title: str, description: str | None = None,
                 unit: str = "") -> Markup:
    """Vertical columns, one per point in order (a monthly trend: months on the x axis)."""
    chart_id = _safe_id(chart_id)
    height, top, bottom, left, right = 240, 26, 46, 12, 12
    plot_height = height - top - bottom
    n = max(len(points), 1)
    slot = (WIDTH - left - right) / n
    bar = min(slot * 0.62, 56)
    scale = _scale(points, plot_height)
    base_y = top + plot_height
    small = n > 14
    label_size = 11 if small else 14
    parts = [_open(chart_id, WIDTH, height, title, description or summary(points, unit=unit)), _hatch(chart_id)]
    parts.append(_line(left, base_y, WIDTH - right, base_y, MUTED))
    for index, p in enumerate(points):
        cx = left + slot * index + slot / 2
        x = cx - bar / 2
        if p.suppressed:
            size = _suppressed_size(scale, p)
            parts.append(_suppressed_rect(chart_id, x, base_y - size, bar, size))
            value_y = base_y - size - 5
        elif p.drawn and p.value > 0:
            size = max(p.value * scale, 1.0)
            parts.append(_rect(x, base_y - size, bar, size, MARK))
            value_y = base_y - size - 5
        else:
            value_y = base_y - 5
        parts.append(_text(cx, value_y, p.shown, size=label_size, anchor="middle", weight=600))
        parts.append(_text(cx, base_y + 17, p.label, size=label_size, anchor="middle"))
        if p.sublabel:
            parts.append(_text(cx, base_y + 33, p.sublabel, size=label_size - 1, anchor="middle", fill=MUTED))
    parts.append(_close())
    return Markup("").join(parts)


def bar_chart(points: Sequence[Point], *, chart_id: str, title: str, description: str | None = None,
              unit: str = "", label_width: int | None = None) -> Markup:
    """Horizontal bars, one row per point (a comparison between towns, desks or outcomes)."""
    chart_id = _safe_id(chart_id)
    row, bar, top, bottom = 32, 20, 8, 8
    longest = max((len(p.label) for p in points), default=4)
    label_width = label_width or int(min(max(longest * 8 + 16, 64), 240))
    value_room = 56
    plot_width = WIDTH - label_width - value_room
    height = top + bottom + row * max(len(points), 1)
    scale = _scale(points, plot_width)
    x0 = label_width
    parts = [_open(chart_id, WIDTH, height, title, description or summary(points, unit=unit)), _hatch(chart_id)]
    for index, p in enumerate(points):
        y = top + row * index + (row - bar) / 2
        mid = y + bar / 2 + 5
        parts.append(_text(x0 - 8, mid, _shorten(p.label, (label_width - 16) // 8), size=14, anchor="end"))
        if p.suppressed:
            size = _suppressed_size(scale, p)
            parts.append(_suppressed_rect(chart_id, x0, y, size, bar))
        elif p.drawn and p.value > 0:
            size = max(p.value * scale, 1.0)
            parts.append(_rect(x0, y, size, bar, MARK))
        else:
            size = 0
        parts.append(_text(x0 + size + 6, mid, p.shown, size=14, weight=600))
    parts.append(_line(x0, top - 2, x0, height - bottom + 2, MUTED))
    parts.append(_close())
    return Markup("").join(parts)


def row_points(rows: Iterable, column: int = 0) -> list[Point]:
    """Points from report rows: one column of each row, labelled by the row."""
    return [point(row.label, row.cells[column]) for row in rows]


def outcome_points(rows: Iterable, column: int = 0) -> list[Point]:
    """Points for outcomes 1–8: labelled "Obiettivo N" on the chart, by the outcome's name in the summary."""
    points = []
    for row in rows:
        key = str(row.key)
        label = _("Obiettivo %(n)s", n=key) if key.isdigit() else row.label
        points.append(replace(point(label, row.cells[column]), long_label=row.label))
    return points


def trend_chart(rows: Iterable, *, column: int = 0, chart_id: str, title: str, description: str | None = None,
                unit: str = "") -> Markup:
    """The monthly trend of one column of a report table keyed by month."""
    return column_chart(month_points(rows, column), chart_id=chart_id, title=title, description=description,
                        unit=unit)


def comparison_chart(rows: Iterable, *, column: int = 0, chart_id: str, title: str,
                     description: str | None = None, unit: str = "") -> Markup:
    """One column of a report table (by town, by desk...) as horizontal bars."""
    return bar_chart(row_points(rows, column), chart_id=chart_id, title=title, description=description, unit=unit)


def outcome_chart(rows: Iterable, *, column: int = 0, chart_id: str, title: str,
                  description: str | None = None, unit: str = "") -> Markup:
    """Coverage of the programme's outcomes 1–8: one bar per outcome, labelled "Obiettivo N"."""
    return bar_chart(outcome_points(rows, column), chart_id=chart_id, title=title, description=description,
                     unit=unit, label_width=110)


# --- The charts of a report (dashboard and quarterly PDF) ----------------------------------------

@dataclass(frozen=True)
class Chart:
    """A chart ready for a page: its SVG and the data table that goes beside it."""

    key: str
    title: str
    svg: Markup
    label_heading: str
    value_heading: str
    points: tuple[Point, ...]


# (table, column drawn, kind): sessions per month, young people per town (or desk), sessions per outcome.
REPORT_CHARTS = (("by_month", 2, "trend"), ("by_town", 0, "bars"), ("by_outcome", 0, "outcomes"))


def _chart_titles() -> dict[str, str]:
    return {"by_month": _("Sessioni svolte per mese"), "by_town": _("Giovani raggiunti per comune dello sportello"),
            "by_desk": _("Giovani raggiunti per sportello"), "by_outcome": _("Sessioni per obiettivo del programma")}


def report_charts(report, *, prefix: str = "chart") -> list[Chart]:
    """The charts of an indicators report, from its own (already suppressed) cells.

    The comparison is by town; when the report covers a single town (a municipal contact) it is
    by desk instead, and it is left out when there is nothing to compare.
    """
    result = []
    for key, column, kind in REPORT_CHARTS:
        table = report.tables.get(key)
        if kind == "bars" and table is not None and len(table.rows) < 2:
            table = report.tables.get("by_desk")
        if table is None or not table.rows or (kind == "bars" and len(table.rows) < 2):
            continue
        points = {"trend": month_points, "bars": row_points, "outcomes": outcome_points}[kind](table.rows, column)
        if not any(p.suppressed or (p.value or 0) > 0 for p in points):
            continue  # all zero: the table below says it better than an empty chart
        value_heading = table.columns[column]
        title = _chart_titles().get(table.key) or f"{value_heading} — {table.title}"
        chart_id = f"{prefix}-{table.key}"
        draw = column_chart if kind == "trend" else bar_chart
        options = {"label_width": 110} if kind == "outcomes" else {}
        svg = draw(points, chart_id=chart_id, title=title, **options)
        result.append(Chart(table.key, title, svg, table.label_heading, value_heading, tuple(points)))
    return result


# --- The sentence in <desc> --------------------------------------------------------------------

def summary(points: Sequence[Point], *, unit: str = "") -> str:
    """One sentence that says what the chart shows: highest and lowest value, and how many are "<5"."""
    drawn = [p for p in points if p.drawn]
    small = sum(1 for p in points if p.suppressed and p.shown == SMALL)
    hidden = sum(1 for p in points if p.suppressed and p.shown != SMALL)
    suffix = f" {unit}" if unit else ""
    if not points:
        return _("Nessun dato da mostrare.")
    if not drawn:
        sentence = _("%(n)d valori, nessuno mostrabile.", n=len(points))
    else:
        high = max(drawn, key=lambda p: p.value)
        low = min(drawn, key=lambda p: p.value)
        sentence = _("%(n)d valori: il più alto è %(high_label)s con %(high)s, il più basso %(low_label)s con "
                     "%(low)s.", n=len(points), high_label=high.name, high=high.shown + suffix,
                     low_label=low.name, low=low.shown + suffix)
    if small:
        sentence += " " + ngettext(
            "%(num)d valore è inferiore a 5 e non viene mostrato, per riservatezza.",
            "%(num)d valori sono inferiori a 5 e non vengono mostrati, per riservatezza.", small)
    if hidden:
        sentence += " " + ngettext(
            "%(num)d valore non è indicato perché permetterebbe di ricavarne uno inferiore a 5.",
            "%(num)d valori non sono indicati perché permetterebbero di ricavarne uno inferiore a 5.", hidden)
    return sentence


# --- SVG building blocks (every text escaped) ----------------------------------------------------

def _parse_month(key) -> date | None:
    match = re.fullmatch(r"(\d{4})-?(\d{2})", str(key))
    return date(int(match.group(1)), int(match.group(2)), 1) if match else None


def _safe_id(chart_id: str) -> str:
    """Ids are used in attributes and url(#...): letters, digits, dashes only."""
    cleaned = re.sub(r"[^A-Za-z0-9-]", "-", chart_id)
    return cleaned if cleaned[:1].isalpha() else "c-" + cleaned


def _scale(points: Sequence[Point], length: float) -> float:
    """Pixels per unit: the largest drawn value fills the length (a suppressed one counts as 5)."""
    biggest = max((p.value for p in points if p.drawn), default=0.0)
    if any(p.suppressed and p.shown == SMALL for p in points):
        biggest = max(biggest, SUPPRESSION_THRESHOLD)
    return length / biggest if biggest > 0 else 0.0


def _suppressed_size(scale: float, p: Point) -> float:
    """A "<5" box covers 0–5 on the scale (the range the hidden value lies in); any other hidden value
    ("n.d.", possibly large) is a fixed small box. Never the value's size."""
    if p.shown == SMALL:
        return max(SUPPRESSION_THRESHOLD * scale, MIN_SUPPRESSED_MARK)
    return MIN_SUPPRESSED_MARK


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(chart_id: str, width: int, height: int, title: str, description: str) -> Markup:
    return Markup('<svg xmlns="http://www.w3.org/2000/svg" class="hub-chart" id="{id}" role="img" '
                  'aria-labelledby="{id}-t {id}-d" viewBox="0 0 {w} {h}" width="100%" '
                  'preserveAspectRatio="xMinYMin meet" font-family="{font}">'
                  '<title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc>').format(
        id=chart_id, w=width, h=height, font=FONT, title=str(title), desc=str(description))


def _close() -> Markup:
    return Markup("</svg>")


def _hatch(chart_id: str) -> Markup:
    return Markup('<defs><pattern id="{id}-hatch" patternUnits="userSpaceOnUse" width="6" height="6" '
                  'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="{stroke}" '
                  'stroke-width="1.5"/></pattern></defs>').format(id=chart_id, stroke=MUTED)


def _rect(x: float, y: float, w: float, h: float, fill: str) -> Markup:
    return Markup('<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>').format(
        _num(x), _num(y), _num(w), _num(h), fill)


def _suppressed_rect(chart_id: str, x: float, y: float, w: float, h: float) -> Markup:
    return Markup('<rect class="suppressed" x="{}" y="{}" width="{}" height="{}" fill="url(#{}-hatch)" '
                  'stroke="{}" stroke-width="1" stroke-dasharray="3 2"/>').format(
        _num(x), _num(y), _num(w), _num(h), chart_id, MUTED)


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str) -> Markup:
    return Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>').format(
        _num(x1), _num(y1), _num(x2), _num(y2), stroke)


def _text(x: float, y: float, text: str, *, size: int = 12, anchor: str = "start", weight: int = 400,
          fill: str = TEXT) -> Markup:
    """A text element; `text` is escaped by Markup.format (str() first: even a Markup label is escaped)."""
    return Markup('<text x="{}" y="{}" font-size="{}" text-anchor="{}" fill="{}" font-weight="{}">{}</text>').format(
        _num(x), _num(y), size, anchor, fill, weight, str(text))


def _shorten(label: str, limit: int) -> str:
    """A label cut to fit the label column (the table beside the chart has it in full)."""
    limit = max(int(limit), 4)
    return label if len(label) <= limit else label[:limit - 1].rstrip() + "…"
