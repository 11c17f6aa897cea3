# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet summary (plugin_utils/fleet_summary.py) as a terminal section and as one
self-contained HTML page (inline style, no script, nothing fetched): pure functions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from html import escape

# The marks and colours of the per-host terminal summary (zoho_health's summary.txt.j2).
MARKS = {"ok": "[ OK ]", "warning": "[WARN]", "unknown": "[ ?? ]", "critical": "[CRIT]"}
ANSI = {"ok": "32", "warning": "33", "unknown": "35", "critical": "1;31"}
# Long enough for a database error's cause (it comes last); a longer line is cut.
LINE_WIDTH = 300


def _mark(state, ansi):
    mark = MARKS.get(state, MARKS["unknown"])
    return "\x1b[%sm%s\x1b[0m" % (ANSI.get(state, ANSI["unknown"]), mark) if ansi else mark


def _short(text, width):
    return text if len(text) <= width else text[:width - 3].rstrip() + "..."


def what(entry):
    """The one-line "why" of a host: the reason it was not read, else its first
    diagnosis (or recommendation), else nothing."""
    if not entry["read"]:
        text = "%s: %s" % (entry["stage"], entry["reason"]) if entry["stage"] != "queue not read" else entry["reason"]
    elif entry.get("first"):
        text = "%s: %s" % (entry["first"].get("id"), entry["first"].get("summary"))
    else:
        text = ""
    return " ".join(str(text).split())


def _counts(summary):
    c = summary["counts"]
    return "%d critical, %d unknown, %d warning, %d ok" % (c["critical"], c["unknown"], c["warning"], c["ok"])


def render_text(summary, ansi=False, page=None):
    """The fleet section of the terminal summary: one line per host, worst first."""
    hosts = summary["hosts"]
    width = max([len(e["host"]) for e in hosts] + [4])
    head = "Fleet: %d host%s - %s (%s)" % (len(hosts), "" if len(hosts) == 1 else "s",
                                           summary["overall"].upper(), _counts(summary))
    if summary["not_read_count"]:
        head += " - %d not read" % summary["not_read_count"]
    if summary.get("limit"):
        head += " - limited to %s" % summary["limit"]
    lines = [("\x1b[1m%s\x1b[0m" % head) if ansi else head]
    for e in hosts:
        label = e["state"] if e["read"] else "not read"
        text = "%s %-*s  %-8s  %s" % (_mark(e["state"], False), width, e["host"], label, what(e))
        text = _short(text, LINE_WIDTH).rstrip()
        if ansi:
            text = _mark(e["state"], True) + text[len(MARKS["ok"]):]
        lines.append(text)
    if page:
        lines.append("Fleet summary: %s" % page)
    return "\n".join(lines) + "\n"


_STYLE = """
  :root { --ok: #1e7b34; --warning: #b26a00; --unknown: #6f42c1; --critical: #c0222b; --line: #d8dde3; }
  * { box-sizing: border-box; }
  body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; margin: 0;
         color: #1d232b; background: #f4f6f8; }
  header { padding: 20px 28px; color: #fff; }
  header.ok { background: var(--ok); } header.warning { background: var(--warning); }
  header.unknown { background: var(--unknown); } header.critical { background: var(--critical); }
  header h1 { margin: 0 0 4px; font-size: 24px; }
  header .meta span { margin-right: 14px; }
  main { padding: 8px 28px 40px; max-width: 1400px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: 18px 0; padding: 14px 18px; }
  h2 { font-size: 18px; margin: 0 0 10px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { background: #eef1f4; font-weight: 600; }
  code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; background: #eef1f4;
         padding: 1px 4px; border-radius: 3px; word-break: break-all; }
  .badge { display: inline-block; min-width: 78px; text-align: center; padding: 2px 8px; border-radius: 10px;
           color: #fff; font-weight: 600; font-size: 12px; text-transform: uppercase; }
  .badge.ok { background: var(--ok); } .badge.warning { background: var(--warning); }
  .badge.unknown { background: var(--unknown); } .badge.critical { background: var(--critical); }
  tr.state-critical td { background: #fdf0f0; } tr.state-warning td { background: #fff8ec; }
  tr.state-unknown td { background: #f5f0fc; }
  .muted { color: #5d6873; } .small { font-size: 12.5px; } td.when { white-space: nowrap; }
"""


def _e(value):
    return escape("" if value is None else str(value), quote=True)


def _host_row(e):
    first = e.get("first")
    if not e["read"]:
        why = '<strong>could not be read</strong> (%s): %s' % (_e(e["stage"]), _e(e["reason"]))
    elif first:
        why = '<span class="badge %s">%s</span> <strong>%s</strong>: %s' % (
            _e(first["severity"]), _e(first["severity"]), _e(first["id"]), _e(first["summary"]))
        if first.get("command"):
            why += '<div class="small">run: <code>%s</code></div>' % _e(first["command"])
        elif first.get("steps"):
            why += '<div class="small">%s</div>' % _e(first["steps"][0])
    else:
        why = '<span class="muted">nothing to report</span>'
    if e.get("failure") and e["read"] and not e.get("report_fails"):
        # a host whose report fails the run says so above; this is another failure (alerts, files)
        why += '<div class="small muted">run failed: %s</div>' % _e(e["failure"].get("msg"))
    if e.get("report"):
        label = "report" if e.get("report_current") else "older report"
        link = '<a class="report" href="%s">%s</a>' % (_e(e["report"]), label)
        if e.get("report_json"):
            link += ' <a class="report-json small" href="%s">json</a>' % _e(e["report_json"])
    else:
        link = '<span class="muted">no report</span>'
    when = e.get("generated_at") or ((e.get("last_report") or {}).get("generated_at") if e.get("report") else None)
    return ('<tr class="host state-%s" data-host="%s" data-state="%s" data-read="%s">'
            '<td><span class="badge %s">%s</span></td><td class="name">%s</td><td class="why" data-kind="%s">%s</td>'
            '<td class="link">%s</td><td class="small when">%s</td></tr>') % (
        _e(e["state"]), _e(e["host"]), _e(e["state"]), "true" if e["read"] else "false",
        _e(e["state"]), _e(e["state"] if e["read"] else "not read"), _e(e["host"]),
        _e((first or {}).get("kind") if e["read"] else "not read"), why, link, _e(when))


def render_html(summary):
    """The fleet page: every host worst first, then the hosts that could not be read."""
    rows = "\n".join(_host_row(e) for e in summary["hosts"])
    unread = summary["not_read"]
    if unread:
        items = "\n".join(
            '<tr class="unread" data-host="%s" data-stage="%s"><td class="name">%s</td><td>%s</td>'
            '<td class="reason">%s</td><td>%s</td></tr>' % (
                _e(u["host"]), _e(u["stage"]), _e(u["host"]), _e(u["stage"]), _e(u["reason"]),
                ('<a href="%s">%s</a>' % (_e(u["report"]), "report" if u["report_current"] else "older report"))
                if u.get("report") else '<span class="muted">none</span>') for u in unread)
        unread_html = ('<section id="not-read"><h2>Could not be read (%d)</h2><table><thead><tr><th>Host</th>'
                       '<th>Why</th><th>Reason</th><th>Report</th></tr></thead><tbody>\n%s\n</tbody></table>'
                       '</section>') % (len(unread), items)
    else:
        unread_html = '<section id="not-read"><h2>Could not be read</h2><p>Every host was read.</p></section>'
    overall = summary["overall"]
    c = summary["counts"]
    return """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Zoho sync fleet: %(OVERALL)s - %(n)d hosts</title>
<style>%(style)s</style>
</head>
<body>
<header class="%(overall)s" id="overall" data-overall="%(overall)s">
  <h1>Zoho sync fleet: <span id="overall-status">%(OVERALL)s</span></h1>
  <div class="meta"><span>%(n)d hosts</span><span>%(critical)d critical</span><span>%(unknown)d unknown</span>\
<span>%(warning)d warning</span><span>%(ok)d ok</span><span>%(unread)d not read</span>\
<span>generated %(generated)s</span>%(limit)s</div>
</header>
<main>
<section id="hosts">
  <h2>Hosts, worst first</h2>
  <table>
    <thead><tr><th>State</th><th>Host</th><th>First diagnosis (or recommendation)</th><th>Report</th><th>Generated</th></tr></thead>
    <tbody>
%(rows)s
    </tbody>
  </table>
</section>
%(unread_html)s
</main>
</body>
</html>
""" % {"OVERALL": _e(overall.upper()), "overall": _e(overall), "n": summary["hosts_total"], "style": _STYLE,
       "critical": c["critical"], "unknown": c["unknown"], "warning": c["warning"], "ok": c["ok"],
       "unread": summary["not_read_count"], "generated": _e(summary["generated_at"]), "rows": rows,
       "unread_html": unread_html,
       "limit": ('<span id="limit">run limited to %s: the hosts outside it are not shown</span>' % _e(summary["limit"]))
       if summary.get("limit") else ""}
