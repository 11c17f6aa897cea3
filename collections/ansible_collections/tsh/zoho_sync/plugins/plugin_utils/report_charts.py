# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Trend charts of the HTML health report as inline SVG: time on x (UTC, labelled ticks),
the value on y with its unit and gridlines, the thresholds drawn where they fall inside
the plotted range, gaps where a run measured nothing.

Offline by construction: the SVG names no font, script, stylesheet or image; it uses the
page's own font through ``font-family: inherit`` and the classes the page styles
(``chart-*``). Every text it writes is XML-escaped. Pure functions; no clock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import math
import re

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import report_format as fmt


# xml.sax.saxutils' escape and quoteattr, the same output: importing that module imports
# urllib.request and ssl (~20 ms, paid by every health check's process).
def escape(text):
    """Text with &, < and > as entities."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def quoteattr(text):
    """An attribute value escaped and quoted (double quotes unless the value holds only double ones)."""
    text = escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' in text:
        return '"%s"' % text.replace('"', "&quot;") if "'" in text else "'%s'" % text
    return '"%s"' % text


WIDTH, HEIGHT = 420, 230
MARGIN = {"left": 62, "right": 16, "top": 14, "bottom": 46}

# Tick spacings on the time axis, in seconds: the first that gives at most MAX_X_TICKS.
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600,
              12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 365 * 86400)
MAX_X_TICKS = 5
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# How a y unit is shown on the axis: minutes switch to hours and days as the range grows.
AXIS_UNITS = {"min": (("d", 1440.0, 3 * 1440), ("h", 60.0, 180), ("min", 1.0, 0))}
AXIS_TITLES = {"d": "days", "h": "hours", "min": "minutes", "s": "seconds", "%": "percent", "rows": "rows"}
CEILINGS = {"%": 100.0}
WHOLE_UNITS = ("rows",)


def nice_step(span, ticks=4, whole=False):
    """A round tick spacing (1, 2, 2.5 or 5 times a power of ten) giving about ``ticks``
    intervals over ``span``; with ``whole``, a whole number (rows come in ones)."""
    if span <= 0:
        return 1.0
    raw = span / float(ticks)
    if whole and raw <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for mult in ((1, 2, 5, 10) if whole and power < 10 else (1, 2, 2.5, 5, 10)):
        if raw <= mult * power * 1.0000001:
            return mult * power
    return 10 * power


def axis_unit(unit, top):
    """(label, divisor) for the y axis of values in ``unit`` reaching ``top``."""
    for label, divisor, from_top in AXIS_UNITS.get(unit, ()):
        if top >= from_top:
            return label, divisor
    return unit, 1.0


def _tick_text(val, unit_label):
    """A y tick label: ``'1,000'``, ``'12k'``, ``'5 %'``, ``'6 h'``."""
    if val == 0:
        return "0"
    if abs(val) >= 10000:
        text = "%sk" % fmt.decimal(val / 1000.0, 1)
    else:
        text = fmt.decimal(val, 2)
    if unit_label in ("%", "min", "h", "d"):
        return "%s %s" % (text, unit_label)
    return text


def y_range(values, lines):
    """The highest value the y axis must show: the data and the threshold lines that matter.

    The first threshold line is always inside the range (how far below it the data
    stays is the point of the chart); the further ones only once the data passes the
    one before (a critical line far above a healthy series would flatten it)."""
    top = max([v for v in values if v is not None] + [0])
    ordered = sorted(v for v in lines if v is not None)
    for index, level in enumerate(ordered):
        if index == 0 or top > ordered[index - 1]:
            top = max(top, level)
    return float(top)


def y_scale(top, divisor=1.0, ceiling=None, whole=False):
    """(axis top, tick step) from 0 to a little above ``top``, on round values of the
    display unit (``divisor`` display units per value unit: 60 shows minutes as hours),
    never above ``ceiling`` when the data stays under it (a share ends at 100 %)."""
    shown = top / divisor if top > 0 else 1.0
    step = nice_step(shown * 1.08, whole=whole)
    axis = step * math.ceil(shown * 1.08 / step - 1e-9)
    if ceiling is not None and top <= ceiling < axis * divisor:
        step = nice_step(ceiling / divisor, whole=whole)
        axis = ceiling / divisor
    return axis * divisor, step * divisor


def time_ticks(start, end):
    """(tick datetimes, step seconds) between two aware datetimes, on round times (UTC)."""
    span = (end - start).total_seconds()
    step = TIME_STEPS[-1]
    for candidate in TIME_STEPS:
        if span / candidate <= MAX_X_TICKS:
            step = candidate
            break
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    first = math.ceil((start - epoch).total_seconds() / step) * step
    ticks = []
    at = first
    while at <= (end - epoch).total_seconds() + 1e-6:
        ticks.append(epoch + datetime.timedelta(seconds=at))
        at += step
    return ticks, step


def _time_text(when, step, previous):
    """(first line, second line) of a time tick: the clock, and the date when it changes."""
    day = "%d %s" % (when.day, MONTHS[when.month - 1])
    if step >= 86400:
        return day, ""
    clock = when.strftime("%H:%M:%S" if step < 60 else "%H:%M")
    return clock, (day if previous is None or previous.date() != when.date() else "")


def _attrs(**attrs):
    return "".join(" %s=%s" % (name.rstrip("_").replace("_", "-"), quoteattr(str(val)))
                   for name, val in attrs.items() if val is not None)


def _tag(name, text="", **attrs):
    return "<%s%s>%s</%s>" % (name, _attrs(**attrs), escape(text), name)


def _num(val):
    return ("%.1f" % val).rstrip("0").rstrip(".")


def line_chart(times, values, title, unit="", lines=None, chart_id="chart", width=WIDTH, height=HEIGHT):
    """An SVG line chart of ``values`` (None: not measured) at ``times`` (ISO 8601).

    ``lines``: horizontal reference lines, ``[{"value", "label", "kind"}]`` with kind
    ``warning``, ``critical`` or ``target``, in the values' unit. ``unit`` is that of the
    values (``rows``, ``%``, ``min``, ...). Returns the ``<svg>`` element as text; with no
    measured value at all, an SVG that says so. ``chart_id`` (its characters other than
    letters, digits, ``-`` and ``_`` replaced) prefixes the ids of its title and description."""
    lines = [ln for ln in (lines or []) if fmt.number(ln.get("value")) is not None]
    chart_id = re.sub(r"[^A-Za-z0-9_-]", "-", str(chart_id)) or "chart"  # an id token, also inside aria-labelledby
    points = []
    for when, val in zip(times or [], values or []):
        stamp = fmt.parse_time(when)
        if stamp is not None:
            points.append((stamp, fmt.number(val)))
    measured = [(t, v) for t, v in points if v is not None]
    left, right, top_m, bottom = MARGIN["left"], width - MARGIN["right"], MARGIN["top"], height - MARGIN["bottom"]
    title_id, desc_id = chart_id + "-title", chart_id + "-desc"
    if not measured:  # a short strip that says so, not an empty frame
        return ('<svg class="chart chart-none" id=%s viewBox="0 0 %d 44" width="%d" height="44" role="img" '
                'aria-labelledby="%s %s">%s%s%s</svg>' % (
                    quoteattr(chart_id), width, width, title_id, desc_id, _tag("title", title, id=title_id),
                    _tag("desc", "No run measured this value yet.", id=desc_id),
                    _tag("text", "no measured run yet", x=width / 2, y=26, class_="chart-empty",
                         text_anchor="middle")))
    out = ['<svg class="chart" id=%s viewBox="0 0 %d %d" width="%d" height="%d" role="img" '
           'aria-labelledby="%s %s" preserveAspectRatio="xMidYMid meet">'
           % (quoteattr(chart_id), width, height, width, height, title_id, desc_id)]
    out.append(_tag("title", title, id=title_id))
    highest = y_range([v for _t, v in measured], [ln["value"] for ln in lines])
    unit_label, divisor = axis_unit(unit, highest)
    top, step = y_scale(highest, divisor, CEILINGS.get(unit), unit in WHOLE_UNITS)
    start, end = points[0][0], points[-1][0]
    for stamp, _v in points:
        start, end = min(start, stamp), max(end, stamp)
    span = (end - start).total_seconds()
    if span <= 0:  # one run (or runs in the same second): a window of a minute around it
        start, end = start - datetime.timedelta(seconds=30), end + datetime.timedelta(seconds=30)
        span = 60.0

    def x_of(stamp):
        return left + (stamp - start).total_seconds() / span * (right - left)

    def y_of(val):
        return bottom - float(val) / top * (bottom - top_m)

    desc = "%s from %s to %s: %d runs, %d measured; now %s, highest %s, lowest %s." % (
        title, fmt.timestamp(start.isoformat()), fmt.timestamp(end.isoformat()), len(points), len(measured),
        fmt.value(measured[-1][1], unit), fmt.value(max(v for _t, v in measured), unit),
        fmt.value(min(v for _t, v in measured), unit))
    if lines:
        desc += " " + "; ".join("%s line at %s" % (ln.get("label") or ln.get("kind"), fmt.value(ln["value"], unit))
                                for ln in lines) + "."
    out.append(_tag("desc", desc, id=desc_id))
    # y gridlines and labels
    out.append('<g class="chart-grid">')
    for index in range(int(round(top / step)) + 1):
        tick = index * step
        y = y_of(tick)
        out.append('<line x1="%s" y1="%s" x2="%s" y2="%s"%s/>' % (
            _num(left), _num(y), _num(right), _num(y), ' class="chart-axis"' if index == 0 else ""))
        out.append(_tag("text", _tick_text(tick / divisor, unit_label), x=_num(left - 6), y=_num(y + 3.5),
                        text_anchor="end", class_="chart-tick"))
    out.append("</g>")
    # x ticks and labels
    ticks, tstep = time_ticks(start, end)
    out.append('<g class="chart-time">')
    previous = None
    for when in ticks:
        x = x_of(when)
        first, second = _time_text(when, tstep, previous)
        previous = when
        out.append('<line x1="%s" y1="%s" x2="%s" y2="%s" class="chart-tickmark"/>' % (
            _num(x), _num(bottom), _num(x), _num(bottom + 4)))
        anchor = "end" if x > right - 14 else "middle"
        label = '<text x="%s" y="%s" text-anchor="%s" class="chart-tick">%s' % (
            _num(x), _num(bottom + 15), anchor, escape(first))
        if second:
            label += '<tspan x="%s" dy="11">%s</tspan>' % (_num(x), escape(second))
        out.append(label + "</text>")
    out.append("</g>")
    # axis titles
    out.append(_tag("text", "time (UTC)", x=_num((left + right) / 2.0), y=height - 4, text_anchor="middle",
                    class_="chart-label"))
    middle = (top_m + bottom) / 2.0
    out.append(_tag("text", AXIS_TITLES.get(unit_label, unit_label or "value"), x="12", y=_num(middle),
                    text_anchor="middle", transform="rotate(-90 12 %s)" % _num(middle),
                    class_="chart-label chart-unit"))
    # reference lines inside the range, each with the band above it lightly shaded (up to
    # the next line); labels alternate sides so two close lines stay readable
    shown = sorted((ln for ln in lines if float(ln["value"]) <= top), key=lambda ln: float(ln["value"]))
    for index, ln in enumerate(shown):
        level = float(ln["value"])
        kind = ln.get("kind") or "target"
        upper = float(shown[index + 1]["value"]) if index + 1 < len(shown) else top
        if kind != "target" and upper > level:
            out.append('<rect x="%s" y="%s" width="%s" height="%s" class="chart-band-%s"/>' % (
                _num(left), _num(y_of(upper)), _num(right - left), _num(y_of(level) - y_of(upper)), escape(kind)))
    for index, ln in enumerate(reversed(shown)):
        level = float(ln["value"])
        kind = ln.get("kind") or "target"
        y = y_of(level)
        out.append('<line x1="%s" y1="%s" x2="%s" y2="%s" class="chart-line-%s"/>' % (
            _num(left), _num(y), _num(right), _num(y), escape(kind)))
        at_right = index % 2 == 0
        out.append(_tag("text", "%s %s" % (ln.get("label") or kind, fmt.value(level, unit)),
                        x=_num(right - 3 if at_right else left + 3), y=_num(max(y - 3, top_m + 9)),
                        text_anchor="end" if at_right else "start",
                        class_="chart-line-label chart-line-label-%s" % kind))
    # the series: one path per run of measured points, a dot on every measured run
    segments, current = [], []
    for stamp, val in points:
        if val is None:
            if current:
                segments.append(current)
            current = []
        else:
            current.append((x_of(stamp), y_of(val)))
    if current:
        segments.append(current)
    for seg in segments:
        if len(seg) > 1:
            out.append('<polygon class="chart-area" points="%s"/>' % " ".join(
                ["%s,%s" % (_num(seg[0][0]), _num(bottom))] + ["%s,%s" % (_num(x), _num(y)) for x, y in seg]
                + ["%s,%s" % (_num(seg[-1][0]), _num(bottom))]))
            out.append('<polyline class="chart-series" points="%s"/>' % " ".join(
                "%s,%s" % (_num(x), _num(y)) for x, y in seg))
    dots = [p for seg in segments for p in seg]
    if len(dots) <= 60:
        for x, y in dots:
            out.append('<circle class="chart-dot" cx="%s" cy="%s" r="2.5"/>' % (_num(x), _num(y)))
    last_x, last_y = x_of(measured[-1][0]), y_of(measured[-1][1])
    out.append('<circle class="chart-dot chart-last" cx="%s" cy="%s" r="4"/>' % (_num(last_x), _num(last_y)))
    out.append("</svg>")
    return "".join(out)
