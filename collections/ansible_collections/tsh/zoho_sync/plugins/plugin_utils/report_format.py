# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values as a person reads them: a number with its unit, a duration in days, hours and
minutes, a count of rows with thousands separators, a percentage, a time in UTC.

Pure functions of their arguments (no clock: an age is measured against a reference time
the caller passes, the report's own ``generated_at``), so a report reads the same however
late it is rendered. Units are those of the health report (``rows``, ``min``, ``s``,
``%``, ``MB``, ``''``); an unknown unit is appended as it is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import values

NOT_AVAILABLE = "n/a"


def number(value):
    """The collection's reading of a number (plugin_utils/values.py), a whole float as an
    int: a value is shown as ``5``, not ``5.0``."""
    result = values.number(value)
    if isinstance(result, float) and result == int(result) and abs(result) < 1e15:
        return int(result)
    return result


def decimal(value, digits=1):
    """``1234.56`` -> ``'1,234.6'``, ``5.0`` -> ``'5'``: thousands separators, at most
    ``digits`` decimals, no trailing zeros."""
    value = number(value)
    if value is None:
        return NOT_AVAILABLE
    rounded = round(float(value), digits)
    if rounded == int(rounded):
        return "{:,}".format(int(rounded))
    return "{:,.{d}f}".format(rounded, d=digits).rstrip("0").rstrip(".")


def count(value, noun="row", plural=None):
    """``4050`` -> ``'4,050 rows'``, ``1`` -> ``'1 row'``."""
    value = number(value)
    if value is None:
        return NOT_AVAILABLE
    word = noun if value == 1 else (plural or noun + "s")
    return "%s %s" % (decimal(value, 1), word) if word else decimal(value, 1)


def percent(value):
    """``12.46`` -> ``'12.5 %'``; a share too small to show is ``'< 0.1 %'``, not 0."""
    value = number(value)
    if value is None:
        return NOT_AVAILABLE
    if 0 < value < 0.05:
        return "< 0.1 %"
    return "%s %%" % decimal(value, 1)


def duration_minutes(minutes):
    """Minutes as a person says them: ``'0 min'``, ``'under a minute'``, ``'37 min'``,
    ``'2 h 50 min'``, ``'1 d 13 h'``, ``'611 d'``.

    Precision follows size: minutes under a day, hours from one day, days alone from
    a hundred days (nobody needs the minutes of a delay that is days long)."""
    minutes = number(minutes)
    if minutes is None:
        return NOT_AVAILABLE
    if minutes < 0:
        return "-" + duration_minutes(-minutes)
    if minutes == 0:
        return "0 min"
    if minutes < 1:
        return "under a minute"
    whole = int(round(minutes))
    if whole < 60:
        return "%d min" % whole
    if whole < 24 * 60:
        hours, mins = divmod(whole, 60)
        return "%d h %d min" % (hours, mins) if mins else "%d h" % hours
    hours = int(round(minutes / 60.0))
    days, hours = divmod(hours, 24)
    if days >= 100 or not hours:
        return "%d d" % days
    return "%d d %d h" % (days, hours)


def duration_seconds(seconds):
    """Seconds as a duration: ``'45 s'`` under a minute (``'0.8 s'`` under ten),
    otherwise as :func:`duration_minutes`."""
    seconds = number(seconds)
    if seconds is None:
        return NOT_AVAILABLE
    if abs(seconds) < 60:
        return "%s s" % decimal(seconds, 1 if abs(seconds) < 10 else 0)
    return duration_minutes(seconds / 60.0)


def megabytes(value):
    """``76921`` -> ``'75.1 GB'``; under 10 GB in MB (``'976 MB'``)."""
    value = number(value)
    if value is None:
        return NOT_AVAILABLE
    if abs(value) >= 10240:
        return "%s GB" % decimal(value / 1024.0, 1)
    return "%s MB" % decimal(value, 0)


def value(val, unit=""):
    """A value of the health report with its unit, formatted for reading.

    ``min`` and ``s`` become durations, ``rows`` a count of rows, ``%`` a percentage,
    ``MB`` megabytes (or GB), ``time`` an ISO 8601 time in UTC; a number without a unit gets thousands separators; text
    is returned as it is; None is ``'n/a'``."""
    unit = unit or ""
    if val is None:
        return NOT_AVAILABLE
    if unit == "time":
        return timestamp(val)
    num = number(val)
    if num is None or isinstance(val, str) and not unit:
        return str(val)
    if unit == "min":
        return duration_minutes(num)
    if unit == "s":
        return duration_seconds(num)
    if unit == "%":
        return percent(num)
    if unit == "rows":
        return count(num)
    if unit == "MB":
        return megabytes(num)
    if unit in ("row", "run", "runs", "sign", "signs"):
        return count(num, unit.rstrip("s"))
    return "%s %s" % (decimal(num), unit) if unit else decimal(num)


def threshold_parts(warning, critical, unit=""):
    """``['warning above 30 min', 'critical above 2 h']``; a threshold of 0 reads
    ``'warning: any'`` (a value above 0 is any at all); a missing one is left out."""
    parts = []
    for name, level in (("warning", warning), ("critical", critical)):
        if number(level) is not None:
            parts.append("%s: any" % name if number(level) == 0 else "%s above %s" % (name, value(level, unit)))
    return parts


def thresholds(warning, critical, unit=""):
    """:func:`threshold_parts` in one line: ``'warning above 30 min, critical above 2 h'``."""
    return ", ".join(threshold_parts(warning, critical, unit))


def parse_time(text):
    """An aware datetime (UTC when the text has no offset) from ISO 8601 text or epoch
    seconds; None for anything else."""
    if text in (None, "") or isinstance(text, bool):
        return None
    if isinstance(text, datetime.datetime):
        when = text
    elif isinstance(text, (int, float)):
        return datetime.datetime.fromtimestamp(text, tz=datetime.timezone.utc)
    else:
        raw = str(text).strip()
        if raw[-1:] in ("Z", "z"):
            raw = raw[:-1] + "+00:00"
        try:
            when = datetime.datetime.fromisoformat(raw)
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc)


def timestamp(text):
    """``'2026-12-01 10:20 UTC'`` (the text as it is when it is no time)."""
    when = parse_time(text)
    if when is None:
        return NOT_AVAILABLE if text in (None, "") else str(text)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def age(text, reference):
    """How long before ``reference`` the time ``text`` was: ``'37 min ago'``,
    ``'just now'``; ``'n/a'`` when either is no time."""
    when, ref = parse_time(text), parse_time(reference)
    if when is None or ref is None:
        return NOT_AVAILABLE
    seconds = (ref - when).total_seconds()
    if seconds < 0:
        return "%s later" % duration_seconds(-seconds)
    if seconds < 60:
        return "just now"
    return "%s ago" % duration_seconds(seconds)
