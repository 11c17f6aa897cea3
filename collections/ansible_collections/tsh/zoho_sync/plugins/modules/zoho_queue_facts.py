#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: zoho_queue_facts
short_description: Gather the state of the TSH ERP Zoho sync queue
version_added: 0.1.0
description:
  - Reads the sync queue (C(tds_sync_queue)) and the dead-letter queue (C(tds_dead_letter_queue))
    and returns precise numbers as the fact C(zoho_queue) - counts per status and entity type,
    stuck leases, grouped error patterns, dead letters without a record, due, overdue and
    exhausted retries, throughput and worker activity.
  - Read-only. It runs in one read-only, repeatable-read transaction (one consistent snapshot)
    that ends in a rollback, so it never writes and never reports C(changed).
  - Its cost follows the live set (rows that are not C(completed)), not the history nor the completion
    rate - it only uses the production indexes, counts completed rows through the planner's estimate
    on a large table, and reads completions through bounded probes of the C(created_at) index (at most
    64 completed rows per slice of the look-back window - 5 minutes in the last hour, 1 hour to 24
    hours, at most 24 slices beyond); the figures are exact while every slice holds fewer rows than
    that, estimated (and flagged, C(throughput.estimated)) when it does not.
  - It never treats a failure to look as health - any error fails the task with one clear message.
author:
  - TSH operations team (@tsh-ops)
extends_documentation_fragment:
  - tsh.zoho_sync.connection
  - tsh.zoho_sync.queue_schema
options:
  stuck_after:
    description:
      - A lease counts as stuck when its C(lock_expires_at) passed more than this many minutes ago
        and the row still carries it (C(locked_by) set), whatever the row's status.
    type: int
    default: 30
  retry_overdue_after:
    description:
      - A C(retry) row whose C(next_retry_at) passed more than this many minutes ago is overdue -
        workers are not picking retries up.
    type: int
    default: 15
  lease_seconds:
    description:
      - Length of the workers' lease. The worker records no claim time, so the time a lease was
        taken is its C(lock_expires_at) minus this.
    type: int
    default: 300
  max_attempts:
    description:
      - Retry budget used to count exhausted rows. By default each row's own C(max_retry_attempts).
    type: int
  top_errors:
    description:
      - How many error patterns to return, most frequent first.
    type: int
    default: 10
  sample_size:
    description:
      - How many row ids to list in each sample (stuck leases, unrecorded dead letters, exhausted retries).
    type: int
    default: 20
  lookback_hours:
    description:
      - Window, on C(created_at), in which completions are looked for (last completion per entity,
        throughput). Older history is never read, and inside it at most 64 completed rows per slice are
        (see the description). Must cover at least 24 hours for the 24 hour figures.
    type: int
    default: 48
  exact_count_max_rows:
    description:
      - Up to this many rows in the queue table (planner estimate) the C(completed) count is exact;
        above it the planner's estimate is returned and RV(ansible_facts.zoho_queue.completed_estimated) is true.
    type: int
    default: 200000
  activity_window:
    description:
      - Leases taken in the last this many minutes count as recent worker activity
        (C(workers.leases_by_status) of the facts).
    type: int
    default: 15
  error_rules:
    description:
      - Rules that classify each distinct error pattern, tried in order before the built-in rules (the
        production worker's own exception texts and Zoho's documented API errors); the first that matches
        gives the class, a pattern no rule matches is V(unknown).
      - Each rule is C({class, message, code, name}) - C(class) one of V(zoho_auth), V(zoho_rate_limit),
        V(zoho_unavailable), V(zoho_validation), V(internal), V(unknown); C(message) and C(code) Python regular
        expressions searched case-insensitively in C(error_message) and C(error_code) (at least one; both must
        match when both are given); C(name) an optional label.
      - A malformed rule fails the task with one message naming every problem.
    type: list
    elements: dict
    default: []
notes:
  - Supports C(check_mode); it behaves the same in both modes.
  - The database user needs SELECT on the queue and dead-letter tables; C(pg_read_all_stats) (or
    C(pg_monitor)) shows the state of other users' sessions in the connection figures.
seealso:
  - module: tsh.zoho_sync.zoho_requeue
  - module: tsh.zoho_sync.zoho_dlq_move
'''

EXAMPLES = r'''
- name: Gather the queue state
  tsh.zoho_sync.zoho_queue_facts:
    login_host: 127.0.0.1
    login_db: tsh_erp
    login_user: zoho_ops
    login_password: "{{ vault_zoho_db_password }}"

- name: Show the backlog
  ansible.builtin.debug:
    msg: "pending={{ zoho_queue.status_counts.pending }} stuck={{ zoho_queue.stuck_locks.count }}"

- name: Against the simplified layout of the original write-up
  tsh.zoho_sync.zoho_queue_facts:
    login_db: legacy
    queue_schema:
      queue_table: zoho_sync_queue
      dlq_table: zoho_dead_letter_queue
      default_max_attempts: 5
      queue_columns:
        source_entity_id: entity_id
        payload: payload
        attempt_count: retry_count
        lock_expires_at: locked_until
        updated_at: updated_at
        max_retry_attempts: null
        next_retry_at: null
        locked_by: null
        started_at: null
        completed_at: null
        error_code: null
        priority: null
      dlq_columns:
        sync_queue_id: queue_id
        source_entity_id: entity_id
        total_attempts: retry_count
        last_error_message: error_message
        last_payload: payload
        error_code: null
        resolution_notes: null
'''

RETURN = r'''
ansible_facts:
  description: Facts about the queue.
  returned: success
  type: complex
  contains:
    zoho_queue:
      description: The queue's state.
      returned: success
      type: complex
      contains:
        status_counts:
          description: Rows per status; all six statuses always present (V(completed) may be an estimate).
          type: dict
          returned: success
          sample: {"pending": 120, "processing": 4, "completed": 1834221, "failed": 3, "retry": 17, "dead_letter": 41}
        completed_estimated:
          description: Whether the C(completed) counts are the planner's estimate (large table) rather than exact.
          type: bool
          returned: success
        unknown_statuses:
          description: Counts of status labels this collection does not know (a changed enum); empty when none.
          type: dict
          returned: success
        live_total:
          description: Rows not C(completed) (exact).
          type: int
          returned: success
        entities:
          description:
            - Per entity type (only those with rows) - C(status_counts), C(oldest_pending_age_seconds)
              (null when nothing is pending), C(last_completed_at) (null when none in the look-back window;
              when C(throughput.estimated), the latest among the completed rows the
              probes read), C(last_activity_at), C(completed_last_hour), C(completed_last_24h) (estimates when
              C(throughput.estimated)).
          type: dict
          returned: success
        stuck_locks:
          description: Rows carrying a lease that expired more than O(stuck_after) minutes ago -
            C(count), C(oldest_age_seconds) (since the oldest such lease expired), C(ids) (sample),
            C(by_status), C(stuck_after_minutes).
          type: dict
          returned: success
        stranded_processing:
          description:
            - Rows in status C(processing) with no lease (C(locked_by) or C(lock_expires_at) unset) that started
              (else were created) more than O(stuck_after) minutes ago - no worker holds them and none will
              poll them again. C(count), C(oldest_age_seconds), C(ids) (sample, oldest first), C(by_entity),
              C(stuck_after_minutes).
          type: dict
          returned: success
        error_patterns:
          description:
            - Top groups of rows in C(failed), C(retry) and C(dead_letter), by error code and message with
              numbers, UUIDs and hex ids collapsed; each with C(pattern), C(error_code), C(count),
              C(statuses), C(entity_types), C(by_entity), C(by_status), C(example), C(first_seen), C(last_seen),
              C(class) (the error class of most of its rows), C(classes) (rows per class), C(rules) (the rules
              that matched), C(attempts_left) and C(dead_letter_attempts_left) (rows still under their retry
              budget), C(last_hour) and C(last_24h) (rows whose last activity is that recent). Sorted by count.
          type: list
          elements: dict
          returned: success
        error_pattern_groups:
          description: How many distinct error patterns exist (the list is capped at O(top_errors)).
          type: int
          returned: success
        error_classes:
          description:
            - Per error class (only the classes seen), over every failing row - C(count), C(failed), C(retry),
              C(dead_letter), C(attempts_left), C(dead_letter_attempts_left), C(last_hour), C(last_24h),
              C(entities) (rows per entity type), C(codes) (rows per error code), C(patterns) (distinct
              patterns), C(example), C(rules), C(first_seen), C(last_seen).
            - Each distinct pattern is classified once, not each row.
          type: dict
          returned: success
        errors_classified:
          description: C(rows) classified of C(failing_rows), C(patterns), C(truncated) (more groups than the
            module reads; the rest stay unclassified), C(classifier_calls).
          type: dict
          returned: success
        dead_letter:
          description: C(queue_rows) (status C(dead_letter)), C(recorded) (DLQ records), C(unrecorded)
            (dead_letter rows with no record), C(unrecorded_ids) (sample), C(unresolved) (open records),
            C(duplicate_records) (records beyond the first per queue row; must be 0), C(with_attempts_left)
            (dead_letter rows still under their retry budget - dead-lettered by a non-retryable error).
          type: dict
          returned: success
        retry:
          description: C(total) retry rows, C(due) (next_retry_at passed), C(overdue) (passed more than
            O(retry_overdue_after) minutes ago), C(oldest_due_seconds), C(exhausted) (failed or retry rows
            whose attempts are used up but not dead-lettered), C(exhausted_ids) (sample) and
            C(overdue_high_attempts) (overdue rows with C(attempt_count) 5 or more, which the production
            worker's poll never takes).
          type: dict
          returned: success
        throughput:
          description:
            - C(completed_last_hour), C(completed_last_24h), C(completed_retries_last_hour) (completed rows
              that had failed before), C(failed_last_hour), C(failed_last_24h), C(created_last_hour) and
              C(created_last_24h) (arrivals), C(avg_processing_seconds) (null without started_at/completed_at),
              C(failure_rate_24h) (failed share of finished work, null when nothing finished), C(items_per_hour)
              (24 h average), C(lookback_hours).
            - C(estimated) - false when the completion figures, the arrivals and the processing time are exact
              (every completed row of the look-back window was read); true when a slice of the window held more
              completed rows than its probe reads, and they are estimated from each slice's density (the newest
              64 completed rows of each slice, walked backwards on the C(created_at) index). With steady
              arrivals the estimates are within about 10 % on the 1 hour figures and 5 % on the 24 hour ones;
              completions of rows created before the slice that counts them are counted as seen, never scaled
              (a lower bound). The live part of the arrivals is always exact. C(rows_read) - completed rows the
              probes read.
          type: dict
          returned: success
        workers:
          description: C(active_leases), C(lease_holders) (distinct locked_by; worker ids repeat across
            processes), C(last_lease_taken_at), C(seconds_since_last_lease), C(pending_leased),
            C(old_pending_leased) (pending rows over an hour old under a live lease - the re-processing loop),
            C(leases_by_status) (per status, C(live) leases and leases C(taken_recently), in the last
            O(activity_window) minutes), C(activity_window_minutes), and C(connections) (C(database), C(application), C(total),
            C(max_connections), C(usage_pct),
            C(idle_in_transaction), C(oldest_idle_in_transaction_seconds)).
          type: dict
          returned: success
        collected_at:
          description: When the snapshot was taken (database time, ISO 8601).
          type: str
          returned: success
        duration_ms:
          description: How long gathering took.
          type: int
          returned: success
        server_version:
          description: PostgreSQL server version.
          type: str
          returned: success
        database:
          description: Database name.
          type: str
          returned: success
        queue_table:
          description: The queue table that was read (schema-qualified).
          type: str
          returned: success
'''

import time

from ansible_collections.tsh.zoho_sync.plugins.module_utils import facts_queries as q
from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import psycopg2, server_version
from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import (
    build_module,
    check_range,
    close_quietly,
    database_error_message,
    open_session,
    resolve_schema,
)
from ansible_collections.tsh.zoho_sync.plugins.module_utils.error_classes import Classifier
from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import (
    ENTITY_TYPES as TSH_ENTITY_TYPES,
    FAILING_STATUSES,
    STATUSES,
)


def gather(cur, schema, p, classifier):
    params = {
        "stuck_after": p["stuck_after"], "overdue_after": p["retry_overdue_after"],
        "lease_seconds": p["lease_seconds"], "max_attempts": p["max_attempts"],
        "top_errors": p["top_errors"], "sample": p["sample_size"], "lookback_hours": p["lookback_hours"],
        "activity_window": p["activity_window"],
    }
    started = time.time()
    cur.execute("SELECT now(), current_database()")
    now, database = cur.fetchone()

    status_counts = q.empty_status_counts()
    unknown = {}
    entities = {}

    def entity(name):
        if name not in entities:
            entities[name] = {"status_counts": q.empty_status_counts(), "oldest_pending_age_seconds": None,
                              "last_completed_at": None, "last_activity_at": None,
                              "completed_last_hour": 0, "completed_last_24h": 0}
        return entities[name]

    last_activity = {}
    live_created_hour, live_created_day = 0, 0
    for name, status, count, _oldest, activity, oldest_age, created_hour, created_day in q.live_counts(
            cur, schema, params):
        live_created_hour += created_hour
        live_created_day += created_day
        if status in STATUSES:
            status_counts[status] += count
        else:
            unknown[status] = unknown.get(status, 0) + count
        e = entity(name)
        e["status_counts"][status] = e["status_counts"].get(status, 0) + count
        if oldest_age is not None:
            e["oldest_pending_age_seconds"] = round(float(oldest_age), 1)
        if activity is not None and (name not in last_activity or activity > last_activity[name]):
            last_activity[name] = activity

    entity_names = schema.entity_labels or sorted(set(entities) | set(TSH_ENTITY_TYPES))
    completed, estimated = q.completed_counts(cur, schema, entity_names, p["exact_count_max_rows"])
    for name, count in completed.items():
        if count:
            entity(name)["status_counts"]["completed"] = count
            status_counts["completed"] += count

    recent = q.recent_completions(cur, schema, params)
    estimated_tp = recent["estimated"]
    throughput = {"completed_last_hour": 0, "completed_last_24h": 0, "completed_retries_last_hour": 0,
                  "lookback_hours": p["lookback_hours"], "estimated": estimated_tp,
                  "rows_read": recent["rows_read"]}
    duration_sum, duration_n = 0.0, 0.0
    hour_total, day_total, retried_total = 0.0, 0.0, 0.0
    for name, r in sorted(recent["entities"].items()):
        last_done = r["last_completed_at"]
        if last_done is None and not r["last_24h"] and name not in entities:
            continue
        e = entity(name)
        e["last_completed_at"] = last_done.isoformat() if last_done else None
        e["completed_last_hour"] = int(round(r["last_hour"]))
        e["completed_last_24h"] = int(round(r["last_24h"]))
        hour_total += r["last_hour"]
        day_total += r["last_24h"]
        retried_total += r["retried_last_hour"]
        duration_sum += r["duration_sum"]
        duration_n += r["timed"]
        if last_done is not None and (name not in last_activity or last_done > last_activity[name]):
            last_activity[name] = last_done
    throughput["completed_last_hour"] = int(round(hour_total))
    throughput["completed_last_24h"] = int(round(day_total))
    throughput["completed_retries_last_hour"] = int(round(retried_total))
    for name, when in last_activity.items():
        entity(name)["last_activity_at"] = when.isoformat()

    failed_hour, failed_day = q.recent_failures(cur, schema, params)
    # arrivals: the live rows created in the window (exact) and the completed ones (probed)
    created_hour = live_created_hour + int(round(recent["created_last_hour"]))
    created_day = live_created_day + int(round(recent["created_last_24h"]))
    finished = throughput["completed_last_24h"] + failed_day
    throughput.update({
        "failed_last_hour": failed_hour,
        "failed_last_24h": failed_day,
        "created_last_hour": created_hour,
        "created_last_24h": created_day,
        "avg_processing_seconds": round(duration_sum / duration_n, 3) if duration_n else None,
        "failure_rate_24h": round(float(failed_day) / finished, 4) if finished else None,
        "items_per_hour": round(throughput["completed_last_24h"] / 24.0, 1),
    })

    stuck = q.stuck_locks(cur, schema, params)
    stuck["stuck_after_minutes"] = p["stuck_after"]
    stranded = q.stranded_processing(cur, schema, params)
    stranded["stuck_after_minutes"] = p["stuck_after"]
    groups, truncated = q.error_groups(cur, schema, params)
    patterns, distinct, classes = q.classify_errors(groups, classifier, p["top_errors"])
    failing_rows = sum(status_counts[s] for s in FAILING_STATUSES)
    dead = q.dead_letter(cur, schema, params)
    dead["queue_rows"] = status_counts["dead_letter"]
    retry = q.retry_state(cur, schema, params)
    retry["overdue_after_minutes"] = p["retry_overdue_after"]
    workers = q.workers(cur, schema, params)
    workers["leases_by_status"] = q.recent_leases(cur, schema, params)
    workers["activity_window_minutes"] = p["activity_window"]

    live_total = sum(v for k, v in status_counts.items() if k != "completed") + sum(unknown.values())
    return {
        "status_counts": status_counts,
        "completed_estimated": estimated,
        "unknown_statuses": unknown,
        "live_total": live_total,
        "total": live_total + status_counts["completed"],
        "entities": entities,
        "stuck_locks": stuck,
        "stranded_processing": stranded,
        "error_patterns": patterns,
        "error_pattern_groups": distinct,
        "error_classes": classes,
        "errors_classified": {"rows": sum(c["count"] for c in classes.values()), "failing_rows": failing_rows,
                              "patterns": distinct, "truncated": truncated,
                              "classifier_calls": classifier.calls},
        "dead_letter": dead,
        "retry": retry,
        "throughput": throughput,
        "workers": workers,
        "collected_at": now.isoformat(),
        "duration_ms": int((time.time() - started) * 1000),
        "database": database,
        "queue_table": "%s.%s" % (schema.schema, schema.queue_table),
    }


def main():
    module = build_module(dict(
        stuck_after=dict(type="int", default=30),
        retry_overdue_after=dict(type="int", default=15),
        lease_seconds=dict(type="int", default=300),
        max_attempts=dict(type="int"),
        top_errors=dict(type="int", default=10),
        sample_size=dict(type="int", default=20),
        lookback_hours=dict(type="int", default=48),
        exact_count_max_rows=dict(type="int", default=200000),
        activity_window=dict(type="int", default=15),
        error_rules=dict(type="list", elements="dict", default=[]),
    ))
    check_range(module, "stuck_after", 1, 525600)
    check_range(module, "retry_overdue_after", 1, 525600)
    check_range(module, "lease_seconds", 1, 86400)
    check_range(module, "max_attempts", 1, 100)
    check_range(module, "top_errors", 1, 1000)
    check_range(module, "sample_size", 0, 10000)
    check_range(module, "lookback_hours", 24, 24 * 366)
    check_range(module, "exact_count_max_rows", 0)
    check_range(module, "activity_window", 1, 1440)
    try:
        classifier = Classifier(module.params["error_rules"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    schema = resolve_schema(module)
    conn = open_session(module, schema, read_only=True)
    try:
        conn.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ, readonly=True)
        with conn.cursor() as cur:
            facts = gather(cur, schema, module.params, classifier)
        facts["server_version"] = server_version(conn)
        conn.rollback()
    except psycopg2.Error as exc:
        close_quietly(conn)
        module.fail_json(msg=database_error_message(module, exc, "gathering the queue facts"))
    close_quietly(conn)
    module.exit_json(changed=False, ansible_facts={"zoho_queue": facts})


if __name__ == "__main__":
    main()
