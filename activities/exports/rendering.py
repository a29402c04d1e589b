"""Reports: the CSV export (streamed) and the PDF report (rendered by the worker).

The CSV rows come from a server-side cursor in chunks, so memory stays flat whatever the number
of activities. The PDF holds the period's totals, a per-type breakdown, a weekly chart and the
activity table (repeating its header on every page).
"""

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from decimal import Decimal

from django.db.models import Count, Sum
from django.http import StreamingHttpResponse
from django.utils import timezone
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from accounts.models import User
from activelog import units
from activelog.timezones import local_today, rfc3339
from activities.statistics.selectors import activities_between, totals_by_type, weekly_totals

CSV_COLUMNS = [
    "id", "activity_type", "title", "description", "duration_minutes", "distance_km", "calories_burned",
    "notes", "activity_date", "tags", "created_at",
]
# Spreadsheet formula triggers (OWASP CSV injection), including tab and carriage return.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000


def csv_safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


class _Line:
    """A file-like object csv.writer writes one row into, handed straight back."""

    def write(self, value: str) -> str:
        return value


def csv_rows(queryset) -> Iterator[str]:
    """Header, then one CSV line per activity, fetched in chunks from a server-side cursor."""
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    rows = queryset.order_by("activity_date", "id").prefetch_related("tags").iterator(chunk_size=CHUNK)
    for activity in rows:
        yield writer.writerow([
            activity.pk,
            csv_safe(activity.activity_type),
            csv_safe(activity.title),
            csv_safe(activity.description),
            activity.duration_minutes,
            "" if activity.distance_km is None else f"{activity.distance_km:.2f}",
            "" if activity.calories_burned is None else activity.calories_burned,
            csv_safe(activity.notes),
            rfc3339(activity.activity_date),
            csv_safe(";".join(sorted(tag.name for tag in activity.tags.all()))),
            rfc3339(activity.created_at),
        ])


def csv_download(*, user: User, activities) -> StreamingHttpResponse:
    """The CSV as a download named after the person's local date, streamed (the API's and the
    browser's export)."""
    response = StreamingHttpResponse(csv_rows(activities), content_type="text/csv; charset=utf-8")
    filename = f"activelog-activities-{local_today(user.tzinfo):%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- PDF --------------------------------------------------------------------------------------


def _hours(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _chart(weeks: list[tuple[dt.date, Decimal, int]], width: float, user_units: str = units.METRIC) -> Drawing:
    use_distance = any(distance for _, distance, _ in weeks)
    values = [float(units.km_to_display(d, user_units)) if use_distance else m / 60 for _, d, m in weeks]
    unit = units.distance_unit(user_units)
    drawing = Drawing(width, 70 * mm)
    drawing.add(String(0, 66 * mm, f"Distance per week ({unit})" if use_distance else "Hours per week",
                       fontName="Helvetica-Bold", fontSize=10))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 10 * mm, width - 16 * mm, 50 * mm
    chart.data = [values or [0]]
    chart.bars[0].fillColor = colors.HexColor("#0b6e4f")
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(values or [0]) * 1.15 or 1
    step = max(1, len(weeks) // 12)
    chart.categoryAxis.categoryNames = [
        week.strftime("%d %b") if i % step == 0 else "" for i, (week, _, _) in enumerate(weeks)
    ]
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 45
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.labels.fontSize = 7
    drawing.add(chart)
    return drawing


_TABLE_STYLE = TableStyle([
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#0b6e4f")),
    ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
    ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
    ("FONTSIZE", (0, 0), (-1, -1), 8),
    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#eef4f1")]),
    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8d3ce")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
])


def render_pdf(
    *, user: User, start: dt.date, end: dt.date, progress: Callable[[int], None] = lambda pct: None
) -> tuple[bytes, int]:
    """Render the report; returns (PDF bytes, number of activities). Calls progress(0-100)."""
    styles = getSampleStyleSheet()
    tz = user.tzinfo
    unit = units.distance_unit(user.units)

    def distance(km) -> str:  # in the person's units, as every page shows it
        return "" if km is None else f"{units.km_to_display(km, user.units):.2f}"

    queryset = activities_between(user, start, end)
    totals = totals_by_type(queryset)
    progress(15)
    weeks = weekly_totals(user=user, start=start, end=end)
    progress(25)

    story = [
        Paragraph(f"ActiveLog report for {user.username}", styles["Title"]),
        Paragraph(f"{start:%d %B %Y} to {end:%d %B %Y} ({user.timezone})", styles["Normal"]),
        Spacer(1, 6 * mm),
        Paragraph("Totals", styles["Heading2"]),
        Table(
            [
                ["Activities", "Duration (h:mm)", f"Distance ({unit})", "Calories"],
                [str(totals.total_activities), _hours(totals.total_duration_minutes),
                 distance(totals.total_distance_km), str(totals.total_calories)],
            ],
            style=_TABLE_STYLE, hAlign="LEFT",
        ),
        Spacer(1, 6 * mm),
        Paragraph("By activity type", styles["Heading2"]),
    ]
    per_type = (
        queryset.values("activity_type")
        .annotate(n=Count("id"), minutes=Sum("duration_minutes"), distance=Sum("distance_km"))
        .order_by("-n", "activity_type")
    )
    type_rows = [["Type", "Activities", "Duration (h:mm)", f"Distance ({unit})"]] + [
        [r["activity_type"], str(r["n"]), _hours(r["minutes"] or 0), distance(r["distance"] or 0)] for r in per_type
    ]
    story += [Table(type_rows, style=_TABLE_STYLE, hAlign="LEFT"), Spacer(1, 6 * mm)]
    width = A4[0] - 30 * mm
    story += [_chart(weeks, width, user.units), Spacer(1, 6 * mm), Paragraph("Activities", styles["Heading2"])]
    progress(35)

    cell = styles["BodyText"].clone("cell", fontSize=7, leading=8.5)
    rows = [["Date", "Type", "Title", "Duration", unit, f"min/{unit}", "kcal", "Tags"]]
    count = totals.total_activities
    activities = queryset.order_by("activity_date", "id").prefetch_related("tags").iterator(chunk_size=CHUNK)
    for index, activity in enumerate(activities, start=1):
        pace = units.pace_per_unit(activity.duration_minutes, activity.distance_km, user.units)
        rows.append([
            timezone.localtime(activity.activity_date, tz).strftime("%Y-%m-%d %H:%M"),
            activity.activity_type,
            Paragraph(_escape(activity.title), cell),
            str(activity.duration_minutes),
            distance(activity.distance_km),
            units.format_pace(pace, user.units).split(" ")[0],
            "" if activity.calories_burned is None else str(activity.calories_burned),
            Paragraph(_escape(", ".join(sorted(t.name for t in activity.tags.all()))), cell),
        ])
        if count and index % 200 == 0:
            progress(35 + int(45 * index / count))
    if len(rows) == 1:
        rows.append(["No activities in this period.", "", "", "", "", "", "", ""])
    column_widths = [26 * mm, 20 * mm, 45 * mm, 14 * mm, 12 * mm, 13 * mm, 12 * mm, 38 * mm]
    story.append(LongTable(rows, colWidths=column_widths, repeatRows=1, style=_TABLE_STYLE))
    progress(80)

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
        title=f"ActiveLog report {start} to {end}", author="ActiveLog",
    )
    document.build(story, onFirstPage=_footer, onLaterPages=_footer)
    progress(90)
    return buffer.getvalue(), count


def _escape(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _footer(canvas, document) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 7)
    canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"Page {document.page}")
    canvas.restoreState()
