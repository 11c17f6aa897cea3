#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

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
  - O(source=stranded) - C(processing) rows with no lease (C(locked_by) or C(lock_expires_at) empty - a lock
    cleanup cleared the lease and left the status) started (else created) more than O(stuck_after) minutes ago
    become C(pending), C(next_retry_at) cleared, C(attempt_count) kept.
  - Each source is declared once (module_utils C(heal_actions)) - its condition, with the live-lease guard, and
    its change; RV(actions) carries them in words, as the audit records of the C(zoho_heal) role do.
  - Safe beside live workers - candidates are locked with C(FOR UPDATE SKIP LOCKED), so a row another
    transaction holds is skipped (RV(skipped_locked)), never waited for; every UPDATE repeats the conditions
    it selected on; work goes in batches, each its own transaction. Rows under a live lease are never touched.
  - In check mode the same selection runs in a read-only transaction that is rolled back, and RV(ids) lists
    exactly the rows that would change, each row's after-state computed by the same expressions the UPDATE
    assigns. With C(--diff) a table per change (id, entity, status before and after, attempts, lease, error
    pattern) is shown. A preview also checks that the connected role holds every privilege the real run needs
    and says what it lacks (RV(missing_privileges)); a real run lacking one fails before changing anything.
author:
  - TSH operations team (@tsh-ops)
extends_documentation_fragment:
  - tsh.zoho_sync.connection
  - tsh.zoho_sync.queue_schema
  - tsh.zoho_sync.walk
  - tsh.zoho_sync.rows
  - tsh.zoho_sync.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  source:
    description:
      - Which rows to requeue.
    type: str
    required: true
    choices: [ failed, stuck, dead_letter, stranded ]
  stuck_after:
    description:
      - With O(source=stuck), minutes since the lease expired before it counts as stuck; with
        O(source=stranded), minutes since the row was started (else created).
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
    default: 1000
  batch_size:
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

- name: Put processing rows a lock cleanup left without a lease back to pending
  tsh.zoho_sync.zoho_requeue:
    login_db: tsh_erp
    source: stranded
    stuck_after: 30

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
  description: Every row id changed (in check mode, that would change); the limit takes the oldest candidates.
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
actions:
  description:
    - One entry per action run - C(name) (the audit action name), C(count), C(ids), C(skipped_locked),
      C(batches), C(condition) and C(change) (in words, from the action's declaration), C(summary),
      C(refused) (check mode - the privileges the real run would lack, else null).
  returned: always
  type: list
  elements: dict
rows:
  description:
    - In check mode and with C(--diff), every row changed (or that would be) - C(id), C(table), C(entity),
      C(before) and C(after) (the status), C(attempts), C(lease), C(pattern) (the error pattern), C(action).
  returned: in check mode or with --diff
  type: list
  elements: dict
missing_privileges:
  description: Check mode - per action, the privileges the connected role lacks for the real run.
  returned: always
  type: list
  elements: str
msg:
  description: What was done (or would be), per action, in words.
  returned: always
  type: str
'''

from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_actions import REQUEUE_SOURCES
from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_run import (
    HealRun,
    queue_filter_spec,
    walk_argument_spec,
)
from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import (
    build_module,
    check_range,
    check_text,
    fail,
)

DOING = {
    "failed": ("requeueing failed rows", "previewing the requeue of failed rows"),
    "stuck": ("clearing stuck leases", "previewing the clearing of stuck leases"),
    "dead_letter": ("re-driving dead letters", "previewing the re-drive of dead letters"),
    "stranded": ("resetting stranded processing rows", "previewing the reset of stranded processing rows"),
}


def main():
    spec = walk_argument_spec(limit=1000, batch_size=200)
    spec.update(queue_filter_spec())
    spec.update(
        source=dict(type="str", required=True, choices=sorted(REQUEUE_SOURCES)),
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
    action = REQUEUE_SOURCES[p["source"]].with_conditions(run.filters())
    refusals = run.require([action], DOING[p["source"]][0])
    args = run.params(stuck_after=p["stuck_after"], resolved_by=p["resolved_by"],
                      notes=p["reason"] or "Re-driven by tsh.zoho_sync")
    tally = run.walk(action, args, DOING[p["source"]], refusals=refusals)
    run.exit([run.part(tally)], requeued=tally.count, ids=tally.ids, skipped_locked=tally.skipped,
             resolved_records=tally.resolved, batches=tally.batches, source=p["source"])


if __name__ == "__main__":
    main()
