# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Numbers, durations and times as the health reports read and show them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import math


def flag(value):
    """A task argument's truth: a bool, or text such as yes/no, true/false, on/off, 1/0."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y", "t")


def number(value):
    """A finite number from an int, a float or a numeric string; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        result = value
    else:
        try:
            result = float(str(value).strip())
        except ValueError:
            return None
        if result == int(result) and "." not in str(value) and "e" not in str(value).lower():
            result = int(result)
    if isinstance(result, float) and (math.isnan(result) or math.isinf(result)):
        return None
    return result


def rounded(value, digits=1):
    """``value`` rounded, as an int when it is whole (None stays None)."""
    if value is None:
        return None
    value = round(float(value), digits)
    return int(value) if value == int(value) else value


def fmt(value, unit=""):
    """A value as the reports print it: '1,234', '12.5%', '45 min' (counts of rows go bare)."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        value = rounded(value, 1)
    text = "{:,}".format(value) if isinstance(value, int) else str(value)
    if unit == "%":
        return text + "%"
    if unit in ("min", "s", "h", "rows/h"):
        return "%s %s" % (text, unit)
    return text


def duration(minutes):
    """Minutes as '45 min', '3 h 10 min', '2 d 4 h'."""
    if minutes is None:
        return "n/a"
    if float(minutes) < 1:
        return "under a minute"
    minutes = int(round(float(minutes)))
    if minutes < 60:
        return "%d min" % minutes
    hours, mins = divmod(minutes, 60)
    if hours < 48:
        return "%d h %d min" % (hours, mins) if mins else "%d h" % hours
    days, hours = divmod(hours, 24)
    return "%d d %d h" % (days, hours) if hours else "%d d" % days


def parse_time(value):
    """An aware datetime from ISO 8601 text (Z, an offset, or naive meaning UTC) or epoch
    seconds; None when it is not a time."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
    text = str(value).strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when


def iso(when):
    """ISO 8601 in UTC with a Z (None stays None)."""
    return when.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z") if when else None


def now_iso():
    return iso(datetime.datetime.now(datetime.timezone.utc))


def dig(data, *keys):
    """data[k1][k2]... or None when any level is missing or not a mapping."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
