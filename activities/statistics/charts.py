"""Server-rendered SVG charts for the browser UI.

Each function returns a ``SafeString`` holding one inline ``<svg>`` element to drop into a template
(``{{ chart }}``), next to a data table with the same figures (UI.md: nothing is only visible as
colour or shape). Pure Python: no database, no request, no JavaScript.

Why it looks the way it does:

- The Content-Security-Policy forbids inline styles, so there is no ``style="..."``, no ``<style>``
  and no ``fill``/``stroke`` colour in the markup. Every colour comes from ``static/css/site.css``
  through the class names below, which is also how dark mode works.
- ``viewBox`` + ``width="100%"`` make a chart scale with its container. Font sizes are viewBox
  units, set once on the ``<svg>`` (``font-size`` attribute) and inherited by its text, sized so the
  labels stay readable on a 375 px wide screen; the stylesheet must not set ``font-size`` on them.
- ``role="img"`` with ``aria-labelledby`` (the ``<title>``) and ``aria-describedby`` (a ``<desc>``
  that says the main facts in words). Each bar and day has its own ``<title>``: a hover tooltip.
- User-entered text (activity types, tags) is XML-escaped; ids start with the caller's
  ``id_prefix`` so several charts can share a page.
- Same input, same string: no randomness, no dict-order or locale dependence.

Class names the stylesheet must style (``fill`` for shapes and text, ``stroke`` for lines):

- ``chart``: the ``<svg>`` itself. It also carries one of ``chart-bars``, ``chart-grouped``,
  ``chart-horizontal``, ``chart-heatmap`` (optional hooks, e.g. for a max-width per kind).
- ``chart-label``: every ``<text>`` (tick values, x labels, legend names, values, month and weekday
  names, the unit caption).
- ``chart-axis``: the axis ``<line>`` elements; they need a ``stroke`` or they are invisible.
- ``chart-grid``: the gridline ``<line>`` elements at the y ticks; they need a ``stroke`` too.
- ``chart-empty``: the "No data yet" ``<text>`` of a chart without data (it has ``chart-label`` too).
- ``series-1``, ``series-2``, ``series-3``: bar and legend-swatch ``<rect>`` fills. ``series-2`` should
  also get an outline ``stroke``: in a grouped chart that, with the bar's position in its group and
  the legend order, is the cue besides colour.
- ``heat-0``, ``heat-1``, ``heat-2``, ``heat-3``, ``heat-4``: heat-map day and key ``<rect>`` fills;
  ``heat-0`` is a day without activity, ``heat-1``..``heat-4`` the quartiles of the active days.

Hooks that need no style but may get one: ``chart-bar`` (bars), ``chart-day`` (heat-map days),
``chart-swatch`` (legend squares), ``chart-value`` (value text after a horizontal bar),
``chart-unit`` (the unit caption above a y axis), ``chart-month``/``chart-weekday`` (heat-map labels).
"""

import datetime as dt
import math
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from types import MappingProxyType

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

__all__ = [
    "HEAT_SCALE",
    "HEAT_SCALE_DARK",
    "PALETTE",
    "bar_chart",
    "calendar_heatmap",
    "format_number",
    "grouped_bar_chart",
    "horizontal_bar_chart",
    "nice_ticks",
]

# Okabe & Ito (2008), safe for the common colour-vision deficiencies. Against a white page, blue,
# vermillion, green and purple reach the 3:1 that WCAG 1.4.11 asks of chart marks; orange, sky and
# yellow do not (2.3, 2.3, 1.3) and suit a dark page instead. Hence the suggested series order:
# light theme series-1 blue, series-2 vermillion, series-3 green; dark theme sky, orange, green.
PALETTE: Mapping[str, str] = MappingProxyType({
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "vermillion": "#D55E00",
    "yellow": "#F0E442",
})
# heat-0 .. heat-4: a single-hue blue ramp (ColorBrewer "Blues"), ordered by lightness, so it reads
# the same with any colour-vision deficiency and in greyscale. heat-0 is a neutral "empty" square.
HEAT_SCALE: tuple[str, ...] = ("#E7EBEF", "#C6DBEF", "#6BAED6", "#2171B5", "#08306B")
HEAT_SCALE_DARK: tuple[str, ...] = ("#26303A", "#1D4766", "#2F6FA3", "#56A0D8", "#A9D4F5")

EMPTY_TEXT = "No data yet"
MAX_X_LABELS = 12
SERIES_CLASSES = ("series-1", "series-2", "series-3")

# Geometry, in viewBox units. 440 wide at font 16 gives 12 px text in a 330 px column (a 375 px
# phone minus the page padding), and 23 px in a 640 px one: cap the width of charts in the stylesheet.
WIDTH = 440
HEIGHT = 260
EMPTY_HEIGHT = 90
FONT = 16
# The heat map is 53 columns wide whatever the screen, so its text is large relative to the cells:
# about 10 px in a 330 px column, where a day is a 5 px square. For phones, a caller may prefer
# fewer weeks, or a scrolling wrapper with a minimum width.
CELL = 10
CELL_PITCH = 12
HEAT_FONT = 21

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*", re.ASCII)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TENTH = Decimal("0.1")
_ONE = Decimal(1)
_EVERY_DIGIT = Context(prec=400)  # room for the integer digits of any finite float
_NARROW = frozenset(" .,:;'!|()[]-ijlftrI")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_number(value: float | Decimal) -> str:
    """At most one decimal, half up, no ".0" on whole numbers, no thousands separator: 42.1, 45, 0."""
    rounded = Decimal(str(value)).quantize(_TENTH, rounding=ROUND_HALF_UP, context=_EVERY_DIGIT)
    if rounded == rounded.to_integral_value():
        rounded = rounded.quantize(_ONE, context=_EVERY_DIGIT)
    text = f"{rounded:f}"
    return "0" if text == "-0" else text


def nice_ticks(maximum: float) -> list[float]:
    """0 and 2 to 4 round steps (1, 2, 2.5 or 5 times a power of ten) reaching at least `maximum`."""
    raw = maximum / 4
    exponent = math.floor(math.log10(raw))
    magnitude = 10.0**exponent
    # A 0.25 step would need two decimals; values are shown with one.
    multipliers = (1, 2, 2.5, 5, 10) if exponent >= 0 else (1, 2, 5, 10)
    step = next(s for m in multipliers if (s := round(m * magnitude, 10)) >= raw)
    step = max(step, 0.1)
    count = max(2, math.ceil(maximum / step - 1e-9))
    return [round(i * step, 10) for i in range(count + 1)]


# --- shared pieces ------------------------------------------------------------------------------


def _text(value: object) -> str:
    """User text, escaped for XML, without the control characters XML cannot hold."""
    return escape(_NOT_XML.sub("", str(value)))


def _n(x: float) -> str:
    """A coordinate: two decimals at most, so the output stays small and deterministic."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _char_width(char: str) -> float:
    """Advance of a character in em, generous: DejaVu Sans (the usual Linux fallback) is among the
    widest sans-serif fonts, and a label a little too far apart is better than two overlapping."""
    if char in _NARROW:
        return 0.36
    if char in "MWmw":
        return 0.88
    if char.isascii():
        return 0.75 if char.isupper() else 0.64
    return 1.0 if unicodedata.east_asian_width(char) in "WF" else 0.8


def _text_width(text: str, font: float = FONT) -> float:
    return sum(_char_width(char) for char in text) * font


def _fit(text: str, width: float) -> str:
    """`text`, cut short with "…" so that it takes at most `width`."""
    if _text_width(text) <= width:
        return text
    while len(text) > 1 and _text_width(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _with_unit(value: float, unit: str) -> str:
    return f"{format_number(value)} {unit}" if unit else format_number(value)


def _check_id(id_prefix: str) -> None:
    if not _ID.fullmatch(id_prefix):
        raise ValueError(f"id_prefix must be letters, digits, '-' or '_' and start with a letter: {id_prefix!r}")


def _numbers(values: Sequence[float], labels: Sequence[str], what: str = "values") -> list[float]:
    if len(values) != len(labels):
        raise ValueError(f"{len(labels)} labels but {len(values)} {what}")
    numbers = [float(v) for v in values]
    for number in numbers:
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"chart {what} must be finite and not negative, got {number!r}")
    return numbers


def _open(parts: list[str], *, id_prefix: str, kind: str, width: float, height: float, font: float,
          title: str, description: str) -> None:
    parts.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" viewBox="0 0 {_n(width)} {_n(height)}"'
        f' width="100%" preserveAspectRatio="xMidYMid meet" font-size="{font}" role="img"'
        f' aria-labelledby="{id_prefix}-title" aria-describedby="{id_prefix}-desc">'
        f'<title id="{id_prefix}-title">{_text(title)}</title>'
        f'<desc id="{id_prefix}-desc">{_text(description)}</desc>'
    )


def _label(x: float, y: float, text: str, *, anchor: str = "start", extra_class: str = "") -> str:
    """`text` must already be escaped."""
    cls = f"chart-label {extra_class}" if extra_class else "chart-label"
    anchor_attr = "" if anchor == "start" else f' text-anchor="{anchor}"'
    return f'<text class="{cls}" x="{_n(x)}" y="{_n(y)}"{anchor_attr}>{text}</text>'


def _baseline(y_center: float, font: float = FONT) -> float:
    """Baseline that centres a line of digits and lowercase on `y_center`, without dominant-baseline
    (not honoured everywhere the SVG may end up, e.g. PDF renderers)."""
    return y_center + font * 0.35


def _empty(*, id_prefix: str, kind: str, title: str, description: str | None) -> SafeString:
    height = EMPTY_HEIGHT
    parts: list[str] = []
    _open(parts, id_prefix=id_prefix, kind=kind, width=WIDTH, height=height, font=FONT, title=title,
          description=description if description is not None else f"{title}: no data yet.")
    parts.append(f'<text class="chart-label chart-empty" x="{_n(WIDTH / 2)}" y="{_n(_baseline(height / 2))}"'
                 f' text-anchor="middle">{EMPTY_TEXT}</text></svg>')
    return mark_safe("".join(parts))  # noqa: S308 - every data value above went through _text()


def _highest(labels: Sequence[str], numbers: Sequence[float]) -> tuple[str, float]:
    best = max(range(len(numbers)), key=lambda i: (numbers[i], -i))  # the first of equal highs
    return str(labels[best]), numbers[best]


# --- vertical bars ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plot:
    """The plotting area of a vertical bar chart and its y scale."""

    left: float
    top: float
    right: float
    bottom: float
    ticks: list[float]

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def y(self, value: float) -> float:
        return self.bottom - self.bar_height(value)

    def bar_height(self, value: float) -> float:
        return value / self.ticks[-1] * self.height


def _plot(maximum: float, top: float) -> _Plot:
    ticks = nice_ticks(maximum)
    tick_width = max(_text_width(format_number(t)) for t in ticks)
    return _Plot(left=tick_width + 10, top=top, right=WIDTH - 8, bottom=HEIGHT - FONT - 10, ticks=ticks)


def _axes(parts: list[str], plot: _Plot) -> None:
    for tick in plot.ticks:
        y = _n(plot.y(tick))
        if tick:
            parts.append(f'<line class="chart-grid" x1="{_n(plot.left)}" y1="{y}" x2="{_n(plot.right)}" y2="{y}"/>')
        parts.append(_label(plot.left - 6, _baseline(plot.y(tick)), format_number(tick), anchor="end"))
    bottom = _n(plot.bottom)
    parts.append(f'<line class="chart-axis" x1="{_n(plot.left)}" y1="{_n(plot.top)}" x2="{_n(plot.left)}"'
                 f' y2="{bottom}"/>')
    parts.append(f'<line class="chart-axis" x1="{_n(plot.left)}" y1="{bottom}" x2="{_n(plot.right)}" y2="{bottom}"/>')


def _x_labels(parts: list[str], plot: _Plot, labels: Sequence[str]) -> None:
    """Labels under the bars: at most MAX_X_LABELS, evenly spaced, never overlapping.

    They are counted back from the last bar, which is always labelled (on a time axis it is "now");
    a label that would not fit is left out (its bar's tooltip still has it).
    """
    count = len(labels)
    slot = plot.width / count
    shown = [_fit(str(label), 7 * FONT) for label in labels]
    widest = max(_text_width(text) for text in shown)
    step = max(1, math.ceil(count / MAX_X_LABELS), math.ceil((widest + 8) / slot))
    y = plot.bottom + FONT + 4
    placed: list[str] = []
    free_right = float(WIDTH)
    for i in range(count - 1, -1, -step):
        width = _text_width(shown[i])
        # Centred under its bar, but kept inside the chart.
        x = min(max(plot.left + slot * (i + 0.5), width / 2), WIDTH - width / 2)
        if x + width / 2 > free_right:
            continue
        placed.append(_label(x, y, _text(shown[i]), anchor="middle"))
        free_right = x - width / 2 - 8
    parts.extend(reversed(placed))


def _legend(parts: list[str], entries: Sequence[tuple[str, str]], *, start_x: float) -> float:
    """Swatch + name per series, wrapping onto more rows when needed; returns the last baseline."""
    x, baseline = start_x, float(FONT)
    for name, series_class in entries:
        text = _fit(name, WIDTH / 2)
        advance = 18 + _text_width(text) + 16
        if x > start_x and x + advance - 16 > WIDTH:
            x, baseline = start_x, baseline + FONT + 8
        parts.append(f'<rect class="chart-swatch {series_class}" x="{_n(x)}" y="{_n(baseline - 11)}" width="12"'
                     f' height="12"/>')
        parts.append(_label(x + 18, baseline, _text(text)))
        x += advance
    return baseline


def _unit_caption(parts: list[str], unit: str) -> float:
    """The unit above the y axis; returns the width it takes (0 without a unit)."""
    if not unit:
        return 0
    parts.append(_label(0, FONT, _text(unit), extra_class="chart-unit"))
    return _text_width(unit) + 16


def bar_chart(
    *,
    id_prefix: str,
    title: str,
    labels: list[str],
    values: list[float],
    unit: str,
    series_class: str = "series-1",
    description: str | None = None,
) -> SafeString:
    """Vertical bars with a 0-based y axis of round ticks, e.g. distance per week.

    More than 12 labels are thinned out (the last one always shows); each bar's ``<title>`` still
    names its label. No bars at all, or only zeros, give the "No data yet" chart.
    """
    _check_id(id_prefix)
    if series_class not in SERIES_CLASSES:
        raise ValueError(f"series_class must be one of {SERIES_CLASSES}, got {series_class!r}")
    numbers = _numbers(values, labels)
    if not any(numbers):
        return _empty(id_prefix=id_prefix, kind="chart-bars", title=title, description=description)
    if description is None:
        best_label, best = _highest(labels, numbers)
        description = (f"{title}: {len(numbers)} bars from {labels[0]} to {labels[-1]}; "
                       f"highest {_with_unit(best, unit)} ({best_label}).")

    parts: list[str] = []
    _open(parts, id_prefix=id_prefix, kind="chart-bars", width=WIDTH, height=HEIGHT, font=FONT, title=title,
          description=description)
    top = FONT * 2 if _unit_caption(parts, unit) else FONT
    plot = _plot(max(numbers), top)
    _axes(parts, plot)
    slot = plot.width / len(numbers)
    bar_width = min(slot * 0.7, 48)
    unit_text = _text(unit)
    for i, (label, value) in enumerate(zip(labels, numbers, strict=True)):
        height = plot.bar_height(value)
        value_text = f"{format_number(value)} {unit_text}" if unit else format_number(value)
        parts.append(
            f'<rect class="chart-bar {series_class}" x="{_n(plot.left + slot * i + (slot - bar_width) / 2)}"'
            f' y="{_n(plot.bottom - height)}" width="{_n(bar_width)}" height="{_n(height)}">'
            f"<title>{_text(label)}: {value_text}</title></rect>"
        )
    _x_labels(parts, plot, labels)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every data value above went through _text()


def grouped_bar_chart(
    *,
    id_prefix: str,
    title: str,
    labels: list[str],
    series: list[tuple[str, list[float]]],
    unit: str,
    description: str | None = None,
) -> SafeString:
    """Two or three series side by side per label, in one unit (e.g. this year and last year).

    Series k gets class ``series-k``; a legend at the top names them in the same order as the
    bars stand in each group (position and series-2's outline are the cues besides colour).
    """
    _check_id(id_prefix)
    if not 2 <= len(series) <= len(SERIES_CLASSES):
        raise ValueError(f"grouped_bar_chart takes 2 to {len(SERIES_CLASSES)} series, got {len(series)}")
    names = [str(name) for name, _ in series]
    columns = [_numbers(values, labels, what=f"values in series {name!r}") for name, values in series]
    if not any(any(column) for column in columns):
        return _empty(id_prefix=id_prefix, kind="chart-grouped", title=title, description=description)
    if description is None:
        highs = []
        for name, column in zip(names, columns, strict=True):
            best_label, best = _highest(labels, column)
            highs.append(f"{name} highest {_with_unit(best, unit)} ({best_label})")
        description = f"{title}, {' and '.join(names)} for {labels[0]} to {labels[-1]}: {'; '.join(highs)}."

    parts: list[str] = []
    _open(parts, id_prefix=id_prefix, kind="chart-grouped", width=WIDTH, height=HEIGHT, font=FONT, title=title,
          description=description)
    unit_width = _unit_caption(parts, unit)
    last_baseline = _legend(parts, list(zip(names, SERIES_CLASSES, strict=False)), start_x=unit_width)
    plot = _plot(max(max(column) for column in columns), last_baseline + FONT)
    _axes(parts, plot)
    count = len(series)
    slot = plot.width / len(labels)
    gap = 2
    group_width = min(slot * 0.8, 30 * count)
    bar_width = (group_width - gap * (count - 1)) / count
    unit_text = _text(unit)
    for i, label in enumerate(labels):
        x = plot.left + slot * i + (slot - group_width) / 2
        label_text = _text(label)
        for name, column, series_class in zip(names, columns, SERIES_CLASSES, strict=False):
            height = plot.bar_height(column[i])
            value_text = f"{format_number(column[i])} {unit_text}" if unit else format_number(column[i])
            parts.append(
                f'<rect class="chart-bar {series_class}" x="{_n(x)}" y="{_n(plot.bottom - height)}"'
                f' width="{_n(bar_width)}" height="{_n(height)}">'
                f"<title>{label_text}, {_text(name)}: {value_text}</title></rect>"
            )
            x += bar_width + gap
    _x_labels(parts, plot, labels)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every data value above went through _text()


# --- horizontal bars ----------------------------------------------------------------------------


def horizontal_bar_chart(
    *,
    id_prefix: str,
    title: str,
    labels: list[str],
    values: list[float],
    unit: str,
    description: str | None = None,
) -> SafeString:
    """One bar per row, label on the left, value after the bar: e.g. distance by activity type.

    Rows keep the given order. The chart grows taller with more rows; long labels are shortened
    with "…" (the bar's ``<title>`` has the whole label).
    """
    _check_id(id_prefix)
    numbers = _numbers(values, labels)
    if not any(numbers):
        return _empty(id_prefix=id_prefix, kind="chart-horizontal", title=title, description=description)
    if description is None:
        best_label, best = _highest(labels, numbers)
        description = f"{title}: {len(numbers)} rows; highest {_with_unit(best, unit)} ({best_label})."

    pitch = FONT + 13
    thickness = FONT + 3
    pad = 4
    height = pad * 2 + pitch * len(numbers)
    shown = [_fit(str(label), WIDTH * 0.35) for label in labels]
    label_width = max(_text_width(text) for text in shown)
    value_texts = [_with_unit(value, unit) for value in numbers]
    bar_left = label_width + 10
    bar_room = WIDTH - bar_left - 6 - max(_text_width(text) for text in value_texts)
    maximum = max(numbers)

    parts: list[str] = []
    _open(parts, id_prefix=id_prefix, kind="chart-horizontal", width=WIDTH, height=height, font=FONT, title=title,
          description=description)
    for i, (label, value) in enumerate(zip(labels, numbers, strict=True)):
        center = pad + pitch * (i + 0.5)
        bar_width = value / maximum * bar_room
        value_text = _text(value_texts[i])
        parts.append(_label(label_width, _baseline(center), _text(shown[i]), anchor="end"))
        parts.append(
            f'<rect class="chart-bar series-1" x="{_n(bar_left)}" y="{_n(center - thickness / 2)}"'
            f' width="{_n(bar_width)}" height="{_n(thickness)}"><title>{_text(label)}: {value_text}</title></rect>'
        )
        parts.append(_label(bar_left + bar_width + 6, _baseline(center), value_text, extra_class="chart-value"))
    parts.append(f'<line class="chart-axis" x1="{_n(bar_left)}" y1="{pad}" x2="{_n(bar_left)}"'
                 f' y2="{_n(height - pad)}"/></svg>')
    return mark_safe("".join(parts))  # noqa: S308 - every data value above went through _text()


# --- calendar heat map --------------------------------------------------------------------------


def _heat_level(value: float, active: Sequence[float]) -> int:
    """0 for no activity; otherwise the quartile of `value` among the active days' sorted values,
    counting ties upwards, so the highest day is always 4 and a lone active day is 4 too."""
    if value <= 0:
        return 0
    return -(-4 * bisect_right(active, value) // len(active))


def calendar_heatmap(
    *,
    id_prefix: str,
    title: str,
    days: dict[dt.date, float],
    end: dt.date,
    weeks: int = 53,
    unit: str = "min",
    description: str | None = None,
) -> SafeString:
    """A year grid: one column per week (Monday on top), the last column holding `end`.

    Each day up to `end` is a square with class ``heat-0`` (nothing) to ``heat-4`` (quartiles of
    the active days in view) and a ``<title>`` such as "2026-11-03: 45 min". Days after `end` are
    not drawn; values outside the grid are ignored. Month names run along the top, Mon/Wed/Fri
    down the left, and a Less-to-More key sits at the bottom right.
    """
    _check_id(id_prefix)
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    first = end - dt.timedelta(days=end.weekday() + 7 * (weeks - 1))
    dates = [first + dt.timedelta(days=i) for i in range((end - first).days + 1)]
    values = [float(days.get(day, 0)) for day in dates]
    for day, value in zip(dates, values, strict=True):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"heat map values must be finite and not negative, got {value!r} on {day}")
    active = sorted(v for v in values if v > 0)
    levels = [_heat_level(v, active) for v in values]

    unit_suffix = f" {_text(unit)}" if unit else ""
    if description is None:
        if active:
            best = max(range(len(values)), key=lambda i: (values[i], -i))
            description = (f"{title}: {len(active)} active days from {first} to {end}, "
                           f"{_with_unit(sum(active), unit)} in all; most on {dates[best]}: "
                           f"{_with_unit(values[best], unit)}.")
        else:
            description = f"{title}: no activity from {first} to {end}."

    font = HEAT_FONT
    left = _text_width("Wed", font) + 8
    top = font + 6
    grid_bottom = top + 7 * CELL_PITCH - (CELL_PITCH - CELL)
    key_center = grid_bottom + 10 + font / 2
    key_width = 5 * CELL_PITCH - (CELL_PITCH - CELL)
    key_span = _text_width("Less", font) + 6 + key_width + 6 + _text_width("More", font)
    width = max(left + weeks * CELL_PITCH - (CELL_PITCH - CELL), key_span)
    height = key_center + font * 0.6

    parts: list[str] = []
    _open(parts, id_prefix=id_prefix, kind="chart-heatmap", width=width, height=height, font=font, title=title,
          description=description)

    # Each month's name stands over the first column whose Monday is in that month. The first,
    # partial month gives way when the next name follows too closely; a name that would overlap the
    # one before it or run off the right edge is left out.
    months: list[tuple[int, str]] = []
    for column in range(weeks):
        name = _MONTHS[(first + dt.timedelta(days=7 * column)).month - 1]
        if not months or months[-1][1] != name:
            months.append((column, name))
    if len(months) > 1 and (months[1][0] - months[0][0]) * CELL_PITCH < _text_width(months[0][1], font) + 6:
        months.pop(0)
    free_left = 0.0
    for column, name in months:
        x = left + column * CELL_PITCH
        name_width = _text_width(name, font)
        if x >= free_left and x + name_width <= width:
            parts.append(_label(x, font, name, extra_class="chart-month"))
            free_left = x + name_width + 2
    for row, name in ((0, "Mon"), (2, "Wed"), (4, "Fri")):
        parts.append(_label(left - 6, _baseline(top + row * CELL_PITCH + CELL / 2, font), name, anchor="end",
                            extra_class="chart-weekday"))

    xs = [_n(left + column * CELL_PITCH) for column in range(weeks)]
    ys = [_n(top + row * CELL_PITCH) for row in range(7)]
    zero = f": 0{unit_suffix}"
    for i, (day, value, level) in enumerate(zip(dates, values, levels, strict=True)):
        value_text = f": {format_number(value)}{unit_suffix}" if value else zero
        parts.append(f'<rect class="chart-day heat-{level}" x="{xs[i // 7]}" y="{ys[i % 7]}" width="{CELL}"'
                     f' height="{CELL}"><title>{day.isoformat()}{value_text}</title></rect>')

    # The key: Less [heat-0 .. heat-4] More, right-aligned under the grid, each square with its range.
    more_x = width - _text_width("More", font)
    swatch_x = more_x - 6 - key_width
    parts.append(_label(swatch_x - 6, _baseline(key_center, font), "Less", anchor="end"))
    by_level: list[list[float]] = [[] for _ in range(5)]
    for value, level in zip(values, levels, strict=True):
        by_level[level].append(value)
    for level, in_level in enumerate(by_level):
        in_level.sort()
        if level == 0:
            meaning = "No activity"
        else:
            if not in_level:
                meaning = f"Level {level}: no days"
            elif in_level[0] == in_level[-1]:
                meaning = f"Level {level}: {format_number(in_level[0])}{unit_suffix}"
            else:
                meaning = f"Level {level}: {format_number(in_level[0])} to {format_number(in_level[-1])}{unit_suffix}"
        parts.append(f'<rect class="chart-swatch heat-{level}" x="{_n(swatch_x + level * CELL_PITCH)}"'
                     f' y="{_n(key_center - CELL / 2)}" width="{CELL}" height="{CELL}"><title>{meaning}</title></rect>')
    parts.append(_label(more_x, _baseline(key_center, font), "More"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every data value above went through _text()
