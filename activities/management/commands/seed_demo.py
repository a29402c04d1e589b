"""``manage.py seed_demo``: demo accounts with a realistic, reproducible history of activities.

    python manage.py seed_demo                                  # demo, ~a year of activities
    python manage.py seed_demo --users 3 --activities 500       # demo, demo2, demo3
    python manage.py seed_demo --activities 100000 --days 1825 --reset   # a benchmark data set

The same ``--seed`` and options give the same activities (types, durations, distances,
calories, titles, tags, local times of day) on every run and every database on the same day. The
history always ends now, so on another day the weekly pattern (long rides and hikes at weekends,
commutes on weekdays) follows the calendar. Running the command again is idempotent: a user who
already has at least the requested number of activities is skipped (one with fewer is topped
up); ``--reset`` deletes the user's activities and tags first and generates them again. Extra
users (demo2, demo3, ...) get their own data and time zones.

Rows are built in Python and written with ``bulk_create`` in batches (activities, then their
tag links through the M2M table), each user in one transaction: an interrupted run leaves that
user as it was, so running the command again simply starts over for them.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from accounts import services as account_services
from accounts.models import User
from activities import rules
from activities.models import Activity, Photo, Tag
from activities.services import stats_version_bump, tags_get_or_create

DEFAULT_PASSWORD = "demo-password-2026"
DEFAULT_SEED = 2026
DEFAULT_DAYS = 365
ACTIVITIES_PER_YEAR = 300
TIMEZONES = ["Europe/London", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Tokyo"]
TAG_NAMES = [
    "morning", "evening", "outdoor", "indoor", "commute", "race", "long", "easy",
    "intervals", "recovery", "with-friends", "hills",
]
ActivityTag = Activity.tags.through

# Local start-time windows, (first minute, last minute) after midnight: everything is 06:00-21:00.
SLOTS = {
    "early": (6 * 60, 8 * 60 + 30),
    "morning": (8 * 60 + 30, 11 * 60 + 30),
    "lunch": (12 * 60, 13 * 60 + 30),
    "afternoon": (14 * 60, 17 * 60),
    "evening": (17 * 60, 21 * 60),
}
SLOT_NAMES = list(SLOTS)
# Monday .. Sunday: training happens more at weekends, less on Fridays.
WEEKDAY_FACTOR = [0.85, 1.0, 1.0, 1.0, 0.7, 1.3, 1.15]


@dataclass(frozen=True)
class Sport:
    name: str
    share: float  # relative frequency
    weekend: float  # frequency multiplier on Saturday/Sunday
    slots: tuple[float, ...]  # weights of SLOT_NAMES
    minutes: tuple[int, int]  # a usual session
    long_minutes: tuple[int, int]  # a long one
    pace: tuple[float, float] | None  # minutes per km; None: no distance (yoga, gym)
    kcal_per_min: tuple[float, float]
    outdoor: float  # probability the session is outdoors


SPORTS = [
    Sport("running", 0.27, 1.0, (4, 2, 1, 1, 4), (22, 65), (80, 150), (4.5, 7.0), (9.5, 13.0), 0.9),
    Sport("cycling", 0.19, 1.4, (3, 2, 0.3, 1, 3), (30, 100), (120, 300), (1.8, 3.0), (7.0, 11.0), 0.85),
    Sport("swimming", 0.07, 0.9, (3, 1, 2, 1, 2), (25, 60), (60, 90), (18.0, 30.0), (7.0, 10.0), 0.15),
    Sport("walking", 0.15, 1.1, (2, 2, 3, 2, 3), (20, 75), (90, 150), (9.5, 13.0), (3.5, 5.0), 0.95),
    Sport("hiking", 0.04, 4.0, (1, 4, 0.3, 1, 0.2), (90, 240), (240, 420), (12.0, 20.0), (5.5, 7.5), 1.0),
    Sport("yoga", 0.09, 1.0, (4, 1, 1, 1, 4), (20, 60), (60, 90), None, (2.5, 4.0), 0.05),
    Sport("gym", 0.13, 0.8, (3, 1, 2, 1, 5), (35, 80), (80, 110), None, (5.0, 8.0), 0.0),
    Sport("rowing", 0.06, 1.2, (3, 2, 0.5, 1, 3), (20, 60), (60, 100), (4.0, 5.4), (7.0, 10.0), 0.3),
]

SLOT_WORD = {"early": "Morning", "morning": "Morning", "lunch": "Lunch", "afternoon": "Afternoon", "evening": "Evening"}
TITLES = {
    "running": {"long": ["Long Run", "Long Slow Run"], "intervals": ["Track Intervals", "Tempo Run", "Hill Repeats"],
                "recovery": ["Recovery Run", "Shakeout Run"], "default": "{slot} Run"},
    "cycling": {"long": ["Long Ride", "Sportive Training Ride"], "intervals": ["Turbo Intervals", "Hill Climbs"],
                "commute": ["Commute", "Ride to Work", "Ride Home"], "default": "{slot} Ride"},
    "swimming": {"outdoor": ["Open Water Swim", "Lake Swim"], "intervals": ["Swim Drills", "Swim Intervals"],
                 "default": "{slot} Swim"},
    "walking": {"commute": ["Walk to Work", "Walk Home"], "long": ["Long Walk"], "default": "{slot} Walk"},
    "hiking": {"long": ["Mountain Hike", "Ridge Walk"], "default": ["Hill Hike", "Trail Hike", "Coastal Hike",
                                                                    "Forest Hike"]},
    "yoga": {"recovery": ["Yin Yoga", "Restorative Yoga"], "default": ["{slot} Yoga", "Vinyasa Flow", "Yoga Class"]},
    "gym": {"default": ["Strength Training", "Leg Day", "Upper Body", "Full Body Workout", "Core & Mobility"]},
    "rowing": {"outdoor": ["River Row", "Morning Row on the River"], "intervals": ["Erg Intervals", "Rowing Pyramids"],
               "default": ["Erg Session", "Steady Erg"]},
}
RACES = [  # (title, km) — running races, on weekends
    ("parkrun", 5.0), ("5K Race", 5.0), ("10K Race", 10.0), ("Half Marathon", 21.1), ("Marathon", 42.2),
]
NOTES = [
    "Felt great.", "Legs heavy after yesterday.", "Windy on the way back.", "New shoes, still breaking them in.",
    "Knee a bit sore, keep an eye on it.", "Rain most of the way.", "Lovely sunrise.", "Too hot, took it easy.",
    "Good session, kept the effort even.", "Tired today, cut it short.", "Slept badly, felt it.",
    "Fuelled properly this time.", "Stretched afterwards.", "Busy route, lots of stopping.",
]
DESCRIPTIONS = {
    "running": ["Easy loop along the river.", "Out and back on the canal path.", "Park laps with a few strides."],
    "cycling": ["Rolling lanes, a couple of short climbs.", "Flat route, steady pace.", "Coffee stop halfway."],
    "swimming": ["Mostly freestyle, some backstroke.", "Drills: catch-up and single arm.", "Steady lengths."],
    "walking": ["Through the park.", "Errands on foot.", "Walk with the dog."],
    "hiking": ["Up to the ridge and back down the valley.", "Waymarked trail, muddy in places.", "Great views."],
    "yoga": ["Hip openers and hamstrings.", "Slow flow, focus on breathing.", "Class at the studio."],
    "gym": ["Squats, deadlifts, rows.", "Bench, pull-ups, overhead press.", "Circuits and core."],
    "rowing": ["Steady state at rate 20.", "8 x 500 m, 1 min rest.", "Technique focus."],
}


@dataclass
class Plan:
    """How one user's activities are generated."""

    rng: random.Random
    tz: ZoneInfo
    now: datetime
    days: int
    count: int


def _days_for(plan: Plan) -> list[int]:
    """Day offsets (0 = today, days-1 = the oldest) for each activity, oldest first.

    Every day gets a weight: rest days weigh nothing, some weeks are busy, some quiet (and a few
    are holidays), weekends weigh more; activities land on days in proportion to the weights.
    """
    rng = plan.rng
    today = plan.now.astimezone(plan.tz).date()
    weights = []
    week_factor = 1.0
    for offset in range(plan.days - 1, -1, -1):  # oldest first, so weeks are contiguous
        day = today - timedelta(days=offset)
        if day.weekday() == 0 or offset == plan.days - 1:
            week_factor = rng.choices([0.1, 0.45, 1.0, 1.6], weights=[0.05, 0.17, 0.55, 0.23])[0]
        rest = rng.random() < 0.28
        weights.append(0.0 if rest else week_factor * WEEKDAY_FACTOR[day.weekday()] * rng.uniform(0.7, 1.3))
    if not any(weights):
        weights = [1.0] * plan.days
    chosen = rng.choices(range(plan.days), weights=weights, k=plan.count)  # index 0 = oldest
    chosen.sort()
    return [plan.days - 1 - index for index in chosen]


def _pick_title(rng: random.Random, sport: str, flags: set[str], slot: str) -> str:
    options = TITLES[sport]
    for flag in ("long", "intervals", "recovery", "commute", "outdoor"):
        if flag in flags and flag in options:
            choice = options[flag]
            break
    else:
        choice = options["default"]
    title = rng.choice(choice) if isinstance(choice, list) else choice
    return title.format(slot=SLOT_WORD[slot])


def _generate(plan: Plan) -> Iterator[tuple[dict, list[str]]]:
    """Yield (Activity field values, tag names) in chronological order."""
    rng = plan.rng
    tz = plan.tz
    now = plan.now
    start = now - timedelta(days=plan.days)
    today = now.astimezone(tz).date()
    # Per-user taste: the same seed gives a runner, another user may be more of a cyclist.
    shares = [sport.share * rng.uniform(0.5, 1.5) for sport in SPORTS]
    weekday_weights = list(shares)
    weekend_weights = [share * sport.weekend for share, sport in zip(shares, SPORTS, strict=True)]
    offsets = _days_for(plan)

    index = 0
    while index < len(offsets):
        offset = offsets[index]
        same_day = 1
        while index + same_day < len(offsets) and offsets[index + same_day] == offset:
            same_day += 1
        day = today - timedelta(days=offset)
        weekend = day.weekday() >= 5
        items = [_one(rng, day, weekend, weekend_weights if weekend else weekday_weights) for _ in range(same_day)]
        items.sort(key=lambda item: item[0])
        for minute_of_day, fields, tags in items:
            fields["activity_date"] = _aware(day, minute_of_day, tz, start, now)
            yield fields, tags
        index += same_day


def _aware(day: date, minute_of_day: int, tz: ZoneInfo, start: datetime, now: datetime) -> datetime:
    """The local start time as an aware UTC datetime, kept inside (start, now] without using the RNG."""
    clock = dtime(minute_of_day // 60, minute_of_day % 60)
    when = datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)
    if when > now:  # later today: it happened yesterday at the same time
        when = datetime.combine(day - timedelta(days=1), clock, tzinfo=tz).astimezone(UTC)
    if when <= start:  # before the window opened on the oldest day: the next day
        when = datetime.combine(day + timedelta(days=1), clock, tzinfo=tz).astimezone(UTC)
    return min(max(when, start + timedelta(minutes=1)), now)


def _one(rng: random.Random, day: date, weekend: bool, weights: list[float]) -> tuple[int, dict, list[str]]:
    sport = rng.choices(SPORTS, weights=weights)[0]
    name = sport.name
    slot = rng.choices(SLOT_NAMES, weights=sport.slots)[0]
    first, last = SLOTS[slot]
    flags: set[str] = set()
    roll = rng.random()
    if name in {"running", "cycling", "hiking", "walking", "swimming", "rowing"}:
        if roll < (0.3 if weekend else 0.06):
            flags.add("long")
        elif name in {"running", "cycling", "swimming", "rowing"} and roll < 0.45 and not weekend:
            flags.add("intervals")
        elif roll < 0.6:
            flags.add("easy")
        elif name in {"running", "cycling"} and roll < 0.72:
            flags.add("recovery")
    elif name == "yoga" and roll < 0.35:
        flags.add("recovery")
    if name in {"cycling", "walking"} and not weekend and slot in {"early", "evening"} and rng.random() < 0.5:
        flags = {"commute"}
        first, last = (7 * 60, 8 * 60 + 45) if slot == "early" else (17 * 60, 19 * 60)
    if sport.outdoor and rng.random() < sport.outdoor:
        flags.add("outdoor")
    if rng.random() < (0.25 if weekend else 0.05):
        flags.add("with-friends")

    race = None
    if name == "running" and weekend and slot in {"early", "morning"} and rng.random() < 0.1:
        race = rng.choices(RACES, weights=[6, 2, 3, 1.5, 0.5])[0]
        flags = {"race", "outdoor"}

    if race:
        km = race[1]
        if km > 20:
            flags.add("long")
        pace = rng.uniform(4.5, 5.6)
        minutes = max(1, round(km * pace))
        title = race[0]
    else:
        low, high = sport.long_minutes if "long" in flags else sport.minutes
        if "recovery" in flags or "commute" in flags:
            high = max(low + 5, (low + high) // 2)
        minutes = rng.randint(low, high)
        km = None
        if sport.pace:
            fast, slow = sport.pace
            if "intervals" in flags:
                slow = fast + (slow - fast) * 0.45
            elif "recovery" in flags or "easy" in flags:
                fast = fast + (slow - fast) * 0.4
            km = minutes / rng.uniform(fast, slow)
        title = _pick_title(rng, name, flags, slot)
    if name in {"hiking", "cycling", "running", "walking"} and "outdoor" in flags and rng.random() < 0.12:
        flags.add("hills")

    # Start inside the slot, and finish by 21:00 local where possible: long sessions start earlier.
    start_minute = max(6 * 60, min(rng.randint(first, last), 21 * 60 - minutes))

    kcal_low, kcal_high = sport.kcal_per_min
    calories = None if rng.random() < 0.04 else min(20000, round(minutes * rng.uniform(kcal_low, kcal_high)))

    tags: list[str] = []
    candidates = sorted(flags)
    if slot in {"early", "morning"}:
        candidates.append("morning")
    elif slot == "evening":
        candidates.append("evening")
    if "outdoor" not in flags:
        candidates.append("indoor")
    wanted = rng.choices([0, 1, 2, 3], weights=[0.2, 0.35, 0.3, 0.15])[0]
    if wanted:
        tags = rng.sample(candidates, min(wanted, len(candidates)))

    description = ""
    if rng.random() < 0.12:
        description = rng.choice(DESCRIPTIONS[name])
    notes = ""
    if race and rng.random() < 0.6:
        notes = rng.choice(["New PB!", "Went out too fast, held on.", "Great crowd support.", "Negative split."])
    elif rng.random() < 0.15:
        notes = rng.choice(NOTES)

    distance = None
    if km is not None:
        distance = Decimal(min(100000, max(1, round(km * 100)))).scaleb(-2)  # 0.01 .. 1000.00 km
    fields = {
        "activity_type": name,
        "title": title,
        "description": description,
        "duration_minutes": min(1440, max(1, minutes)),
        "distance_km": distance,
        "calories_burned": calories,
        "notes": notes,
    }
    return start_minute, fields, tags


class Command(BaseCommand):
    help = (
        "Create demo accounts (demo, demo2, ...) with a realistic, reproducible history of activities. "
        "Idempotent: users that already have enough activities are skipped unless --reset is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=1, help="How many demo users: demo, demo2, ... (default 1)")
        parser.add_argument(
            "--activities", type=int, default=None,
            help=f"Activities per user (default {ACTIVITIES_PER_YEAR} per 365 days of --days)",
        )
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS,
                            help=f"Days of history, ending now (default {DEFAULT_DAYS})")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                            help=f"Random seed; the same seed gives the same data (default {DEFAULT_SEED})")
        parser.add_argument("--reset", action="store_true",
                            help="Delete the users' activities and tags first, then generate them again")
        parser.add_argument("--password", default=DEFAULT_PASSWORD,
                            help=f"Password of the demo users (default {DEFAULT_PASSWORD!r})")
        parser.add_argument("--batch-size", type=int, default=5000, help="Rows per INSERT (default 5000)")
        parser.add_argument("--no-progress", action="store_true",
                            help="No progress bar (it is shown only when stderr is a terminal anyway)")
        parser.add_argument("--allow-production", action="store_true",
                            help="Allow running with DJANGO_ENV=production (creates accounts with a known password)")

    def handle(self, *args, **options) -> None:
        users = options["users"]
        days = options["days"]
        activities = options["activities"]
        if activities is None:
            activities = max(1, round(ACTIVITIES_PER_YEAR * days / 365))
        if users < 1 or users > 1000:
            raise CommandError("--users must be between 1 and 1000.")
        if days < 1 or days > 36500:
            raise CommandError("--days must be between 1 and 36500.")
        if activities < 0:
            raise CommandError("--activities must not be negative.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if getattr(settings, "PRODUCTION", False) and not options["allow_production"]:
            raise CommandError(
                "Refusing to create demo accounts with a known password in production; "
                "pass --allow-production if you really mean it."
            )
        if not connection.features.can_return_rows_from_bulk_insert:
            raise CommandError(f"seed_demo needs a database that returns ids from bulk inserts ({connection.vendor}).")

        started = time.monotonic()
        now = timezone.now()
        totals = {"created": 0, "seeded": 0, "skipped": 0, "activities": 0, "tags": 0, "links": 0}
        for number in range(1, users + 1):
            username = "demo" if number == 1 else f"demo{number}"
            self._seed_user(username, number, activities, days, now, options, totals)

        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(
            f"seed_demo: {users} user(s) ({totals['created']} created, {totals['seeded']} seeded, "
            f"{totals['skipped']} skipped), {totals['activities']} activities inserted, "
            f"{totals['tags']} tags created, {totals['links']} tag links, in {elapsed:.1f} s"
        ))
        names = "demo" if users == 1 else f"demo .. demo{users}"
        self.stdout.write(f"Sign in as {names} with the password: {options['password']}")

    def _seed_user(self, username, number, wanted, days, now, options, totals) -> None:
        verbose = options["verbosity"] >= 1
        with transaction.atomic():
            user, created = self._get_or_create_user(username, number, options["password"])
            totals["created"] += created
            if options["reset"] and not created:
                self._delete_data(user)
                stats_version_bump(user_ids=[user.pk])
            existing = 0 if created else Activity.objects.filter(user=user).count()
            if existing >= wanted:
                totals["skipped"] += 1
                if verbose:
                    self.stdout.write(f"{username}: already has {existing} activities (>= {wanted}), skipped; "
                                      "use --reset to generate them again")
                return
            missing = wanted - existing
            tags_before = Tag.objects.filter(user=user).count()
            tag_ids = {tag.name: tag.pk for tag in tags_get_or_create(user=user, names=TAG_NAMES)}
            totals["tags"] += len(tag_ids) - tags_before
            # The seed string, not hash(): the same on every run and every machine.
            rng = random.Random(f"{options['seed']}:{username}:{existing}")  # noqa: S311 - demo data, not secrets
            plan = Plan(rng=rng, tz=user.tzinfo, now=now, days=days, count=missing)
            inserted, links = self._insert(user, plan, tag_ids, options)
            stats_version_bump(user_ids=[user.pk])  # cached statistics of this user are out of date
        totals["seeded"] += 1
        totals["activities"] += inserted
        totals["links"] += links
        if verbose:
            what = "inserted" if not existing else f"added to the {existing} already there"
            self.stdout.write(f"{username}: {inserted} activities {what}, {links} tag links")

    def _get_or_create_user(self, username: str, number: int, password: str) -> tuple[User, bool]:
        user = User.objects.filter(username__iexact=username).first()
        try:
            if user is None:
                user = account_services.user_create(
                    username=username, email=f"{username}@example.com", password=password
                )
                account_services.user_update(user=user, data={"timezone": TIMEZONES[(number - 1) % len(TIMEZONES)]})
                return user, True
            if not user.check_password(password):
                password_validation.validate_password(password, user)
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(f"{username}: password reset to the one given")
        except ValidationError as exc:
            raise CommandError(f"Cannot set up the user {username!r}: {'; '.join(exc.messages)}") from exc
        return user, False

    def _delete_data(self, user: User) -> None:
        """Delete the user's activities, tags and photos (rows now, files once committed).

        ``Activity.objects.filter(...).delete()`` would load every activity into memory to cascade
        (4.7 s for the 100,000 of the benchmark set); the dependent rows are deleted first instead,
        so that the activities themselves go in one set-based statement (0.1 s).
        """
        photos = Photo.objects.filter(activity__user=user)
        files = [(f.storage, f.name) for photo in photos.only("image", "thumbnail")
                 for f in (photo.image, photo.thumbnail) if f.name]
        photos.delete()
        ActivityTag.objects.filter(activity__user=user).delete()
        table = connection.ops.quote_name(Activity._meta.db_table)
        column = connection.ops.quote_name(Activity._meta.get_field("user").column)
        with connection.cursor() as cursor:  # nothing refers to them any more; no delete signals exist
            cursor.execute(f"DELETE FROM {table} WHERE {column} = %s", [user.pk])  # noqa: S608 - model identifiers
        Tag.objects.filter(user=user).delete()
        if files:
            transaction.on_commit(lambda: self._delete_files(files))

    def _delete_files(self, files) -> None:
        for storage, name in files:
            try:
                storage.delete(name)
            except Exception as exc:  # a leftover file is not worth failing the seed for
                self.stderr.write(f"Could not delete the stored file {name}: {exc}")

    def _insert(self, user: User, plan: Plan, tag_ids: dict[str, int], options) -> tuple[int, int]:
        batch_size = options["batch_size"]
        stream = getattr(self.stderr, "_out", sys.stderr)
        bar = tqdm(
            total=plan.count, desc=user.username, unit=" activities", file=stream, mininterval=0.5, leave=False,
            disable=options["no_progress"] or not (hasattr(stream, "isatty") and stream.isatty()),
        )
        inserted = links = 0
        batch: list[tuple[dict, list[str]]] = []
        with bar:
            for item in _generate(plan):
                batch.append(item)
                if len(batch) >= batch_size:
                    links += self._write(user, batch, tag_ids, batch_size)
                    inserted += len(batch)
                    bar.update(len(batch))
                    batch = []
            if batch:
                links += self._write(user, batch, tag_ids, batch_size)
                inserted += len(batch)
                bar.update(len(batch))
        return inserted, links

    @staticmethod
    def _write(user: User, batch: list[tuple[dict, list[str]]], tag_ids: dict[str, int], batch_size: int) -> int:
        # bulk_create skips full_clean (100,000 rows); the rules that no insert may break still apply.
        for fields, _ in batch:
            rules.validate_activity_type(fields["activity_type"])
            rules.validate_not_in_future(fields["activity_date"])
        created = Activity.objects.bulk_create(
            [Activity(user=user, **fields) for fields, _ in batch], batch_size=batch_size
        )
        rows = [
            ActivityTag(activity_id=activity.pk, tag_id=tag_ids[name])
            for activity, (_, names) in zip(created, batch, strict=True)
            for name in names
        ]
        ActivityTag.objects.bulk_create(rows, batch_size=batch_size)
        return len(rows)
