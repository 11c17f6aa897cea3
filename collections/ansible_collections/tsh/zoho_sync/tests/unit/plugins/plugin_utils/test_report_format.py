# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report_format: values with their units, as a person reads them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import report_format as fmt


@pytest.mark.parametrize("minutes, text", [
    (0, "0 min"), (0.4, "under a minute"), (1, "1 min"), (37, "37 min"), (59.6, "1 h"), (60, "1 h"),
    (170.1, "2 h 50 min"), (1439, "23 h 59 min"), (1440, "1 d"), (2219.1, "1 d 13 h"), (2340.4, "1 d 15 h"),
    (14400, "10 d"), (880000, "611 d"), (-37, "-37 min"), (None, "n/a"), ("2219.1", "1 d 13 h"),
])
def test_durations(minutes, text):
    assert fmt.duration_minutes(minutes) == text
    assert fmt.value(minutes, "min") == text


@pytest.mark.parametrize("seconds, text", [
    (0.8, "0.8 s"), (11.6, "12 s"), (45, "45 s"), (133351.6, "1 d 13 h"), (None, "n/a"),
])
def test_seconds(seconds, text):
    assert fmt.value(seconds, "s") == text


@pytest.mark.parametrize("val, unit, text", [
    (4050, "rows", "4,050 rows"), (1, "rows", "1 row"), (0, "rows", "0 rows"), (12.46, "%", "12.5 %"),
    (5.0, "%", "5 %"), (0.01, "%", "< 0.1 %"), (0, "%", "0 %"), (99.33, "%", "99.3 %"),
    (976, "MB", "976 MB"), (76921, "MB", "75.1 GB"), (1234567, "", "1,234,567"), (2.5, "", "2.5"),
    (25, "ms", "25 ms"), ("running", "", "running"), ("15.18 (Debian)", "", "15.18 (Debian)"),
    (None, "rows", "n/a"), (True, "rows", "True"), (float("nan"), "%", "nan"),
    ("2026-12-01T10:20:51.078794+00:00", "time", "2026-12-01 10:20 UTC"),
])
def test_values(val, unit, text):
    assert fmt.value(val, unit) == text


def test_numbers():
    assert fmt.number("12") == 12 and isinstance(fmt.number("12"), int)
    assert fmt.number(12.0) == 12 and isinstance(fmt.number(12.0), int)
    assert fmt.number("1.5") == 1.5
    for bad in (None, True, "x", float("inf"), float("nan"), [1]):
        assert fmt.number(bad) is None
    assert fmt.decimal(1234.56) == "1,234.6"
    assert fmt.decimal(1234.56, 0) == "1,235"


def test_thresholds():
    assert fmt.thresholds(30, 120, "min") == "warning above 30 min, critical above 2 h"
    assert fmt.thresholds(0, 50, "rows") == "warning: any, critical above 50 rows"
    assert fmt.thresholds(None, None, "rows") == ""
    assert fmt.thresholds(5, 20, "%") == "warning above 5 %, critical above 20 %"


def test_times_and_ages():
    ref = "2026-12-01T10:20:00Z"
    assert fmt.age("2026-12-01T09:43:00Z", ref) == "37 min ago"
    assert fmt.age("2026-12-01T10:19:30+00:00", ref) == "just now"
    assert fmt.age("2026-11-30T08:00:00Z", ref) == "1 d 2 h ago"
    assert fmt.age("2026-12-01T10:25:00Z", ref) == "5 min later"
    assert fmt.age(None, ref) == "n/a" and fmt.age("yesterday", ref) == "n/a"
    assert fmt.timestamp("2026-12-01T12:20:00+02:00") == "2026-12-01 10:20 UTC"
    assert fmt.timestamp("2026-12-01 10:20:00") == "2026-12-01 10:20 UTC"  # naive means UTC
    assert fmt.timestamp("soon") == "soon" and fmt.timestamp(None) == "n/a"
