#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: zoho_cleanup
short_description: Delete old completed queue rows, sync logs and inbox events of the Zoho sync, after backing them up
version_added: 0.1.0
description:
  - Deletes, in bounded batches each its own transaction, what the TSH ERP sync no longer needs, respecting its
    foreign keys (sync logs and dead-letter records reference queue rows; queue rows reference inbox events).
  - V(queue) - C(completed) queue rows that finished more than O(completed_older_than_days) days ago, together
    with their sync logs (C(tds_sync_logs.sync_queue_id) is a NOT NULL foreign key). A row referenced by a
    dead-letter record, or under a live lease, is never deleted.
  - V(logs) - sync logs older than O(logs_older_than_days) days, except those of C(dead_letter) rows and of rows
    with a dead-letter record (the evidence of the weekly review).
  - V(inbox) - inbox events received more than O(inbox_older_than_days) days ago that no queue row references
    (including those freed by the V(queue) phase of the same run).
  - C(dead_letter) rows are never deleted, nor anything a dead-letter record references.
  - Every row is appended to the backup file C(<backup_dir>/<run_id>.jsonl) (JSON lines, one C(to_jsonb) image
    per row, mode 0600) and the file is fsync'd B(before) the DELETE of its batch commits. M(tsh.zoho_sync.zoho_restore)
    puts them back.
  - Refuses to delete without O(confirm=true). In check mode it needs no confirmation, reports what would be
    deleted (counts, ids and every row, a table per phase with C(--diff)) from a read-only transaction, writes
    nothing (no backup either), and says which privilege the real run would lack (RV(missing_privileges)).
    The preview of the V(logs) and V(inbox) phases counts the rows the V(queue) phase would delete as gone, so it
    lists exactly what the run would delete, with the same O(limit), at the cost of the run's own selections.
  - Candidates are selected once per phase in keyset order; each batch is one statement that locks them with
    C(FOR UPDATE SKIP LOCKED) and deletes them with every condition repeated, so a row a worker or another session
    holds or changes is left alone (RV(skipped_locked)).
  - The three phases are declared once (module_utils C(heal_actions)); RV(actions) carries their condition and
    change in words.
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
  run_id:
    description:
      - The heal run; names the backup file. Letters, digits, C(.), C(_), C(:) and C(-), at most 39 characters.
    type: str
    required: true
  backup_dir:
    description:
      - Directory (on the host running the module) for the backup file; created with mode 0700 when missing.
    type: path
    required: true
  confirm:
    description:
      - Must be V(true) to delete anything (not needed in check mode).
    type: bool
    default: false
  targets:
    description:
      - Which phases to run, in the order V(queue), V(logs), V(inbox).
    type: list
    elements: str
    choices: [ queue, logs, inbox ]
    default: [ queue, logs, inbox ]
  completed_older_than_days:
    description:
      - Age in days (since C(completed_at), or the layout's update or creation time) of completed queue rows to delete.
    type: int
    default: 30
  inbox_older_than_days:
    description:
      - Age in days (since C(received_at)) of unreferenced inbox events to delete.
    type: int
    default: 7
  logs_older_than_days:
    description:
      - Age in days (since C(timestamp)) of sync logs to delete.
    type: int
    default: 90
  limit:
    default: 10000
  batch_size:
    default: 500
  max_ids:
    description:
      - How many ids per table RV(ids) lists, and rows per phase RV(rows) lists (the counts are always complete).
    type: int
    default: 1000
notes:
  - Needs SELECT and DELETE on the queue, sync log and inbox tables, SELECT on the dead-letter table.
  - Tables the layout lacks are mapped to V(null) in O(queue_schema) (C(inbox_table), C(logs_table)); their
    phases are then skipped.
seealso:
  - module: tsh.zoho_sync.zoho_restore
  - module: tsh.zoho_sync.zoho_heal_lock
'''

EXAMPLES = r'''
- name: Preview the cleanup
  tsh.zoho_sync.zoho_cleanup:
    login_db: tsh_erp
    run_id: "{{ zoho_heal_run_id }}"
    backup_dir: /var/lib/tsh-zoho-sync/backups
  check_mode: true

- name: Clean up, backing every row up first
  tsh.zoho_sync.zoho_cleanup:
    login_db: tsh_erp
    run_id: "{{ zoho_heal_run_id }}"
    backup_dir: /var/lib/tsh-zoho-sync/backups
    confirm: true
    limit: 20000
'''

RETURN = r'''
deleted:
  description: Rows deleted (in check mode, that would be) per table kind - C(queue), C(logs), C(inbox).
  returned: always
  type: dict
  sample: {"queue": 1200, "logs": 3400, "inbox": 1150}
ids:
  description: Ids of those rows per table kind (at most O(max_ids) each).
  returned: always
  type: dict
ids_truncated:
  description: Whether some list in RV(ids) was cut at O(max_ids).
  returned: always
  type: bool
skipped_locked:
  description: Candidate ids held by another transaction and left alone, per table kind.
  returned: always
  type: dict
backup_file:
  description: The backup file this run wrote; null when it wrote none (check mode, nothing deleted).
  returned: always
  type: str
backed_up:
  description: Rows written to the backup file by this invocation.
  returned: always
  type: int
batches:
  description: Transactions committed.
  returned: always
  type: int
run_id:
  description: The O(run_id).
  returned: always
  type: str
actions:
  description:
    - One entry per phase run (C(cleanup_queue), C(cleanup_logs), C(cleanup_inbox)) - C(name), C(count), C(ids),
      C(skipped_locked), C(batches), C(condition) and C(change) in words, C(summary), C(refused).
  returned: always
  type: list
  elements: dict
rows:
  description:
    - In check mode and with C(--diff), the rows deleted (or that would be), at most O(max_ids) per phase -
      C(id), C(table), C(entity), C(before), C(after), C(at) (when the row finished, was logged or received).
  returned: in check mode or with --diff
  type: list
  elements: dict
missing_privileges:
  description: Check mode - per phase, the privileges the connected role lacks for the real run.
  returned: always
  type: list
  elements: str
'''

import socket

from ansible_collections.tsh.zoho_sync.plugins.module_utils import backup as bk
from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_queries as hq
from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_actions import CLEANUP
from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_run import HealRun, walk_argument_spec
from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import (
    MAX_LIMIT,
    build_module,
    check_range,
    check_run_id,
    fail,
)
from ansible_collections.tsh.zoho_sync.plugins.module_utils.paths import write_problem
from ansible_collections.tsh.zoho_sync.plugins.module_utils.walker import DeleteStep, KeysetSource

DOING = {
    "queue": ("deleting completed queue rows", "previewing the deletion of completed queue rows"),
    "logs": ("deleting old sync logs", "previewing the deletion of old sync logs"),
    "inbox": ("deleting unreferenced inbox events", "previewing the deletion of unreferenced inbox events"),
}
OPTIONS_IN_HEADER = ("completed_older_than_days", "inbox_older_than_days", "logs_older_than_days", "targets",
                     "limit", "batch_size")


class Backup(object):
    """The run's backup file, created when the first batch is about to be deleted."""

    def __init__(self, module, schema, database):
        self.module = module
        self.schema = schema
        self.database = database
        self.writer = None
        self.path = bk.backup_path(module.params["backup_dir"], module.params["run_id"])

    def __call__(self):
        if self.writer is None:
            p, s = self.module.params, self.schema
            header = {"run_id": p["run_id"], "created_at": bk.now_iso(), "host": socket.gethostname(),
                      "database": self.database, "schema": s.schema,
                      "tables": {"queue": s.queue_table, "logs": s.logs_table, "inbox": s.inbox_table},
                      "options": dict((k, p[k]) for k in OPTIONS_IN_HEADER)}
            self.writer = bk.BackupWriter(p["backup_dir"], p["run_id"], header)
        return self.writer

    def close(self):
        if self.writer is not None:
            self.writer.close()


def main():
    spec = walk_argument_spec(limit=10000, batch_size=500)
    spec.update(
        run_id=dict(type="str", required=True),
        backup_dir=dict(type="path", required=True),
        confirm=dict(type="bool", default=False),
        targets=dict(type="list", elements="str", choices=["queue", "logs", "inbox"],
                     default=["queue", "logs", "inbox"]),
        completed_older_than_days=dict(type="int", default=30),
        inbox_older_than_days=dict(type="int", default=7),
        logs_older_than_days=dict(type="int", default=90),
        max_ids=dict(type="int", default=1000),
    )
    module = build_module(spec)
    p = module.params
    try:
        check_run_id(p["run_id"])
    except ValueError as exc:
        fail(module, str(exc))
    for name in ("completed_older_than_days", "inbox_older_than_days", "logs_older_than_days"):
        check_range(module, name, 1, 36500)
    check_range(module, "max_ids", 0, MAX_LIMIT)
    if not p["targets"]:
        fail(module, "targets must name at least one of queue, logs, inbox")
    if not module.check_mode and not p["confirm"]:
        fail(module, "zoho_cleanup deletes rows (after backing them up) and needs confirm=true "
                     "(zoho_heal_confirm=true in the playbooks); run in check mode to preview. Nothing was deleted.")
    backup_problem = None if module.check_mode else write_problem(p["backup_dir"], is_dir=True)
    if backup_problem:
        fail(module, "backup_dir %s cannot be written (or created): %s; nothing was deleted"
             % (p["backup_dir"], backup_problem))

    run = HealRun(module, related=True)
    schema = run.schema
    mapped = {"queue": True, "logs": schema.logs_table is not None, "inbox": schema.inbox_table is not None}
    targets = [t for t in ("queue", "logs", "inbox") if t in p["targets"]]
    phases = [(t, CLEANUP[t] if t != "queue" or mapped["logs"] else CLEANUP[t].without_dependents())
              for t in targets if mapped[t]]
    refusals = run.require([a for _t, a in phases], "the cleanup")
    args = run.params(queue_days=p["completed_older_than_days"], logs_days=p["logs_older_than_days"],
                      inbox_days=p["inbox_older_than_days"])
    backup = Backup(module, schema, run.database)
    tallies = {}
    ctx, gone_args = hq.APPLY, {}
    try:
        for target, action in phases:
            phase_args = dict(args, **gone_args)
            source = KeysetSource(action, schema, phase_args, run.keep_rows, ctx)
            tallies[target] = run.walk(action, phase_args, DOING[target], limit=p["limit"], source=source,
                                       step=DeleteStep(action, schema, args, backup), refusals=refusals,
                                       max_ids=p["max_ids"])
            if module.check_mode and target == "queue":
                # a preview deletes nothing: the later phases count the rows this phase would
                # delete as gone (for real, they are gone from the database)
                queue = tallies["queue"]
                boundary = None if queue.exhausted else queue.last_key
                ctx = hq.Context(hq.gone_predicate(action, schema, boundary))
                gone_args = {} if boundary is None else {"gone_k": boundary["_k"], "gone_id": boundary["_id"]}
    finally:
        backup.close()
    deleted = dict((k, tallies[k].count if k in tallies else 0) for k in ("queue", "logs", "inbox"))
    ids = dict((k, list(tallies[k].ids) if k in tallies else []) for k in ("queue", "logs", "inbox"))
    skipped = dict((k, list(tallies[k].skipped) if k in tallies else []) for k in ("queue", "logs", "inbox"))
    with_queue = tallies["queue"].dependents.get("logs") if "queue" in tallies else None
    if with_queue:
        deleted["logs"] += with_queue["count"]
        ids["logs"] = (with_queue["ids"] + ids["logs"])[:p["max_ids"]]
    written = backup.writer.path if backup.writer is not None else None
    backed_up = backup.writer.rows if backup.writer is not None else 0
    parts = [run.part(tallies[t]) for t, _a in phases]
    what = "%d queue row(s), %d sync log(s), %d inbox event(s)" % (deleted["queue"], deleted["logs"], deleted["inbox"])
    if module.check_mode:
        msg = "Would delete %s; a real run writes each batch to a backup file in %s before deleting it" % (
            what, p["backup_dir"])
    else:
        msg = "Deleted %s%s" % (what, "; backup in %s" % written if written else "")
    run.exit(parts, changed=bool(sum(deleted.values())) and not (module.check_mode and refusals),
             deleted=deleted, ids=ids,
             ids_truncated=any(deleted[k] > len(ids[k]) for k in ids),
             skipped_locked=skipped, backup_file=written, backed_up=backed_up,
             batches=sum(t.batches for t in tallies.values()), run_id=p["run_id"],
             skipped_targets=[t for t in targets if not mapped[t]],
             msg=msg)


if __name__ == "__main__":
    main()
