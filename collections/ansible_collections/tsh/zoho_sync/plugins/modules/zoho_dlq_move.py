#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: zoho_dlq_move
short_description: Dead-letter exhausted rows of the Zoho sync queue, with exactly one record each
version_added: 0.1.0
description:
  - Rows in status C(failed) or C(retry) whose attempts are used up (C(attempt_count) at or above the
    retry budget) get exactly one dead-letter record (C(tds_dead_letter_queue)) and status C(dead_letter),
    lease cleared, in the same transaction.
  - O(limit) counts the moves and the reconciled records together (moves first).
  - Queue rows are never deleted - the dead-letter table has a NOT NULL foreign key to them.
  - With O(reconcile=true), C(dead_letter) rows that have no record (the production worker never writes
    one) get one - unless a worker holds the row under a live lease. Nothing ever gets a second record.
  - Safe beside live workers - candidates are locked with C(FOR UPDATE SKIP LOCKED) (a held row is skipped and
    reported in RV(skipped_locked)), every UPDATE repeats its conditions, each batch is its own transaction,
    and rows under a live lease are never touched.
  - In check mode the same selection runs read-only and is rolled back; RV(ids) lists exactly the rows that
    would be moved or recorded, and the connected role's privileges are checked against what the real run needs
    (RV(missing_privileges)); a real run lacking one fails before changing anything.
  - Both actions are declared once (module_utils C(heal_actions)); RV(actions) carries their condition and change
    in words.
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
    default: 1000
  batch_size:
    default: 200
notes:
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
actions:
  description:
    - One entry per action run (C(move_exhausted), C(reconcile_dead_letters)) - C(name), C(count), C(ids),
      C(skipped_locked), C(batches), C(condition) and C(change) in words, C(summary), C(refused).
  returned: always
  type: list
  elements: dict
rows:
  description: In check mode and with C(--diff), every row moved or recorded (see M(tsh.zoho_sync.zoho_requeue)).
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

from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_actions import MOVE_EXHAUSTED, RECONCILE
from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_run import (
    HealRun,
    queue_filter_spec,
    walk_argument_spec,
)
from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import build_module, check_text

MOVING = ("moving exhausted rows to the dead-letter queue", "previewing the move of exhausted rows")
RECORDING = ("recording unrecorded dead letters", "previewing the records of unrecorded dead letters")


def main():
    spec = walk_argument_spec(limit=1000, batch_size=200)
    spec.update(queue_filter_spec())
    spec.update(reconcile=dict(type="bool", default=True), reason=dict(type="str"))
    module = build_module(spec)
    check_text(module, "reason")
    run = HealRun(module)
    actions = [MOVE_EXHAUSTED.with_conditions(run.filters())]
    if module.params["reconcile"]:
        actions.append(RECONCILE.with_conditions(run.filters()))
    refusals = run.require(actions, MOVING[0])
    args = run.params()
    moved = run.walk(actions[0], args, MOVING, refusals=refusals)
    tallies = [moved]
    if len(actions) > 1:
        tallies.append(run.walk(actions[1], args, RECORDING, refusals=refusals))
    reconciled_ids = tallies[1].ids if len(tallies) > 1 else []
    run.exit([run.part(t) for t in tallies], moved=moved.count, reconciled=len(reconciled_ids),
             ids=moved.ids + reconciled_ids, moved_ids=moved.ids, reconciled_ids=reconciled_ids,
             skipped_locked=sum((t.skipped for t in tallies), []),
             records_created=sum(t.records for t in tallies) if not run.check_mode else
             sum(t.count for t in tallies), batches=sum(t.batches for t in tallies))


if __name__ == "__main__":
    main()
