# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an operator reads of a heal: one row per changed row, and the diff.

A diff row is ``{id, table, entity, before, after, attempts, lease, pattern, at, ...}``
with plain strings (the heal report keeps every one). The diff (``--diff``) is a
compact table per action, rows grouped by their change (status before -> after),
with the action's condition and change in words above it; it lists the first
``diff_rows`` rows and says where every row is.
"""

TABLE_NAMES = {"queue": "queue", "logs": "sync log", "inbox": "inbox event"}
COLUMNS = (("id", "id"), ("entity", "entity"), ("attempts", "attempts"), ("lease", "lease"),
           ("queue_row", "queue row"), ("at", "at"), ("pattern", "error pattern"))
WIDTHS = {"id": 36, "entity": 16, "attempts": 10, "lease": 46, "queue_row": 36, "at": 16, "pattern": 60}


def _text(value):
    if value is None:
        return None
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) and len(value) >= 16 and value[10:11] == "T":
        return value[:10] + " " + value[11:16]
    return str(value)


def _merge_shown(row):
    shown = dict(row.get("shown") or {})
    for key, value in row.items():
        if key not in ("shown", "_image", "_id", "_k", "_ctid", "_kind", "image"):
            shown.setdefault(key, value)
    return shown


def display_row(action, table, row):
    """One diff row of ``action`` (a heal_actions.Action) from a row of a walk."""
    s = _merge_shown(row)
    out = {"id": str(row["id"]), "table": table}
    if table == "queue":
        out["entity"] = s.get("entity")
        before = s.get("status")
    else:
        before = TABLE_NAMES[table]
        if table == "logs":
            out["queue_row"] = s.get("queue_row")
    if action.deletes:
        after = "deleted" if action.table == table else "deleted with its queue row"
    elif action.inserts:
        before, after = "absent", "restored"
    elif "after_status" in s:
        after = s["after_status"]
    elif action.record is not None:
        after = "%s + record" % before
    else:
        after = before
    out["before"], out["after"] = before, after
    if s.get("attempts") is not None:
        budget = s.get("budget")
        attempts = "%s/%s" % (s["attempts"], budget) if budget is not None else str(s["attempts"])
        if "after_attempt_count" in s and s["after_attempt_count"] != s["attempts"]:
            attempts += " -> %s" % s["after_attempt_count"]
        out["attempts"] = attempts
    if s.get("locked_by") is not None or s.get("lock_expires_at") is not None:
        lease = " ".join(x for x in (s.get("locked_by"), _text(s.get("lock_expires_at")) and
                                     "until " + _text(s.get("lock_expires_at"))) if x)
        if "after_lock_expires_at" in s and s["after_lock_expires_at"] is None:
            lease += " -> cleared"
        out["lease"] = lease
    if s.get("pattern"):
        out["pattern"] = s["pattern"]
    if s.get("at") is not None:
        out["at"] = _text(s["at"])
    return out


def _cell(value, width):
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= width else text[:width - 3] + "..."


def table_lines(rows, indent="    "):
    """A fixed-width table of ``rows`` with only the columns some row fills."""
    cols = [(key, title) for key, title in COLUMNS if any(r.get(key) for r in rows)]
    widths = dict((key, min(WIDTHS[key], max([len(title)] + [len(_cell(r.get(key), WIDTHS[key])) for r in rows])))
                  for key, title in cols)
    lines = [indent + "  ".join(title.ljust(widths[key]) for key, title in cols).rstrip()]
    for row in rows:
        lines.append(indent + "  ".join(_cell(row.get(key), widths[key]).ljust(widths[key])
                                        for key, _t in cols).rstrip())
    return lines


def group(rows):
    """Rows grouped by (table, before -> after), groups in first-seen order."""
    groups, order = {}, []
    for row in rows:
        key = (row.get("table"), row.get("before"), row.get("after"))
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(row)
    return [(key, groups[key]) for key in order]


def diff_text(parts, diff_rows, full_report=None):
    """``parts``: [{summary, condition, change, count, rows, refused}] (one per action).
    The text Ansible prints for --diff (``prepared``)."""
    lines = []
    for part in parts:
        lines.append("== %s: %s" % (part["name"], part.get("headline") or part["summary"]))
        lines.append("   condition: %s" % part["condition"])
        lines.append("   change:    %s" % part["change"])
        rows = part["rows"]
        if not rows:
            lines.append("   (no row)")
            lines.append("")
            continue
        shown = 0
        capped = len(rows) < part.get("rows_total", len(rows))
        for (table, before, after), members in group(rows):
            lines.append("   %s: %s -> %s (%d%s)" % (table, before, after, len(members), " kept" if capped else ""))
            room = max(diff_rows - shown, 0)
            if room:
                lines.extend(table_lines(members[:room], indent="     "))
                shown += min(room, len(members))
        left = part.get("rows_total", part["count"]) - shown
        if left > 0:
            lines.append("   ... %d more row(s) not listed here%s" % (
                left, "; every row: %s" % full_report if full_report else " (diff_rows=%d)" % diff_rows))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_cell(value):
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def markdown_section(part):
    """Every row of one action as Markdown: its words, then a table per change."""
    rows = part["rows"]
    lines = ["## %s: %s" % (part["name"], part.get("headline") or part["summary"]), "",
             "- condition: %s" % part["condition"], "- change: %s" % part["change"], ""]
    if part.get("refused"):
        lines += ["- the real run would be refused: the connected role lacks %s" % part["refused"], ""]
    if not rows:
        return "\n".join(lines + ["No row.", "", ""])
    for (table, before, after), members in group(rows):
        cols = [(key, title) for key, title in COLUMNS if any(r.get(key) for r in members)]
        lines += ["### %s: %s -> %s (%d)" % (table, before, after, len(members)), "",
                  "| %s |" % " | ".join(title for _k, title in cols),
                  "|%s" % "---|" * len(cols)]
        lines += ["| %s |" % " | ".join(_md_cell(r.get(key)) for key, _t in cols) for r in members]
        lines.append("")
    return "\n".join(lines) + "\n"
