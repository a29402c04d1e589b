"""Server-rendered SVG charts: well-formed, accessible, escaped, styled only through classes."""

import datetime as dt
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from itertools import pairwise

import pytest
from django.utils.safestring import SafeString

from activities.statistics.charts import (
    HEAT_SCALE,
    HEAT_SCALE_DARK,
    PALETTE,
    bar_chart,
    calendar_heatmap,
    format_number,
    grouped_bar_chart,
    horizontal_bar_chart,
    nice_ticks,
)

SVG = "{http://www.w3.org/2000/svg}"
WEEKS = ["Sep 7", "Sep 14", "Sep 21", "Sep 28", "Oct 5", "Oct 12", "Oct 19", "Oct 26", "Nov 2", "Nov 9", "Nov 16",
         "Nov 23"]
DISTANCES = [12.5, 20, 0, 33.3, 18, 25, 42.1, 30, 15.2, 38, 27, 10]
NASTY = '<script>&"'


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def elements(root: ET.Element, tag: str, css_class: str) -> list[ET.Element]:
    return [e for e in root.iter(SVG + tag) if css_class in classes(e)]


def tooltip(element: ET.Element) -> str:
    return element.find(SVG + "title").text


def texts(root: ET.Element) -> list[str]:
    return [e.text for e in root.iter(SVG + "text")]


def weekly(**overrides) -> str:
    arguments = {"id_prefix": "weekly", "title": "Distance per week", "labels": WEEKS, "values": DISTANCES,
                 "unit": "km"}
    return bar_chart(**(arguments | overrides))


def heatmap(days=None, end=dt.date(2026, 11, 29), **overrides) -> str:
    return calendar_heatmap(id_prefix="heat", title="Active minutes per day", days=days or {}, end=end, **overrides)


def every_chart(prefix: str = "c") -> list[str]:
    return [
        weekly(id_prefix=f"{prefix}-bars"),
        bar_chart(id_prefix=f"{prefix}-empty", title="Nothing", labels=[], values=[], unit="km"),
        grouped_bar_chart(id_prefix=f"{prefix}-grouped", title="This year and last", labels=["Jan", "Feb", "Mar"],
                          series=[("2026", [10, 20, 30]), ("2025", [5, 25, 15])], unit="km"),
        horizontal_bar_chart(id_prefix=f"{prefix}-types", title="By type", labels=["running", NASTY],
                             values=[120.5, 3], unit="km"),
        calendar_heatmap(id_prefix=f"{prefix}-heat", title="Minutes", days={dt.date(2026, 11, 3): 45},
                         end=dt.date(2026, 11, 29)),
    ]


# --- every chart ----------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(5))
def test_every_chart_is_a_labelled_responsive_image(index):
    svg = every_chart()[index]
    root = parse(svg)

    assert isinstance(svg, SafeString)
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    assert "chart" in classes(root)
    title = root.find(SVG + "title")
    desc = root.find(SVG + "desc")
    assert root.get("aria-labelledby") == title.get("id")
    assert root.get("aria-describedby") == desc.get("id")
    assert title.text and desc.text
    assert root.get("width") == "100%"
    assert root.get("height") is None
    assert root.get("preserveAspectRatio") == "xMidYMid meet"
    assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox"))


def test_nothing_is_styled_inline_or_coloured_in_the_markup():
    markup = "".join(every_chart())

    assert "style" not in markup.lower()
    assert "<script" not in markup.lower()
    for element in parse(f"<all>{markup}</all>").iter():
        assert not {"style", "fill", "stroke", "color"} & set(element.attrib), element.attrib


def test_ids_are_unique_per_prefix_and_references_resolve_within_the_chart():
    first, second = every_chart("a"), every_chart("b")
    ids = [e.get("id") for svg in first + second for e in parse(svg).iter() if e.get("id")]

    assert len(ids) == len(set(ids)) == 2 * 2 * 5
    assert all(i.startswith("a-") for i in ids[:10]) and all(i.startswith("b-") for i in ids[10:])
    for svg in first + second:
        root = parse(svg)
        own = {e.get("id") for e in root.iter() if e.get("id")}
        assert {root.get("aria-labelledby"), root.get("aria-describedby")} == own


@pytest.mark.parametrize("prefix", ["", "1chart", "a b", 'x"', "a>b"])
def test_an_id_prefix_that_is_no_safe_id_is_refused(prefix):
    with pytest.raises(ValueError, match="id_prefix"):
        weekly(id_prefix=prefix)


def test_the_same_input_gives_the_same_markup():
    assert every_chart() == every_chart()


def test_the_palette_documents_the_okabe_ito_colours_and_a_five_step_heat_scale():
    assert set(PALETTE.values()) == {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"}
    assert len(HEAT_SCALE) == len(HEAT_SCALE_DARK) == 5
    assert all(re.fullmatch(r"#[0-9A-F]{6}", colour) for colour in (*HEAT_SCALE, *HEAT_SCALE_DARK))


# --- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "text"), [
    (42.1, "42.1"), (45, "45"), (3.0, "3"), (2.25, "2.3"), (0.05, "0.1"), (Decimal("12.34"), "12.3"),
    (0, "0"), (-0.04, "0"), (12345.67, "12345.7"), (1e-9, "0"), (1e30, "1" + "0" * 30),
])
def test_numbers_have_one_decimal_at_most_and_no_trailing_zero(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(("maximum", "expected"), [
    (42.1, [0, 20, 40, 60]),
    (100, [0, 25, 50, 75, 100]),
    (9, [0, 2.5, 5, 7.5, 10]),
    (0.3, [0, 0.1, 0.2, 0.3]),
    (0.05, [0, 0.1, 0.2]),
    (12345, [0, 5000, 10000, 15000]),
])
def test_ticks_are_zero_and_round_numbers_reaching_the_maximum(maximum, expected):
    assert nice_ticks(maximum) == expected


@pytest.mark.parametrize("maximum", [0.3, 1, 3.3, 7, 11, 42.1, 99.9, 101, 999, 12345, 1e6])
def test_there_are_three_to_five_evenly_spaced_ticks_with_one_decimal_at_most(maximum):
    ticks = nice_ticks(maximum)

    assert 3 <= len(ticks) <= 5
    assert ticks[0] == 0 and ticks[-2] < maximum <= ticks[-1]
    steps = {round(b - a, 9) for a, b in pairwise(ticks)}
    assert len(steps) == 1
    assert all(float(format_number(t)) == t for t in ticks)


# --- vertical bars -------------------------------------------------------------------------------


def test_one_bar_per_value_with_heights_proportional_to_the_values_on_one_baseline():
    root = parse(weekly())
    bars = elements(root, "rect", "chart-bar")

    assert len(bars) == 12
    assert all("series-1" in classes(bar) for bar in bars)
    heights = [float(bar.get("height")) for bar in bars]
    unit_height = heights[0] / DISTANCES[0]
    assert heights == pytest.approx([v * unit_height for v in DISTANCES], rel=1e-3)
    assert {round(float(b.get("y")) + float(b.get("height")), 1) for b in bars} == {
        float(elements(root, "line", "chart-axis")[1].get("y1"))}
    xs = [float(bar.get("x")) for bar in bars]
    assert xs == sorted(xs)


def test_each_bar_says_its_label_and_value_and_the_axis_has_round_ticks():
    root = parse(weekly())
    bars = elements(root, "rect", "chart-bar")

    assert [tooltip(bar) for bar in bars][:4] == ["Sep 7: 12.5 km", "Sep 14: 20 km", "Sep 21: 0 km", "Sep 28: 33.3 km"]
    assert [e.text for e in elements(root, "text", "chart-label") if e.get("text-anchor") == "end"] == [
        "0", "20", "40", "60"]
    assert len(elements(root, "line", "chart-grid")) == 3
    assert [e.text for e in elements(root, "text", "chart-unit")] == ["km"]
    # The tallest bar reaches 42.1 of the axis' 60.
    tallest = max(float(bar.get("height")) for bar in bars)
    assert tallest / (tallest / 42.1 * 60) == pytest.approx(42.1 / 60)


def test_the_description_summarises_the_data_in_words_unless_one_is_given():
    assert parse(weekly()).find(SVG + "desc").text == (
        "Distance per week: 12 bars from Sep 7 to Nov 23; highest 42.1 km (Oct 19).")
    given = "Distance per week for the 12 weeks ending 2026-11-30: highest 42.1 km in the week of 2026-11-09"
    assert parse(weekly(description=given)).find(SVG + "desc").text == given


def test_twelve_short_labels_fit_and_many_labels_are_thinned_out_ending_with_the_last():
    few = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    shown = texts(parse(bar_chart(id_prefix="few", title="t", labels=few, values=[1] * 6, unit="")))
    assert [t for t in shown if t in few] == few

    days = [f"2026-01-{d:02d}" for d in range(1, 32)] + [f"2026-02-{d:02d}" for d in range(1, 22)]
    root = parse(bar_chart(id_prefix="many", title="t", labels=days, values=[1.5] * 52, unit="min"))
    labels = [e for e in elements(root, "text", "chart-label") if e.text in days]
    assert 2 <= len(labels) <= 12
    assert labels[-1].text == "2026-02-21"
    centres = [float(e.get("x")) for e in labels]
    assert all(b - a > 10 * 16 * 0.64 for a, b in pairwise(centres))  # no overlap
    assert len(elements(root, "rect", "chart-bar")) == 52  # every bar is still drawn, with its tooltip
    assert tooltip(elements(root, "rect", "chart-bar")[0]) == "2026-01-01: 1.5 min"


def test_labels_and_texts_from_data_are_escaped():
    svg = bar_chart(id_prefix="x", title=f"Title {NASTY}", labels=[NASTY, "b"], values=[5, 2], unit=NASTY,
                    description=f"Desc {NASTY}")
    root = parse(svg)

    assert "<script" not in svg
    assert "&lt;script&gt;&amp;&quot;" in svg
    assert root.find(SVG + "title").text == f"Title {NASTY}"
    assert root.find(SVG + "desc").text == f"Desc {NASTY}"
    assert tooltip(elements(root, "rect", "chart-bar")[0]) == f"{NASTY}: 5 {NASTY}"
    assert NASTY in texts(root)


def test_control_characters_do_not_break_the_xml():
    root = parse(bar_chart(id_prefix="x", title="t\x00", labels=["a\x1bb"], values=[1], unit="km"))
    assert tooltip(elements(root, "rect", "chart-bar")[0]) == "ab: 1 km"


@pytest.mark.parametrize(("labels", "values"), [([], []), (["a", "b", "c"], [0, 0, 0])])
def test_no_data_is_an_empty_state_that_is_still_a_titled_image(labels, values):
    root = parse(weekly(labels=labels, values=values))

    assert root.get("role") == "img"
    assert root.find(SVG + "title").text == "Distance per week"
    assert [e.text for e in elements(root, "text", "chart-empty")] == ["No data yet"]
    assert not list(root.iter(SVG + "rect"))
    assert not list(root.iter(SVG + "line"))


@pytest.mark.parametrize(("labels", "values"), [(["a"], [1, 2]), (["a"], [-1]), (["a"], [float("nan")])])
def test_values_that_do_not_fit_the_labels_or_are_negative_are_refused(labels, values):
    with pytest.raises(ValueError):
        weekly(labels=labels, values=values)


def test_the_series_class_is_one_of_the_styled_ones():
    assert all("series-2" in classes(b) for b in elements(parse(weekly(series_class="series-2")), "rect", "chart-bar"))
    with pytest.raises(ValueError, match="series_class"):
        weekly(series_class='series-1" onload="x')


# --- grouped bars --------------------------------------------------------------------------------


def test_grouped_bars_stand_side_by_side_in_series_order_with_a_legend():
    root = parse(grouped_bar_chart(
        id_prefix="years", title="Monthly distance", labels=["Jan", "Feb", "Mar"],
        series=[("2026", [10, 20, 30]), (NASTY, [5, 25, 15]), ("2024", [0, 10, 20])], unit="km"))
    bars = elements(root, "rect", "chart-bar")

    assert len(bars) == 9
    assert [next(c for c in classes(b) if c.startswith("series-")) for b in bars[:3]] == [
        "series-1", "series-2", "series-3"]
    assert [tooltip(b) for b in bars[:3]] == ["Jan, 2026: 10 km", f"Jan, {NASTY}: 5 km", "Jan, 2024: 0 km"]
    heights = [float(b.get("height")) for b in bars]
    assert heights == pytest.approx([h * heights[0] / 10 for h in [10, 5, 0, 20, 25, 10, 30, 15, 20]], rel=1e-3)
    xs = [float(b.get("x")) for b in bars]
    assert xs == sorted(xs)
    swatches = elements(root, "rect", "chart-swatch")
    assert [next(c for c in classes(s) if c.startswith("series-")) for s in swatches] == [
        "series-1", "series-2", "series-3"]
    assert {"2026", NASTY, "2024", "Jan", "Feb", "Mar"} <= set(texts(root))
    assert root.find(SVG + "desc").text == (
        f"Monthly distance, 2026 and {NASTY} and 2024 for Jan to Mar: 2026 highest 30 km (Mar); "
        f"{NASTY} highest 25 km (Feb); 2024 highest 20 km (Mar).")


def test_grouped_bars_take_two_or_three_series_of_matching_length():
    for series in ([("a", [1])], [("a", [1]), ("b", [1]), ("c", [1]), ("d", [1])]):
        with pytest.raises(ValueError, match="series"):
            grouped_bar_chart(id_prefix="g", title="t", labels=["x"], series=series, unit="km")
    with pytest.raises(ValueError, match="labels"):
        grouped_bar_chart(id_prefix="g", title="t", labels=["x"], series=[("a", [1]), ("b", [1, 2])], unit="km")


def test_grouped_bars_without_data_are_the_empty_state():
    root = parse(grouped_bar_chart(id_prefix="g", title="t", labels=["x"], series=[("a", [0]), ("b", [0])],
                                   unit="km"))
    assert [e.text for e in elements(root, "text", "chart-empty")] == ["No data yet"]


# --- horizontal bars -----------------------------------------------------------------------------


def test_horizontal_bars_have_the_label_left_and_the_value_after_the_bar():
    long_type = "a very long activity type name that does not fit"
    root = parse(horizontal_bar_chart(id_prefix="types", title="By type", labels=["cycling", "running", long_type],
                                      values=[340, 120.5, 12], unit="km"))
    bars = elements(root, "rect", "chart-bar")

    assert len(bars) == 3
    widths = [float(b.get("width")) for b in bars]
    assert widths == pytest.approx([widths[0], 120.5 * widths[0] / 340, 12 * widths[0] / 340], rel=1e-3)
    assert [tooltip(b) for b in bars] == ["cycling: 340 km", "running: 120.5 km", f"{long_type}: 12 km"]
    values = elements(root, "text", "chart-value")
    assert [v.text for v in values] == ["340 km", "120.5 km", "12 km"]
    for bar, value in zip(bars, values, strict=True):
        assert float(value.get("x")) > float(bar.get("x")) + float(bar.get("width"))
    labels = [e for e in elements(root, "text", "chart-label") if e.get("text-anchor") == "end"]
    assert [e.text for e in labels][:2] == ["cycling", "running"]
    assert labels[2].text.endswith("…") and long_type.startswith(labels[2].text[:-1])
    assert all(float(e.get("x")) < float(bars[0].get("x")) for e in labels)
    assert float(bars[1].get("y")) > float(bars[0].get("y"))


def test_horizontal_bars_without_data_are_the_empty_state():
    root = parse(horizontal_bar_chart(id_prefix="t", title="By type", labels=[], values=[], unit="km"))
    assert [e.text for e in elements(root, "text", "chart-empty")] == ["No data yet"]


# --- calendar heat map ---------------------------------------------------------------------------


def cells(root: ET.Element) -> list[ET.Element]:
    return elements(root, "rect", "chart-day")


def day_of(cell: ET.Element) -> dt.date:
    return dt.date.fromisoformat(tooltip(cell).split(":")[0])


def heat_class(cell: ET.Element) -> str:
    return next(c for c in classes(cell) if c.startswith("heat-"))


def test_a_year_ending_on_a_sunday_is_53_full_weeks_from_a_monday():
    root = parse(heatmap(end=dt.date(2026, 11, 29)))
    days = [day_of(c) for c in cells(root)]

    assert len(days) == 371
    assert days[0] == dt.date(2025, 11, 24) and days[0].weekday() == 0
    assert days[-1] == dt.date(2026, 11, 29)
    assert days == [days[0] + dt.timedelta(days=i) for i in range(371)]


def test_days_after_end_are_not_drawn_and_end_is_in_the_last_column_in_its_weekday_row():
    end = dt.date(2026, 11, 25)  # a Wednesday
    root = parse(heatmap(days={end: 30, end + dt.timedelta(days=1): 60}, end=end))
    drawn = cells(root)
    days = [day_of(c) for c in drawn]

    assert len(drawn) == 52 * 7 + 3
    assert days[0] == dt.date(2025, 11, 24)
    assert days[-1] == end and max(days) == end
    assert heat_class(drawn[-1]) == "heat-4"  # the day after `end` does not count either
    last_x = max(float(c.get("x")) for c in drawn)
    assert [day_of(c) for c in drawn if float(c.get("x")) == last_x] == [end - dt.timedelta(days=2),
                                                                         end - dt.timedelta(days=1), end]
    ys = sorted({float(c.get("y")) for c in drawn})
    assert float(drawn[-1].get("y")) == ys[2]
    assert "2026-11-26" not in ET.tostring(root, encoding="unicode")


def test_each_day_tells_its_date_and_value_and_its_heat_is_the_quartile_of_the_active_days():
    end = dt.date(2026, 11, 29)
    days = {end - dt.timedelta(days=i): float(v) for i, v in enumerate([10, 20, 30, 40, 50, 60, 70, 80], start=1)}
    days[dt.date(2026, 11, 3)] = 45
    root = parse(heatmap(days=days, end=end))
    by_day = {day_of(c): c for c in cells(root)}

    assert tooltip(by_day[dt.date(2026, 11, 3)]) == "2026-11-03: 45 min"
    assert tooltip(by_day[end]) == "2026-11-29: 0 min"
    assert heat_class(by_day[end]) == "heat-0"
    assert heat_class(by_day[end - dt.timedelta(days=8)]) == "heat-4"  # the highest, 80
    levels = [heat_class(by_day[day]) for day in sorted(days, key=days.get)]
    assert levels == ["heat-1", "heat-1", "heat-2", "heat-2", "heat-3", "heat-3", "heat-4", "heat-4", "heat-4"]
    assert sum(heat_class(c) == "heat-0" for c in cells(root)) == 371 - 9


def test_a_single_active_day_is_the_top_of_the_scale_and_no_days_are_all_empty():
    end = dt.date(2026, 11, 29)
    one = cells(parse(heatmap(days={end: 5}, end=end)))
    assert heat_class(one[-1]) == "heat-4"
    assert {heat_class(c) for c in one[:-1]} == {"heat-0"}

    root = parse(heatmap(days={}, end=end))
    assert {heat_class(c) for c in cells(root)} == {"heat-0"}
    assert root.find(SVG + "desc").text == "Active minutes per day: no activity from 2025-11-24 to 2026-11-29."


def test_the_heat_map_has_month_and_weekday_names_a_key_and_a_summary():
    end = dt.date(2026, 11, 29)
    root = parse(heatmap(days={dt.date(2026, 11, 3): 45, dt.date(2026, 6, 1): 90.25}, end=end))

    months = [e.text for e in elements(root, "text", "chart-month")]
    assert months[-6:] == ["Jun", "Jul", "Aug", "Sep", "Oct", "Nov"]
    assert len(months) >= 11 and len(set(months)) == len(months)
    assert [e.text for e in elements(root, "text", "chart-weekday")] == ["Mon", "Wed", "Fri"]
    key = elements(root, "rect", "chart-swatch")
    assert [heat_class(s) for s in key] == ["heat-0", "heat-1", "heat-2", "heat-3", "heat-4"]
    assert tooltip(key[0]) == "No activity"
    assert [tooltip(s) for s in key[1:]] == ["Level 1: no days", "Level 2: 45 min", "Level 3: no days",
                                            "Level 4: 90.3 min"]
    assert {"Less", "More"} <= set(texts(root))
    assert root.find(SVG + "desc").text == (
        "Active minutes per day: 2 active days from 2025-11-24 to 2026-11-29, 135.3 min in all; "
        "most on 2026-06-01: 90.3 min.")
    width = float(root.get("viewBox").split()[2])
    assert all(float(e.get("x")) + 3 * 21 * 0.6 <= width for e in elements(root, "text", "chart-month"))


def test_the_heat_map_takes_fewer_weeks_and_refuses_negative_minutes():
    assert len(cells(parse(heatmap(end=dt.date(2026, 11, 29), weeks=4)))) == 28
    with pytest.raises(ValueError):
        heatmap(days={dt.date(2026, 11, 3): -1})
    with pytest.raises(ValueError, match="weeks"):
        heatmap(weeks=0)
