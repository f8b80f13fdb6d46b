"""When the new-month sensor looks at the portal: often in the publication window, rarely
otherwise."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipelines.config import Settings
from pipelines.sensors import in_publication_window, look_due

LONDON = ZoneInfo("Europe/London")
SETTINGS = Settings(
    publication_window_from_day=12, new_month_look_seconds=600, new_month_idle_look_seconds=21600
)


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=LONDON)


def test_the_window_runs_from_its_first_day_to_the_end_of_the_month():
    assert not in_publication_window(at(11, 23, 59), SETTINGS)
    assert in_publication_window(at(12, 0, 0), SETTINGS)
    assert in_publication_window(at(31, 23, 59), SETTINGS)
    assert not in_publication_window(datetime(2026, 4, 1, tzinfo=LONDON), SETTINGS)


def test_every_tick_looks_inside_the_window():
    assert look_due(at(15, 9, 10), at(15, 9, 0), SETTINGS)
    assert look_due(at(15), None, SETTINGS)


def test_outside_the_window_a_look_waits_for_the_idle_interval():
    last = at(3, 6, 0)
    assert look_due(at(3), None, SETTINGS)  # first tick after a start looks
    assert not look_due(last + timedelta(minutes=10), last, SETTINGS)
    assert not look_due(last + timedelta(hours=5, minutes=54), last, SETTINGS)
    # Half a tick early counts, so jitter does not push the look a whole tick late.
    assert look_due(last + timedelta(hours=5, minutes=55), last, SETTINGS)
    assert look_due(last + timedelta(hours=6), last, SETTINGS)


def test_looks_in_a_month_stay_few():
    """A 31-day month at one tick every 10 minutes: looks in the window, 4 a day outside."""
    now, last, looks = datetime(2026, 3, 1, tzinfo=LONDON), None, 0
    while now.month == 3:
        if look_due(now, last, SETTINGS):
            looks, last = looks + 1, now
        now += timedelta(seconds=SETTINGS.new_month_look_seconds)
    window_ticks = 20 * 24 * 6  # days 12..31
    assert looks == window_ticks + 11 * 4
