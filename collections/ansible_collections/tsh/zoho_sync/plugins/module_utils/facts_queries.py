# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read-only queries behind zoho_queue_facts.

Cost must follow the live set (rows not completed), not the history: production
keeps millions of completed rows and its indexes are fixed. So every query here
either filters on a live status (idx_queue_status_priority / ix status), on a lease
(ix lock_expires_at), on next_retry_at, or on a bounded created_at window; the
completed count alone comes from the planner's estimate on a large table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.tsh.zoho_sync.plugins.module_utils.queue_schema import STATUSES

try:
    from psycopg2 import sql
except ImportError:
    sql = None

# Collapse what varies inside one kind of error, so "Item 12345 not found" and
# "Item 67890 not found" are one pattern: UUIDs, long hex strings, then numbers.
UUID_RE = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# a hex word of 8+ characters mixing digits and letters (hashes, Zoho ids), either order
HEX_RE = "\\m(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\\M"
NUM_RE = "[0-9]+"
PATTERN_PARAMS = {"uuid_re": UUID_RE, "hex_re": HEX_RE, "num_re": NUM_RE}


# Cheap necessary conditions, tested before each costly replacement: a UUID has a hyphen,
# and a hex word mixing digits and letters has a digit beside a hex letter. The pattern is
# the same with or without them (the guarded replacement is the identity when they fail);
# they spare the lookahead regexp most messages.
HEX_GUARD_RE = "[0-9][a-fA-F]|[a-fA-F][0-9]"
PATTERN_PARAMS["hex_guard_re"] = HEX_GUARD_RE


def pattern_sql(message):
    """SQL: the error pattern of ``message`` (needs PATTERN_PARAMS among the query's arguments)."""
    uuid = sql.SQL("(CASE WHEN strpos({m}, '-') > 0 THEN regexp_replace({m}, %(uuid_re)s, '<uuid>', 'g') "
                   "ELSE {m} END)").format(m=message)
    hexed = sql.SQL("(CASE WHEN {u} ~ %(hex_guard_re)s THEN regexp_replace({u}, %(hex_re)s, '<hex>', 'g') "
                    "ELSE {u} END)").format(u=uuid)
    return sql.SQL("regexp_replace({}, %(num_re)s, '<n>', 'g')").format(hexed)


def _status_in(schema, statuses):
    """status IN (...) with the labels as parameters (untyped literals, so the
    comparison stays on the enum and the status index is usable)."""
    return sql.SQL("{} IN %(statuses)s").format(schema.col("status")), {"statuses": tuple(statuses)}


def _iso(value):
    return value.isoformat() if value is not None else None


def live_counts(cur, schema, params):
    """Exact counts per status and entity for every non-completed status, with the
    oldest pending row, the latest activity and the rows created in the last hour and
    24 hours (the live part of the arrivals) per entity."""
    where, args = _status_in(schema, schema.live_statuses)
    args.update(params)
    cur.execute(sql.SQL(
        """
        SELECT {entity}::text, {status}::text, count(*),
               min({created}) FILTER (WHERE {status} = 'pending'),
               max({activity}),
               extract(epoch FROM now() - min({created}) FILTER (WHERE {status} = 'pending')),
               count(*) FILTER (WHERE {created} >= now() - interval '1 hour'),
               count(*) FILTER (WHERE {created} >= now() - interval '24 hours')
          FROM {queue}
         WHERE {where}
         GROUP BY 1, 2
        """).format(entity=schema.col("entity_type"), status=schema.col("status"),
                    created=schema.col("created_at"), activity=schema.activity_expr(),
                    queue=schema.queue, where=where), args)
    return cur.fetchall()


def table_estimate(cur, schema):
    cur.execute("SELECT c.reltuples::bigint FROM pg_catalog.pg_class c "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s", (schema.schema, schema.queue_table))
    row = cur.fetchone()
    return row[0] if row else -1


def _planner_rows(cur, query, args):
    cur.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query), args)
    plan = cur.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def completed_counts(cur, schema, entity_types, exact_max_rows):
    """Completed rows per entity: exact on a small table, the planner's estimate on a
    large one (a count would read the whole history every 15 minutes)."""
    estimate = table_estimate(cur, schema)
    if estimate < 0 or estimate <= exact_max_rows:
        cur.execute(sql.SQL("SELECT {entity}::text, count(*) FROM {queue} WHERE {status} = 'completed' GROUP BY 1")
                    .format(entity=schema.col("entity_type"), status=schema.col("status"), queue=schema.queue))
        return dict(cur.fetchall()), False
    counts = {}
    for entity in entity_types:
        query = sql.SQL("SELECT 1 FROM {queue} WHERE {status} = 'completed' AND {entity} = %(entity)s").format(
            queue=schema.queue, status=schema.col("status"), entity=schema.col("entity_type"))
        rows = _planner_rows(cur, query, {"entity": entity})
        # the planner never says zero; one row on an entity means "about none"
        counts[entity] = rows if rows > 1 else 0
    return counts, True


# The look-back window is read in slices on created_at: twelve of 5 minutes for the last
# hour, one an hour to 24 hours, then at most 24 more to the end of the look-back. Each
# slice's completed rows are walked backwards on the created_at index for at most
# PROBE_ROWS rows (the rows of other statuses skipped on the way are the live set), so the
# rows read are bounded (slices x PROBE_ROWS) whatever the completion rate or the history.
PROBE_ROWS = 64
# A probe whose PROBE_ROWS rows span less than this (seconds) is taken to span this much:
# rows created in one transaction share created_at, and a zero span would make the
# density infinite. It caps an estimate at (PROBE_ROWS - 1) rows a second per slice.
MIN_PROBE_SPAN = 1.0


def completion_slices(lookback_hours):
    """[(newer, older)]: the slices of the look-back window, in seconds before now()
    (created_at >= now() - older AND created_at < now() - newer). The first slice has no
    newer bound (a row created after now(), clock skew, still counts)."""
    slices = [(i * 300.0, (i + 1) * 300.0) for i in range(12)]
    slices += [(h * 3600.0, (h + 1) * 3600.0) for h in range(1, 24)]
    rest = (lookback_hours - 24) * 3600.0
    if rest > 0:
        step = max(3600.0, rest / 24.0)
        at = 24 * 3600.0
        while at < lookback_hours * 3600.0 - 1e-6:
            slices.append((at, min(at + step, lookback_hours * 3600.0)))
            at += step
    slices[0] = (-1.0e9, slices[0][1])
    return slices


def slice_scale(rows, newer, older, reach_ago, probe_rows=PROBE_ROWS):
    """How many rows of its slice each probed row stands for. A probe that read fewer
    than ``probe_rows`` rows read the whole slice (1: exact); a full one covers the slice
    from its newer end back to its oldest row (``reach_ago`` seconds before now) and
    stands for (probe_rows - 1) rows per covered span over the whole slice."""
    if rows < probe_rows:
        return 1.0
    length = older - max(newer, 0.0)
    covered = max(reach_ago - max(newer, 0.0), MIN_PROBE_SPAN)
    if covered >= length:
        return 1.0
    return max(1.0, (probe_rows - 1) * length / covered / rows)


def recent_completions(cur, schema, params):
    """Completions, their processing time and the completed part of the arrivals in the
    look-back window, from bounded probes of the created_at index (completion_slices,
    PROBE_ROWS completed rows each): exact when every slice holds fewer completed rows than
    a probe reads (the window's completions were all read), else estimated from each
    slice's density (``estimated``). Per entity: the last completion among the rows read,
    completions in the last hour and 24 h (on completed_at) and the completed rows that had
    failed before (attempt_count > 0) in the last hour."""
    finished = schema.finished_at_expr()
    if schema.has("started_at") and schema.has("completed_at"):
        duration = sql.SQL("({} - {})").format(schema.col("completed_at"), schema.col("started_at"))
    else:
        duration = sql.SQL("NULL::interval")
    slices = completion_slices(params["lookback_hours"])
    created = schema.col("created_at")
    args = {"newer": [s[0] for s in slices], "older": [s[1] for s in slices],
            "idx": list(range(len(slices))), "probe_rows": PROBE_ROWS}
    cur.execute(sql.SQL(
        """
        WITH probe AS (
            SELECT s.i, p.*
              FROM unnest(%(idx)s::int[], %(newer)s::float8[], %(older)s::float8[]) AS s(i, newer, older)
             CROSS JOIN LATERAL (
                   SELECT {entity} AS entity, {created} AS created,
                          {finished} AS finished, {duration} AS duration, {attempts} AS attempts
                     FROM {queue}
                    WHERE {status} = 'completed'
                      AND {created} >= now() - make_interval(secs => s.older)
                      AND {created} < now() - make_interval(secs => s.newer)
                    ORDER BY {created} DESC
                    LIMIT %(probe_rows)s) AS p
        )
        SELECT i, entity::text, (sum(count(*)) OVER per_slice)::bigint,
               extract(epoch FROM now() - min(min(created)) OVER per_slice),
               count(*),
               max(finished),
               count(*) FILTER (WHERE finished >= now() - interval '1 hour'),
               count(*) FILTER (WHERE finished >= now() - interval '24 hours'),
               extract(epoch FROM sum(duration) FILTER (WHERE finished >= now() - interval '24 hours')),
               count(duration) FILTER (WHERE finished >= now() - interval '24 hours'),
               count(*) FILTER (WHERE finished >= now() - interval '1 hour' AND attempts > 0)
          FROM probe
         GROUP BY i, entity
        WINDOW per_slice AS (PARTITION BY i)
        """).format(entity=schema.col("entity_type"), status=schema.col("status"), created=created,
                    finished=finished, duration=duration, attempts=schema.col("attempt_count"),
                    queue=schema.queue), args)
    entities = {}
    out = {"entities": entities, "created_last_hour": 0.0, "created_last_24h": 0.0, "estimated": False,
           "rows_read": 0, "slices": len(slices), "probe_rows": PROBE_ROWS}
    seen_slices = set()
    for i, name, slice_rows, reach_ago, rows, last, hour, day, dsum, dn, retried in cur.fetchall():
        newer, older = slices[i]
        scale = slice_scale(slice_rows, newer, older, float(reach_ago or 0.0))
        if slice_rows >= PROBE_ROWS:
            out["estimated"] = True
        if i not in seen_slices:
            seen_slices.add(i)
            out["rows_read"] += slice_rows
        e = entities.setdefault(name, {"last_completed_at": None, "last_hour": 0.0, "last_24h": 0.0,
                                       "duration_sum": 0.0, "timed": 0.0, "retried_last_hour": 0.0})
        if last is not None and (e["last_completed_at"] is None or last > e["last_completed_at"]):
            e["last_completed_at"] = last
        # A figure is scaled up only on the slices inside its own window: a probe reads
        # the newest rows of its slice, the ones most likely to have completed recently,
        # so an older slice's rows count as seen (a lower bound), never scaled.
        in_hour, in_day = older <= 3600.0 + 1e-6, older <= 24 * 3600.0 + 1e-6
        hour_scale, day_scale = (scale if in_hour else 1.0), (scale if in_day else 1.0)
        e["last_hour"] += hour * hour_scale
        e["last_24h"] += day * day_scale
        e["duration_sum"] += float(dsum or 0.0) * day_scale
        e["timed"] += dn * day_scale
        e["retried_last_hour"] += retried * hour_scale
        if in_hour:  # completed rows created in the slice
            out["created_last_hour"] += rows * scale
        if in_day:
            out["created_last_24h"] += rows * scale
    return out


def recent_failures(cur, schema, params):
    """Rows that failed in the last hour / 24 h (their last activity, on the live set)."""
    where, args = _status_in(schema, ("failed", "retry", "dead_letter"))
    args.update(params)
    activity = schema.activity_expr()
    cur.execute(sql.SQL(
        """
        SELECT count(*) FILTER (WHERE {activity} >= now() - interval '1 hour'),
               count(*) FILTER (WHERE {activity} >= now() - interval '24 hours')
          FROM {queue} WHERE {where} AND {attempts} > 0
        """).format(activity=activity, queue=schema.queue, where=where, attempts=schema.col("attempt_count")), args)
    return cur.fetchone()


def stuck_locks(cur, schema, params):
    """Rows still carrying a lease that expired more than stuck_after minutes ago,
    whatever their status (found through the lock_expires_at index)."""
    exp = schema.col("lock_expires_at")
    cur.execute(sql.SQL(
        """
        SELECT count(*),
               extract(epoch FROM now() - min({exp})),
               (array_agg({id}::text ORDER BY {exp}))[1:%(sample)s]
          FROM {queue}
         WHERE {leased} AND {exp} < now() - make_interval(mins => %(stuck_after)s)
        """).format(exp=exp, id=schema.col("id"), queue=schema.queue, leased=schema.leased_expr()), params)
    row = cur.fetchone()
    cur.execute(sql.SQL(
        "SELECT {status}::text, count(*) FROM {queue} WHERE {leased} "
        "AND {exp} < now() - make_interval(mins => %(stuck_after)s) GROUP BY 1").format(
        status=schema.col("status"), queue=schema.queue, leased=schema.leased_expr(), exp=exp), params)
    by_status = dict(cur.fetchall())
    return {"count": row[0], "oldest_age_seconds": _seconds(row[1]), "ids": list(row[2] or []),
            "by_status": by_status}


# The HTTP status a message names, if any (4xx / 5xx as a number of its own): kept apart
# when the patterns are classified, because the number collapsing makes "error 401"
# and "error 503" the same pattern.
HTTP_STATUS_RE = "(?:^|[^0-9])([45][0-9][0-9])(?:[^0-9]|$)"
# At most this many (pattern, code, status, entity) groups are read back; beyond it the
# rest of the failing rows stay unclassified (reported as such, never dropped silently).
MAX_ERROR_GROUPS = 10000


def error_groups(cur, schema, params):
    """Every failing row (failed, retry, dead_letter: through the status index) grouped
    by collapsed message, error code, HTTP status named in the message and entity type,
    with the counts the diagnoses need per group. Each distinct message is collapsed once
    (not each row). Returns (rows, truncated)."""
    where, args = _status_in(schema, ("failed", "retry", "dead_letter"))
    args.update(params)
    args.update(PATTERN_PARAMS)
    args.update({"http_re": HTTP_STATUS_RE, "max_groups": MAX_ERROR_GROUPS + 1})
    code = schema.col("error_code") if schema.has("error_code") else sql.SQL("NULL::text")
    msg = schema.col("error_message") if schema.has("error_message") else sql.SQL("NULL::text")
    text = sql.SQL("COALESCE({}, '(no error message)')").format(msg)
    cur.execute(sql.SQL(
        """
        WITH failing AS (
            SELECT {status}::text AS status, {entity}::text AS entity, {code}::text AS code,
                   {msg} AS message, {text} AS text, {activity} AS seen, {attempts} < {budget} AS budget_left
              FROM {queue} WHERE {where}
        ), messages AS (
            SELECT text, {pattern} AS pattern, substring(text FROM %(http_re)s) AS http
              FROM (SELECT DISTINCT text FROM failing) AS distinct_messages
            OFFSET 0  -- not pulled up into the join: each distinct message collapsed once
        )
        SELECT pattern, code, http, entity, count(*),
               count(*) FILTER (WHERE status = 'failed'),
               count(*) FILTER (WHERE status = 'retry'),
               count(*) FILTER (WHERE status = 'dead_letter'),
               count(*) FILTER (WHERE budget_left),
               count(*) FILTER (WHERE status = 'dead_letter' AND budget_left),
               count(*) FILTER (WHERE seen >= now() - interval '1 hour'),
               count(*) FILTER (WHERE seen >= now() - interval '24 hours'),
               min(message), min(seen), max(seen)
          FROM failing JOIN messages USING (text)
         GROUP BY pattern, code, http, entity
         ORDER BY count(*) DESC, pattern, code NULLS FIRST, http NULLS FIRST, entity
         LIMIT %(max_groups)s
        """).format(status=schema.col("status"), entity=schema.col("entity_type"), code=code, msg=msg, text=text,
                    activity=schema.activity_expr(), attempts=schema.col("attempt_count"),
                    budget=schema.max_attempts_expr(), queue=schema.queue, where=where,
                    pattern=pattern_sql(sql.SQL("text"))), args)
    rows = cur.fetchall()
    truncated = len(rows) > MAX_ERROR_GROUPS
    return rows[:MAX_ERROR_GROUPS], truncated


def _new_counts():
    return {"count": 0, "failed": 0, "retry": 0, "dead_letter": 0, "attempts_left": 0,
            "dead_letter_attempts_left": 0, "last_hour": 0, "last_24h": 0}


def _add_counts(into, row):
    for key, value in zip(("count", "failed", "retry", "dead_letter", "attempts_left",
                           "dead_letter_attempts_left", "last_hour", "last_24h"), row[4:12]):
        into[key] += value


def _seen(into, first, last):
    if first is not None and (into.get("_first") is None or first < into["_first"]):
        into["_first"] = first
    if last is not None and (into.get("_last") is None or last > into["_last"]):
        into["_last"] = last


def classify_errors(rows, classifier, top):
    """The groups of error_groups, each distinct (pattern, code, HTTP status) classified
    once, folded into the top ``top`` patterns (by pattern and code, most rows first)
    and one summary per error class. Returns (patterns, distinct patterns, classes)."""
    verdicts = {}
    patterns = {}
    classes = {}
    for row in rows:
        pattern, code, http, entity = row[0], row[1], row[2], row[3]
        key = (pattern, code, http)
        if key not in verdicts:
            verdicts[key] = classifier.classify(row[12], code)
        cls, rule, origin = verdicts[key]
        item = patterns.get((pattern, code))
        if item is None:
            item = patterns[(pattern, code)] = dict(_new_counts(), pattern=pattern, error_code=code,
                                                    example=row[12], entities={}, classes={}, rules={})
        _add_counts(item, row)
        item["entities"][entity] = item["entities"].get(entity, 0) + row[4]
        item["classes"][cls] = item["classes"].get(cls, 0) + row[4]
        if rule:
            item["rules"][rule] = origin
        if row[12] is not None and (item["example"] is None or row[12] < item["example"]):
            item["example"] = row[12]
        _seen(item, row[13], row[14])
        summary = classes.get(cls)
        if summary is None:
            summary = classes[cls] = dict(_new_counts(), entities={}, patterns=0, codes={}, example=None,
                                          example_count=0, rules=[])
        _add_counts(summary, row)
        summary["entities"][entity] = summary["entities"].get(entity, 0) + row[4]
        if code is not None:
            summary["codes"][code] = summary["codes"].get(code, 0) + row[4]
        if rule and rule not in summary["rules"]:
            summary["rules"].append(rule)
        _seen(summary, row[13], row[14])
    for (pattern, code), item in patterns.items():
        cls = max(item["classes"].items(), key=lambda kv: (kv[1], kv[0]))[0]
        item["class"] = cls
        summary = classes[cls]
        summary["patterns"] += 1
        if item["count"] > summary["example_count"]:
            summary["example"], summary["example_count"] = item["example"], item["count"]
    ordered = sorted(patterns.values(), key=lambda p: (-p["count"], p["pattern"], p["error_code"] is not None,
                                                       p["error_code"] or ""))
    out = []
    for item in ordered[:top]:
        statuses = [s for s in ("dead_letter", "failed", "retry") if item[s]]
        out.append({
            "pattern": item["pattern"], "error_code": item["error_code"], "count": item["count"],
            "statuses": statuses, "entity_types": sorted(item["entities"], key=lambda e: (e.lower(), e)),
            "by_entity": item["entities"], "example": item["example"],
            "first_seen": _iso(item.get("_first")), "last_seen": _iso(item.get("_last")),
            "class": item["class"], "classes": item["classes"], "rules": sorted(item["rules"]),
            "attempts_left": item["attempts_left"], "dead_letter_attempts_left": item["dead_letter_attempts_left"],
            "by_status": {"failed": item["failed"], "retry": item["retry"], "dead_letter": item["dead_letter"]},
            "last_hour": item["last_hour"], "last_24h": item["last_24h"],
        })
    for summary in classes.values():
        summary["first_seen"] = _iso(summary.pop("_first", None))
        summary["last_seen"] = _iso(summary.pop("_last", None))
        summary.pop("example_count", None)
    return out, len(patterns), classes


def stranded_processing(cur, schema, params):
    """Rows in status processing that carry no lease (locked_by or lock_expires_at
    unset) and started (else were created) more than stuck_after minutes ago: no worker
    holds them and no worker's poll will ever take them again (it reads pending and
    retry rows only). Through the status index."""
    started = sql.SQL("COALESCE({}, {})").format(schema.col("started_at"), schema.col("created_at")) \
        if schema.has("started_at") else schema.col("created_at")
    unleased = [sql.SQL("{} IS NULL").format(schema.col("lock_expires_at"))]
    if schema.has("locked_by"):
        unleased.append(sql.SQL("{} IS NULL").format(schema.col("locked_by")))
    condition = sql.SQL(
        "{status} = 'processing' AND ({unleased}) AND {started} < now() - make_interval(mins => %(stuck_after)s)"
    ).format(status=schema.col("status"), unleased=sql.SQL(" OR ").join(unleased), started=started)
    cur.execute(sql.SQL(
        """
        SELECT {entity}::text, count(*), extract(epoch FROM now() - min({started})),
               (array_agg({id}::text ORDER BY {started}))[1:%(sample)s]
          FROM {queue} WHERE {condition} GROUP BY 1
        """).format(entity=schema.col("entity_type"), started=started, id=schema.col("id"),
                    queue=schema.queue, condition=condition), params)
    rows = cur.fetchall()
    by_entity = dict((r[0], r[1]) for r in rows)
    oldest = max([r[2] for r in rows if r[2] is not None] or [None]) if rows else None
    # the sample: the oldest rows first, across entity types
    ages = sorted(((r[2] or 0), r[3] or []) for r in rows)
    ids = [i for _age, sample in reversed(ages) for i in sample][:params.get("sample", 20)]
    return {"count": sum(by_entity.values()), "oldest_age_seconds": _seconds(oldest), "ids": ids,
            "by_entity": by_entity}


def recent_leases(cur, schema, params):
    """Leases per status: held right now, and taken in the last activity_window minutes
    (a lease's start is its expiry minus the lease length). A finished row's lease is
    cleared, so these are the rows in hand and the ones a failure left leased. Through
    the lock_expires_at index."""
    exp = schema.col("lock_expires_at")
    cur.execute(sql.SQL(
        """
        SELECT {status}::text,
               count(*) FILTER (WHERE {exp} > now()),
               count(*) FILTER (WHERE {exp} - make_interval(secs => %(lease_seconds)s)
                                      >= now() - make_interval(mins => %(activity_window)s))
          FROM {queue}
         WHERE {leased}
           AND {exp} > now() - make_interval(secs => %(lease_seconds)s) - make_interval(mins => %(activity_window)s)
         GROUP BY 1
        """).format(status=schema.col("status"), exp=exp, queue=schema.queue, leased=schema.leased_expr()),
        params)
    return dict((status, {"live": live, "taken_recently": recent}) for status, live, recent in cur.fetchall())


def dead_letter(cur, schema, params):
    q_id = schema.col("id", "q")
    cur.execute(sql.SQL(
        """
        SELECT count(*),
               (array_agg({qid}::text ORDER BY {created}))[1:%(sample)s]
          FROM {queue} q
         WHERE {status} = 'dead_letter'
           AND NOT EXISTS (SELECT 1 FROM {dlq} d WHERE {dref} = {qid})
        """).format(qid=q_id, created=schema.col("created_at", "q"), queue=schema.queue,
                    status=schema.col("status", "q"), dlq=schema.dlq, dref=schema.dcol("sync_queue_id", "d")), params)
    unrecorded, unrecorded_ids = cur.fetchone()
    cur.execute(sql.SQL(
        """
        SELECT count(*), count(*) FILTER (WHERE NOT {resolved}),
               count(*) - count(DISTINCT {ref})
          FROM {dlq}
        """).format(resolved=schema.dcol("resolved"), ref=schema.dcol("sync_queue_id"), dlq=schema.dlq))
    recorded, unresolved, duplicates = cur.fetchone()
    cur.execute(sql.SQL(
        "SELECT count(*) FILTER (WHERE {attempts} < {budget}) FROM {queue} WHERE {status} = 'dead_letter'").format(
        attempts=schema.col("attempt_count"), budget=schema.max_attempts_expr(), queue=schema.queue,
        status=schema.col("status")), params)
    attempts_left = cur.fetchone()[0]
    return {"recorded": recorded, "unresolved": unresolved, "unrecorded": unrecorded,
            "unrecorded_ids": list(unrecorded_ids or []), "duplicate_records": duplicates,
            "with_attempts_left": attempts_left}


def retry_state(cur, schema, params):
    status = schema.col("status")
    attempts = schema.col("attempt_count")
    if schema.has("next_retry_at"):
        due_at = schema.col("next_retry_at")
    else:
        # without next_retry_at a retry row is due at once; its age is its last change
        due_at = schema.finished_at_expr()
    cur.execute(sql.SQL(
        """
        SELECT count(*) FILTER (WHERE {status} = 'retry'),
               count(*) FILTER (WHERE {status} = 'retry' AND ({due} IS NULL OR {due} <= now())),
               count(*) FILTER (WHERE {status} = 'retry'
                                  AND {due} < now() - make_interval(mins => %(overdue_after)s)),
               extract(epoch FROM now() - min({due}) FILTER (WHERE {status} = 'retry')),
               count(*) FILTER (WHERE {attempts} >= {budget}),
               (array_agg({id}::text ORDER BY {created}) FILTER (WHERE {attempts} >= {budget}))[1:%(sample)s],
               count(*) FILTER (WHERE {status} = 'retry'
                                  AND {due} < now() - make_interval(mins => %(overdue_after)s)
                                  AND {attempts} >= 5)
          FROM {queue}
         WHERE {status} IN ('retry', 'failed')
        """).format(status=status, due=due_at, attempts=attempts, budget=schema.max_attempts_expr(),
                    id=schema.col("id"), created=schema.col("created_at"), queue=schema.queue), params)
    total, due, overdue, oldest_due, exhausted, exhausted_ids, overdue_high = cur.fetchone()
    return {"total": total, "due": due, "overdue": overdue,
            "oldest_due_seconds": _seconds(oldest_due) if oldest_due is not None and oldest_due > 0 else 0,
            "exhausted": exhausted, "exhausted_ids": list(exhausted_ids or []),
            # the production worker's poll skips rows with attempt_count >= 5 (a hard-coded filter)
            "overdue_high_attempts": overdue_high}


def workers(cur, schema, params):
    exp = schema.col("lock_expires_at")
    holder = schema.col("locked_by") if schema.has("locked_by") else sql.SQL("NULL::text")
    pending_live = sql.SQL("{status} = 'pending' AND {leased} AND {exp} > now()").format(
        status=schema.col("status"), leased=schema.leased_expr(), exp=exp)
    cur.execute(sql.SQL(
        """
        SELECT count(*) FILTER (WHERE {exp} > now()),
               count(DISTINCT {holder}) FILTER (WHERE {exp} > now()),
               max({exp}) - make_interval(secs => %(lease_seconds)s),
               count(*) FILTER (WHERE {pending_live}),
               count(*) FILTER (WHERE {pending_live}
                                  AND {created} < now() - interval '1 hour')
          FROM {queue}
         WHERE {leased} AND {exp} > now() - make_interval(secs => %(lease_seconds)s) - interval '1 day'
        """).format(exp=exp, holder=holder, pending_live=pending_live, created=schema.col("created_at"),
                    queue=schema.queue, leased=schema.leased_expr()), params)
    active, holders, last_lease, pending_leased, old_pending_leased = cur.fetchone()
    cur.execute(
        """
        SELECT count(*) FILTER (WHERE datname = current_database() AND backend_type = 'client backend'),
               count(*) FILTER (WHERE datname = current_database() AND backend_type = 'client backend'
                                  AND COALESCE(application_name, '') NOT LIKE %(app)s),
               count(*) FILTER (WHERE backend_type = 'client backend'),
               count(*) FILTER (WHERE datname = current_database() AND state LIKE 'idle in transaction%%'),
               extract(epoch FROM now() - min(xact_start) FILTER (
                   WHERE datname = current_database() AND state LIKE 'idle in transaction%%')),
               current_setting('max_connections')::int
          FROM pg_catalog.pg_stat_activity
        """, {"app": "tsh.zoho_sync%"})
    db_conns, app_conns, total_conns, idle_tx, idle_tx_age, max_conns = cur.fetchone()
    cur.execute("SELECT extract(epoch FROM now() - %s::timestamptz)", (last_lease,))
    since = cur.fetchone()[0]
    return {
        "active_leases": active,
        "lease_holders": holders,
        "lease_seconds": params["lease_seconds"],
        "last_lease_taken_at": _iso(last_lease),
        "seconds_since_last_lease": _seconds(since),
        "pending_leased": pending_leased,
        "old_pending_leased": old_pending_leased,
        "connections": {
            "database": db_conns,
            "application": app_conns,
            "total": total_conns,
            "max_connections": max_conns,
            "usage_pct": round(100.0 * total_conns / max_conns, 1) if max_conns else None,
            "idle_in_transaction": idle_tx,
            "oldest_idle_in_transaction_seconds": _seconds(idle_tx_age),
        },
    }


def _seconds(value):
    return None if value is None else round(float(value), 1)


def empty_status_counts():
    return dict((s, 0) for s in STATUSES)
