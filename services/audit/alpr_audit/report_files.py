"""The quarterly report as files: a zip of CSV tables, and a printable HTML page with its charts
drawn as inline SVG (charts.py). Both are built from the JSON report's model, item by item, so
the three formats always agree."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from html import escape
from typing import Any

from pydantic import BaseModel

from alpr_audit import charts
from alpr_audit.schemas import Count, QuarterlyReport, ReportItem

_LABELS = ("item", "clause", "title")


def _cell(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _figures(item: ReportItem) -> list[tuple[str, Any]]:
    """The item's single figures (counts, the list of names)."""
    out = []
    for name in type(item).model_fields:
        value = getattr(item, name)
        if name in _LABELS:
            continue
        if isinstance(value, int | str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value) and value
        ):
            out.append((name, value))
        elif isinstance(value, list) and not value and name == "lists_checked":
            out.append((name, value))
    return out


def _tables(item: ReportItem) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The item's breakdowns: `(name, columns, rows)`, one per list of records."""
    out = []
    for name, field in type(item).model_fields.items():
        value = getattr(item, name)
        if not isinstance(value, list) or name == "lists_checked":
            continue
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        model = args[0] if args and isinstance(args[0], type) else None
        if model is None or not issubclass(model, BaseModel):
            continue
        columns = list(model.model_fields)
        if model is Count:
            columns = [name.rsplit("by_", 1)[-1], "count"]
        rows = [list(v.model_dump().values()) for v in value]
        out.append((name, columns, rows))
    return out


# ----------------------------------------------------------------------------- CSV


def _csv(columns: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([[_cell(c) for c in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


def csv_zip(report: QuarterlyReport) -> bytes:
    """`summary.csv` (every single figure of every item, with its clause) and one CSV per
    breakdown, named `itemNN_<breakdown>.csv`."""
    summary: list[list[Any]] = [
        ["period", "", report.period.label, "start", report.period.start],
        ["period", "", report.period.label, "end", report.period.end],
    ]
    files: dict[str, bytes] = {}
    for item in report.items():
        for name, value in _figures(item):
            summary.append([item.item, item.clause, item.title, name, value])
        for name, columns, rows in _tables(item):
            files[f"item{item.item:02d}_{name}.csv"] = _csv(columns, rows)
    for section in report.beyond:
        rows = [[k, v] for k, v in section.data.items()]
        files[f"beyond_{section.name}.csv"] = _csv(["figure", "value"], rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "summary.csv", _csv(["item", "clause", "title", "figure", "value"], summary)
        )
        for filename, content in files.items():
            archive.writestr(filename, content)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- HTML

_STYLE = """
body { font-family: sans-serif; color: #111; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; border-bottom: 1px solid #999; padding-bottom: .2rem; margin-top: 2rem; }
.clause { color: #555; font-weight: normal; font-size: .9rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #bbb; padding: .2rem .5rem; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: bold; padding: .2rem 0; }
.meta { color: #444; }
.chart { display: block; margin: .5rem 0 1rem; max-width: 100%; height: auto; }
section { page-break-inside: avoid; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; } }
"""


def _html_table(caption: str, columns: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return f"<p><em>{escape(caption)}: none in this period.</em></p>"
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for value in row:
            css = ' class="n"' if isinstance(value, int) and not isinstance(value, bool) else ""
            cells.append(f"<td{css}>{escape(_cell(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _charts(report: QuarterlyReport, item: int) -> str:
    if item == 1:
        weeks = report.plates_scanned.by_week
        return charts.line_chart(
            "trend-scans", "Plates scanned per week", [(w.week_start, w.scans) for w in weeks]
        ) + charts.line_chart(
            "trend-hits", "Hits per week", [(w.week_start, w.hits) for w in weeks]
        )
    if item == 3:
        series = ["arrest", "prosecution", "missing person located", "released", "wrong vehicle"]
        rows = [
            (
                o.hotlist_name,
                [
                    o.arrest,
                    o.prosecution,
                    o.missing_person_located,
                    o.released_without_action,
                    o.wrong_vehicle,
                ],
            )
            for o in report.match_outcomes.lists
        ]
        return charts.stacked_bars("outcomes-per-list", "Outcomes per list", series, rows)
    if item == 9:
        hits = report.hits
        return charts.bar_chart(
            "hits-by-sector", "Hits by sector", [(c.key, c.count) for c in hits.by_sector]
        ) + charts.bar_chart(
            "hits-by-zip", "Hits by zip code", [(c.key, c.count) for c in hits.by_zip_code]
        )
    return ""


def _section(report: QuarterlyReport, item: ReportItem) -> str:
    figures = _figures(item)
    rows = [[name.replace("_", " "), _cell(value)] for name, value in figures]
    parts = [
        f'<section id="item-{item.item}" data-clause="{escape(item.clause)}">',
        f'<h2>{item.item}. {escape(item.title)} <span class="clause">({escape(item.clause)})'
        "</span></h2>",
        _html_table("Figures", ["figure", "value"], rows) if rows else "",
        _charts(report, item.item),
    ]
    for name, columns, table_rows in _tables(item):
        parts.append(_html_table(name.replace("_", " ").capitalize(), columns, table_rows))
    parts.append("</section>")
    return "".join(parts)


def html_page(report: QuarterlyReport) -> str:
    """A self-contained, printable page: inline CSS and SVG only."""
    p = report.period
    beyond = "".join(
        f'<section id="beyond-{escape(s.name)}"><h2>{escape(s.title)}</h2>'
        + _html_table("Figures", ["figure", "value"], [[k, v] for k, v in s.data.items()])
        + "</section>"
        for s in report.beyond
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>ALPR audit report, {escape(p.label)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_STYLE}</style></head><body>"
        "<h1>ALPR audit report (General Order 344.6(b))</h1>"
        f'<p class="meta">Period: {escape(p.label)}, from {p.start.isoformat()} to '
        f"{p.end.isoformat()} (end excluded). Generated {report.generated_at.isoformat()} from "
        "the audit service's own records.</p>"
        + "".join(_section(report, item) for item in report.items())
        + beyond
        + "</body></html>"
    )
