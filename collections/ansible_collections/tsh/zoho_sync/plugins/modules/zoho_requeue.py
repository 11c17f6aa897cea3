#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: zoho_requeue
short_description: Put failed, stuck or re-driven rows of the Zoho sync queue back to work
version_added: 0.1.0
description:
  - Re-queues rows of the TSH ERP sync queue (C(tds_sync_queue)) so the workers pick them up again.
  - O(source=failed) - rows in status C(failed) whose C(attempt_count) is below the retry budget become
    C(pending), with lease and C(next_retry_at) cleared. A manual requeue does not consume an attempt.
  - O(source=stuck) - rows whose lease (C(lock_expires_at)) expired more than O(stuck_after) minutes ago
    have the lease cleared; C(processing) rows become C(pending). A live lease is never touched.
  - O(source=dead_letter) - an explicit re-drive after a fix - C(dead_letter) rows chosen by
    O(entity_types) or O(ids) become C(pending) with C(attempt_count) reset, and their open dead-letter
    records are marked resolved. Refuses to run without one of those filters.
  - Safe beside live workers - candidates are locked with C(FOR UPDATE SKIP LOCKED), so a row another
    transaction holds is skipped (RV(skipped_locked)), never waited for; every UPDATE repeats the conditions
    it selected on; work goes in batches, each its own transaction. Rows under a live lease are never touched.
  - In check mode the same selection runs in a read-only transaction that is rolled back, and RV(ids) lists
    exactly the rows that would change. With C(--diff) each row's before and after state is shown.
author:
  - TSH operations team (@tsh-ops)
extends_documentation_fragment:
  - tsh.zoho_sync.connection
  - tsh.zoho_sync.queue_schema
options:
  source:
    description:
      - Which rows to requeue.
    type: str
    required: true
    choices: [ failed, stuck, dead_letter ]
  stuck_after:
    description:
      - With O(source=stuck), minutes since the lease expired before it counts as stuck.
    type: int
    default: 30
  max_attempts:
    description:
      - Retry budget for O(source=failed). By default each row's own C(max_retry_attempts).
    type: int
  entity_types:
    description:
      - Only rows of these entity types (values of the entity type enum, for example C(invoice), C(PAYMENT)).
    type: list
    elements: str
  ids:
    description:
      - Only these queue row ids.
    type: list
    elements: str
  limit:
    description:
      - At most this many rows per run.
    type: int
    default: 1000
  batch_size:
    description:
      - Rows per transaction. Smaller batches hold row locks for less time (docs/performance.md
        measures the lock hold per batch at 10M rows).
    type: int
    default: 200
  resolved_by:
    description:
      - With O(source=dead_letter), who is recorded as resolving the dead-letter records.
    type: str
    default: tsh.zoho_sync
  reason:
    description:
      - With O(source=dead_letter), the resolution notes written on the dead-letter records.
    type: str
notes:
  - Supports C(check_mode) and C(diff_mode).
  - Needs UPDATE on the queue's state columns (and on the dead-letter table for O(source=dead_letter)).
seealso:
  - module: tsh.zoho_sync.zoho_queue_facts
  - module: tsh.zoho_sync.zoho_dlq_move
'''

EXAMPLES = r'''
- name: Requeue failed rows that still have attempts left
  tsh.zoho_sync.zoho_requeue:
    login_db: tsh_erp
    source: failed
    limit: 500

- name: Clear leases that expired more than an hour ago
  tsh.zoho_sync.zoho_requeue:
    login_db: tsh_erp
    source: stuck
    stuck_after: 60

- name: Re-drive dead-lettered invoices after fixing the Zoho mapping
  tsh.zoho_sync.zoho_requeue:
    login_db: tsh_erp
    source: dead_letter
    entity_types: [invoice]
    resolved_by: alice
    reason: "Fixed tax mapping (ticket OPS-123)"
'''

RETURN = r'''
requeued:
  description: How many rows were requeued (in check mode, would be).
  returned: always
  type: int
  sample: 12
ids:
  description: Every row id changed (in check mode, that would change), oldest first.
  returned: always
  type: list
  elements: str
skipped_locked:
  description: Candidate row ids held by another transaction (a worker, another heal) and left alone.
  returned: always
  type: list
  elements: str
resolved_records:
  description: With O(source=dead_letter), dead-letter records marked resolved.
  returned: always
  type: int
batches:
  description: Transactions committed.
  returned: always
  type: int
source:
  description: The O(source) acted on.
  returned: always
  type: str
'''

from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_queries as hq
from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_run import HealRun, heal_argument_spec, preview_with
from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import (
    build_module,
    check_range,
    check_text,
    fail,
)


def main():
    spec = heal_argument_spec()
    spec.update(
        source=dict(type="str", required=True, choices=["failed", "stuck", "dead_letter"]),
        stuck_after=dict(type="int", default=30),
        ids=dict(type="list", elements="str"),
        resolved_by=dict(type="str", default="tsh.zoho_sync"),
        reason=dict(type="str"),
    )
    module = build_module(spec)
    p = module.params
    check_range(module, "stuck_after", 1, 525600)
    check_text(module, "resolved_by")
    check_text(module, "reason")
    if p["source"] == "dead_letter" and not (p["entity_types"] or p["ids"]):
        fail(module, "source=dead_letter re-drives dead letters and needs entity_types or ids to say which; "
                     "refusing to re-drive the whole dead-letter queue")

    run = HealRun(module)
    schema = run.schema
    resolved = 0
    if p["source"] == "failed":
        result = run.walk(hq.where_failed(schema, run.entity_types, run.ids, p["max_attempts"]),
                          hq.apply_update(hq.requeue_assignments(schema)),
                          preview_with({"status": "pending", "locked_by": None, "lock_expires_at": None,
                                        "next_retry_at": None}),
                          "requeueing failed rows")
    elif p["source"] == "stuck":
        result = run.walk(hq.where_stuck(schema, run.entity_types, run.ids, p["stuck_after"]),
                          hq.apply_update(hq.clear_stuck_assignments(schema)),
                          preview_with({"locked_by": None, "lock_expires_at": None,
                                        "status": lambda r: "pending" if r["status"] == "processing" else r["status"]}),
                          "clearing stuck leases")
    else:
        notes = p["reason"] or "Re-driven by tsh.zoho_sync"
        update = hq.apply_update(hq.requeue_assignments(schema, reset_attempts=True))
        counter = {"resolved": 0}

        def redrive(cur, schema_, walker, ids):
            rows = update(cur, schema_, walker, ids)
            counter["resolved"] += hq.resolve_records(cur, schema_, [r["id"] for r in rows], p["resolved_by"], notes)
            return rows

        result = run.walk(hq.where_dead_letter(schema, run.entity_types, run.ids), redrive,
                          preview_with({"status": "pending", "attempt_count": 0, "locked_by": None,
                                        "lock_expires_at": None, "next_retry_at": None}),
                          "re-driving dead letters")
        resolved = counter["resolved"]
    run.close()
    out = dict(changed=bool(result.ids), requeued=len(result.ids), ids=result.ids,
               skipped_locked=result.skipped_locked, resolved_records=resolved, batches=result.batches,
               source=p["source"])
    if run.diff:
        out["diff"] = run.diff_output(result)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
