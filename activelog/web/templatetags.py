"""Template filters of the browser UI ({% load ui %}): numbers in the person's units."""

from django import template

from activelog import units as u

register = template.Library()


def _units(user) -> str:
    return getattr(user, "units", u.METRIC) or u.METRIC


@register.filter
def distance(km, user) -> str:
    """{{ activity.distance_km|distance:user }} -> "8.40 km" or "5.22 mi"; "" without one."""
    value = u.km_to_display(km, _units(user))
    return "" if value is None else f"{value} {u.distance_unit(_units(user))}"


@register.filter
def distance_value(km, user):
    """The number only (form initial values, tables with the unit in the header)."""
    return u.km_to_display(km, _units(user))


@register.filter
def distance_unit(user) -> str:
    return u.distance_unit(_units(user))


@register.filter
def pace(activity, user) -> str:
    units = _units(user)
    return u.format_pace(u.pace_per_unit(activity.duration_minutes, activity.distance_km, units), units)


@register.filter
def duration(minutes) -> str:
    return u.format_duration(minutes)


@register.simple_tag(takes_context=True)
def media_url(context, name: str) -> str:
    """A time-limited link to a stored (private) file, as the API gives them."""
    from activelog.storage import PHOTO_LINK_SECONDS, signed_url

    return signed_url(name, seconds=PHOTO_LINK_SECONDS, request=context.get("request"))
