# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report_charts: the SVG is well-formed, labels its axes with units and round values,
draws the thresholds where they fall in range, leaves gaps for unmeasured runs, and
escapes every text."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import report_charts as charts

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime.datetime(2026, 12, 1, 6, 0, tzinfo=datetime.timezone.utc)
LIMITS = [{"value": 30, "kind": "warning", "label": "warning"}, {"value": 120, "kind": "critical", "label": "critical"}]


def every(minutes, count):
    return [(T0 + datetime.timedelta(minutes=minutes * i)).isoformat().replace("+00:00", "Z") for i in range(count)]


def parse(svg):
    root = ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    return root, texts


def ticks(root):
    """The tick labels: y values first, then the time labels (without their date line)."""
    return [t.text for t in root.iter(SVG + "text") if "chart-tick" in (t.get("class") or "").split()]


def elements(root, tag, cls=None):
    return [e for e in root.iter(SVG + tag) if cls is None or cls in (e.get("class") or "").split()]


def test_axes_units_gridlines_and_thresholds():
    svg = charts.line_chart(every(15, 9), [100, 400, 900, 1500, 1800, 2000, 2100, 2200, 2219.1], "Sync delay", "min",
                            LIMITS, chart_id="c")
    root, texts = parse(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c-title c-desc"
    assert "time (UTC)" in texts and "hours" in texts  # minutes shown as hours at this size
    assert ticks(root) == ["0", "10 h", "20 h", "30 h", "40 h", "06:00", "06:30", "07:00", "07:30", "08:00"]
    assert [t.text for t in root.iter(SVG + "tspan")] == ["1 Dec"]  # the date under the first time label
    assert len(elements(root, "line", "chart-line-warning")) == 1
    assert len(elements(root, "line", "chart-line-critical")) == 1
    assert "warning 30 min" in texts and "critical 2 h" in texts
    assert len(elements(root, "circle", "chart-dot")) == 9 + 1
    points = elements(root, "polyline", "chart-series")[0].get("points").split()
    assert len(points) == 9
    ys = [float(p.split(",")[1]) for p in points]
    assert ys == sorted(ys, reverse=True)  # rising values go up the page
    desc = root.find(SVG + "desc").text
    assert "now 1 d 13 h" in desc and "9 runs" in desc


def test_a_healthy_series_keeps_the_warning_line_and_leaves_out_a_far_critical_one():
    root, texts = parse(charts.line_chart(every(15, 4), [0.5, 1, 0.8, 0.2], "Failure rate", "%",
                                          [{"value": 5, "kind": "warning"}, {"value": 20, "kind": "critical"}]))
    assert elements(root, "line", "chart-line-warning") and not elements(root, "line", "chart-line-critical")
    assert "6 %" in texts and "percent" in texts


def test_a_share_ends_at_100_percent():
    _root, texts = parse(charts.line_chart(every(60, 3), [99.3, 99.1, 99.9], "Failure rate", "%", LIMITS[:1]))
    assert "100 %" in texts and "125 %" not in texts and "150 %" not in texts


def test_rows_have_whole_ticks():
    _root, texts = parse(charts.line_chart(every(15, 3), [9, 9, 8], "Backlog", "rows"))
    ticks = [t for t in texts if re.match(r"^[\d,.k]+$", t)]
    assert ticks and all("." not in t for t in ticks), ticks
    _root, texts = parse(charts.line_chart(every(15, 3), [12000, 48000, 51000], "Backlog", "rows"))
    assert "60k" in texts or "50k" in texts


def test_gaps_for_runs_that_measured_nothing():
    root, _texts = parse(charts.line_chart(every(15, 6), [5, 6, None, None, 7, 8], "Backlog", "rows"))
    assert len(elements(root, "polyline", "chart-series")) == 2
    assert len(elements(root, "circle", "chart-dot")) == 4 + 1


@pytest.mark.parametrize("times, first", [
    (every(0.02, 4), r"^06:00:0\d$"),        # seconds apart (runs in a test)
    (every(60 * 24, 8), r"^\d{1,2} Dec$"),    # a week: days
])
def test_time_labels_follow_the_span(times, first):
    _root, texts = parse(charts.line_chart(times, [1, 2, 3, 4, 5, 6, 7, 8][:len(times)], "Backlog", "rows"))
    labels = [t for t in texts if re.match(first, t)]
    assert labels, texts


def test_one_run_and_no_run():
    root, texts = parse(charts.line_chart(every(15, 1), [4], "Backlog", "rows"))
    assert len(elements(root, "circle", "chart-dot")) == 2 and not elements(root, "polyline")
    root, texts = parse(charts.line_chart(every(15, 2), [None, None], "Backlog", "rows"))
    assert "no measured run yet" in texts and not elements(root, "circle")
    root, texts = parse(charts.line_chart([], [], "Backlog", "rows"))
    assert "no measured run yet" in texts


def test_text_is_escaped_and_nothing_is_fetched():
    svg = charts.line_chart(every(15, 2), [1, 2], "<script>alert(1)</script> & co", "rows",
                            [{"value": 1, "kind": "warning", "label": '"><img src=x>'}], chart_id='x" onload="y')
    root, texts = parse(svg)  # well-formed XML despite the hostile input
    assert root.get("id") == "x--onload--y" and root.get("onload") is None
    assert '"><img src=x> 1 row' in texts
    assert "<script>" not in svg and "<img" not in svg
    assert root.find(SVG + "title").text == "<script>alert(1)</script> & co"
    for element in root.iter():
        assert not set(element.attrib) & {"href", "src", "style", "onload"}, element.attrib
        assert not (element.tag.endswith("}image") or element.tag.endswith("}foreignObject"))


def test_nice_steps():
    assert charts.nice_step(10) == 2.5 and charts.nice_step(10, whole=True) == 5
    assert charts.nice_step(0.3) == 0.1 and charts.nice_step(2400) == 1000
    assert charts.nice_step(2, whole=True) == 1


@pytest.mark.parametrize("text", ["", "plain", "a & b < c > d", "say \"hi\"", "it's", "both \" and '",
                                  "tab\tnew\nline\rreturn", "&amp; already", "<script>alert('x')</script>"])
def test_escape_and_quoteattr_are_those_of_saxutils(text):
    from xml.sax import saxutils
    assert charts.escape(text) == saxutils.escape(text)
    assert charts.quoteattr(text) == saxutils.quoteattr(text)
