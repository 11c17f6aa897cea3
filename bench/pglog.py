"""Reading the benchmark cluster's server log.

Log lines carry ``log_line_prefix = '%n|%p|%a|'`` (epoch with milliseconds, backend
pid, application name). Sessions that ask for it with PGOPTIONS log every statement
with its duration (``log_min_duration_statement=0``) or the plan of every query
(auto_explain); everything else stays quiet.
"""

import re

PREFIX = re.compile(r"^(\d+\.\d+)\|(\d+)\|([^|]*)\|(\w+):\s{1,2}(.*)$")
DURATION = re.compile(r"^duration: ([0-9.]+) ms\s+(statement|plan):\s?(.*)$", re.S)


class Entry:
    __slots__ = ("ts", "pid", "app", "level", "text")

    def __init__(self, ts, pid, app, level, text):
        self.ts, self.pid, self.app, self.level, self.text = ts, pid, app, level, text


def read_entries(path, start=0, end=None):
    """Log entries between byte offsets ``start`` and ``end`` (continuation lines
    joined to their entry)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read() if end is None else fh.read(max(0, end - start))
    entries = []
    for line in data.decode("utf-8", "replace").split("\n"):
        m = PREFIX.match(line)
        if m:
            entries.append(Entry(float(m.group(1)), int(m.group(2)), m.group(3), m.group(4), m.group(5)))
        elif entries:
            entries[-1].text += "\n" + line
    return entries


def statements(entries, app=None):
    """(end_ts, pid, duration_ms, sql) of every logged statement."""
    out = []
    for e in entries:
        if app is not None and e.app != app:
            continue
        m = DURATION.match(e.text)
        if m and m.group(2) == "statement":
            out.append((e.ts, e.pid, float(m.group(1)), m.group(3).strip()))
    return out


def plans(entries, app=None):
    """(duration_ms, text) of every auto_explain plan."""
    out = []
    for e in entries:
        if app is not None and e.app != app:
            continue
        m = DURATION.match(e.text)
        if m and m.group(2) == "plan":
            out.append((float(m.group(1)), m.group(3).rstrip()))
    return out


def batch_lock_holds(stmts):
    """Per batch transaction of a heal/cleanup session: how long it held row locks.

    A batch takes its row locks with ``... FOR UPDATE SKIP LOCKED`` and releases them
    at ``COMMIT`` (or ``ROLLBACK``). Hold = end of COMMIT - start of the locking
    statement (its end minus its duration); transaction = end of COMMIT - start of
    BEGIN. Log times are in milliseconds, so each figure is good to about 1 ms.
    """
    batches = []
    state = {}
    for ts, pid, dur, text in stmts:
        st = state.setdefault(pid, {"begin": None, "lock": None, "statements": 0})
        head = text.lstrip().upper()
        if head.startswith("BEGIN"):
            st.update(begin=ts - dur / 1000.0, lock=None, statements=0)
            continue
        st["statements"] += 1
        if "FOR UPDATE" in head and st["lock"] is None:
            st["lock"] = ts - dur / 1000.0
        if head.startswith("COMMIT") or head.startswith("ROLLBACK"):
            if st["lock"] is not None:
                batches.append({
                    "lock_hold_ms": round((ts - st["lock"]) * 1000.0, 1),
                    "transaction_ms": round((ts - st["begin"]) * 1000.0, 1) if st["begin"] else None,
                    "statements": st["statements"],
                    "end": ts,
                })
            st.update(begin=None, lock=None, statements=0)
    return batches


def statement_kinds(stmts):
    """Total and longest duration per kind of statement of a batch walk (ms)."""
    kinds = {}
    for _ts, _pid, dur, text in stmts:
        head = text.lstrip().upper()
        if "FOR UPDATE" in head:
            kind = "lock (FOR UPDATE SKIP LOCKED)"
        elif head.startswith("UPDATE"):
            kind = "update"
        elif head.startswith("INSERT"):
            kind = "insert"
        elif head.startswith("DELETE"):
            kind = "delete"
        elif head.startswith("COMMIT"):
            kind = "commit"
        elif head.startswith("SELECT") and "PG_CATALOG" not in head:
            kind = "select (candidates and checks)"
        else:
            continue
        k = kinds.setdefault(kind, {"count": 0, "total_ms": 0.0, "max_ms": 0.0})
        k["count"] += 1
        k["total_ms"] = round(k["total_ms"] + dur, 1)
        k["max_ms"] = max(k["max_ms"], dur)
    return kinds
