#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: zoho_dlq_move
short_description: Dead-letter exhausted rows of the Zoho sync queue, with exactly one record each
version_added: 0.1.0
description:
  - Rows in status C(failed) or C(retry) whose attempts are used up (C(attempt_count) at or above the
    retry budget) get exactly one dead-letter record (C(tds_dead_letter_queue)) and status C(dead_letter),
    lease cleared, in the same transaction.
  - Queue rows are never deleted - the dead-letter table has a NOT NULL foreign key to them.
  - With O(reconcile=true), C(dead_letter) rows that have no record (the production worker never writes
    one) get one. Nothing ever gets a second record.
  - Safe beside live workers - candidates are locked with C(FOR UPDATE SKIP LOCKED) (a held row is skipped and
    reported in RV(skipped_locked)), every UPDATE repeats its conditions, each batch is its own transaction,
    and rows under a live lease are never touched.
  - In check mode the same selection runs read-only and is rolled back; RV(ids) lists exactly the rows that
    would be moved or recorded.
author:
  - TSH operations team (@tsh-ops)
extends_documentation_fragment:
  - tsh.zoho_sync.connection
  - tsh.zoho_sync.queue_schema
options:
  max_attempts:
    description:
      - Retry budget. By default each row's own C(max_retry_attempts).
    type: int
  reconcile:
    description:
      - Also give every C(dead_letter) row without a dead-letter record its record.
    type: bool
    default: true
  reason:
    description:
      - The C(failure_reason) written on new records. By default it says how many attempts were used,
        or that the worker dead-lettered the row without a record.
    type: str
  entity_types:
    description:
      - Only rows of these entity types.
    type: list
    elements: str
  limit:
    description:
      - At most this many rows per run (moves and reconciled records together).
    type: int
    default: 1000
  batch_size:
    description:
      - Rows per transaction. Smaller batches hold row locks for less time (docs/performance.md
        measures the lock hold per batch at 10M rows).
    type: int
    default: 200
notes:
  - Supports C(check_mode) and C(diff_mode).
  - Needs UPDATE on the queue's state columns and INSERT on the dead-letter table.
seealso:
  - module: tsh.zoho_sync.zoho_queue_facts
  - module: tsh.zoho_sync.zoho_requeue
'''

EXAMPLES = r'''
- name: Dead-letter exhausted rows and record the worker's unrecorded dead letters
  tsh.zoho_sync.zoho_dlq_move:
    login_db: tsh_erp
    limit: 2000

- name: Preview only the invoices, with a budget of 5 attempts
  tsh.zoho_sync.zoho_dlq_move:
    login_db: tsh_erp
    entity_types: [invoice]
    max_attempts: 5
  check_mode: true
'''

RETURN = r'''
moved:
  description: Rows moved to C(dead_letter) with a new record (in check mode, that would be).
  returned: always
  type: int
reconciled:
  description: C(dead_letter) rows that got their missing record (in check mode, that would).
  returned: always
  type: int
ids:
  description: Every queue row id moved or reconciled (in check mode, that would be).
  returned: always
  type: list
  elements: str
moved_ids:
  description: The moved rows alone.
  returned: always
  type: list
  elements: str
reconciled_ids:
  description: The reconciled rows alone.
  returned: always
  type: list
  elements: str
skipped_locked:
  description: Candidate row ids held by another transaction and left alone.
  returned: always
  type: list
  elements: str
records_created:
  description: Dead-letter records inserted (equals moved plus reconciled).
  returned: always
  type: int
batches:
  description: Transactions committed.
  returned: always
  type: int
'''

from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_queries as hq
from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_run import HealRun, heal_argument_spec, preview_with
from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import build_module, check_text


def main():
    spec = heal_argument_spec()
    spec.update(reconcile=dict(type="bool", default=True), reason=dict(type="str"))
    module = build_module(spec)
    p = module.params
    check_text(module, "reason")
    run = HealRun(module)
    schema = run.schema
    created = {"n": 0}

    move_update = hq.apply_update(hq.dead_letter_assignments(schema))

    def move(cur, schema_, walker, ids):
        rows = move_update(cur, schema_, walker, ids)
        created["n"] += len(hq.insert_records(cur, schema_, [r["id"] for r in rows], p["reason"],
                                              hq.exhausted_reason(schema_)))
        return rows

    moved = run.walk(hq.where_exhausted(schema, run.entity_types, None, p["max_attempts"]), move,
                     preview_with({"status": "dead_letter", "locked_by": None, "lock_expires_at": None}),
                     "moving exhausted rows to the dead-letter queue")
    results = [moved]
    reconciled_ids = []
    if p["reconcile"] and run.remaining > 0:
        def record(cur, schema_, walker, ids):
            recorded = set(hq.insert_records(cur, schema_, ids, p["reason"], hq.reconciled_reason()))
            created["n"] += len(recorded)
            if not recorded:
                return []
            cur.execute(hq.sql.SQL("SELECT {} FROM {} WHERE {} IN %(ids)s").format(
                walker.returning(), schema_.queue, schema_.col("id")), {"ids": tuple(recorded)})
            # the row itself does not change: the diff says it gains its record
            return [dict(r, dlq_record="created") for r in cur.fetchall()]

        reconciled = run.walk(hq.where_unrecorded(schema, run.entity_types, None), record,
                              lambda row: dict(row, dlq_record="created"), "recording unrecorded dead letters")
        results.append(reconciled)
        reconciled_ids = reconciled.ids
    run.close()
    all_ids = moved.ids + reconciled_ids
    out = dict(changed=bool(all_ids), moved=len(moved.ids), reconciled=len(reconciled_ids), ids=all_ids,
               moved_ids=moved.ids, reconciled_ids=reconciled_ids,
               skipped_locked=sum((r.skipped_locked for r in results), []),
               records_created=created["n"], batches=sum(r.batches for r in results))
    if run.diff:
        out["diff"] = run.diff_output(*results)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
