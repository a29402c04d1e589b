"""Distances and paces in a person's units. Everything is stored in kilometres; people who chose
imperial units enter and read miles and minutes per mile."""

from decimal import ROUND_HALF_UP, Decimal

KM_PER_MILE = Decimal("1.609344")
METRIC = "metric"
IMPERIAL = "imperial"
TWO_PLACES = Decimal("0.01")


def distance_unit(units: str) -> str:
    return "mi" if units == IMPERIAL else "km"


def km_to_display(km: Decimal | float | None, units: str) -> Decimal | None:
    """A stored distance in the person's unit, to 2 decimals."""
    if km is None:
        return None
    value = Decimal(str(km))
    if units == IMPERIAL:
        value = value / KM_PER_MILE
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def display_to_km(value: Decimal | None, units: str) -> Decimal | None:
    """What a person typed, in their unit, as kilometres to store (2 decimals)."""
    if value is None:
        return None
    if units == IMPERIAL:
        value = Decimal(value) * KM_PER_MILE
    return Decimal(value).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def pace_to_display(min_per_km: Decimal | float | None, units: str) -> float | None:
    """Minutes per km as minutes per km (or per mile)."""
    if min_per_km is None:
        return None
    return float(Decimal(str(min_per_km)) * (KM_PER_MILE if units == IMPERIAL else 1))


def pace_per_unit(duration_minutes: int | float, km: Decimal | float | None, units: str) -> float | None:
    """Minutes per km (or per mile), None without a distance."""
    if not km:
        return None
    return pace_to_display(Decimal(duration_minutes) / Decimal(str(km)), units)


def format_pace(minutes: float | None, units: str) -> str:
    """5.5 -> "5:30 /km"; an empty string without a pace."""
    if minutes is None:
        return ""
    total_seconds = round(minutes * 60)
    return f"{total_seconds // 60}:{total_seconds % 60:02d} /{distance_unit(units)}"


def format_duration(minutes: int | None) -> str:
    """95 -> "1 h 35 min", 40 -> "40 min"."""
    if minutes is None:
        return ""
    hours, rest = divmod(int(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"
