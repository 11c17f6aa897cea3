#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: zoho_restore
short_description: Put back the rows a Zoho sync cleanup run backed up and deleted
version_added: 0.1.0
description:
  - Reads the backup file C(<backup_dir>/<run_id>.jsonl) written by M(tsh.zoho_sync.zoho_cleanup) and re-inserts
    its rows exactly as they were (every column, every type, through C(jsonb_populate_recordset)), parents before
    children - inbox events, then queue rows, then sync logs - so the foreign keys hold.
  - Only the rows backed up from the database the module connects to are restored (a backup directory may be
    shared by several databases; each run's header names its database).
  - Rows that already exist (same id) are skipped, so a restore can be repeated, or run after a partial one.
  - Each batch of a table is its own transaction. A row that cannot go back (its inbox event neither in the
    database nor in the backup) fails the batch with one clear message; the batches before it stay restored
    and a second run continues.
  - The whole file is read and checked before anything is written; a malformed file changes nothing.
  - In check mode it reports, from a read-only transaction, which rows would be restored (every row in RV(rows), a
    table per table with C(--diff)), writes nothing, and says which privilege the real run would lack
    (RV(missing_privileges)); a real run lacking one fails before inserting anything.
  - It walks the backup's rows with the same walker as the heal and the cleanup (module_utils C(walker)).
author:
  - TSH operations team (@tsh-ops)
extends_documentation_fragment:
  - tsh.zoho_sync.connection
  - tsh.zoho_sync.queue_schema
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
      - The run whose backup to restore (the heal run id the cleanup ran under).
    type: str
    required: true
  backup_dir:
    description:
      - Directory holding the backup files (on the host running the module).
    type: path
    required: true
  batch_size:
    description:
      - Rows per transaction.
    type: int
    default: 500
  max_ids:
    description:
      - How many ids per table RV(ids) lists, and rows per table RV(rows) lists.
    type: int
    default: 1000
notes:
  - Pass the same O(queue_schema) as the cleanup did; the tables named in the backup must match it.
  - Needs SELECT and INSERT on the queue, sync log and inbox tables.
seealso:
  - module: tsh.zoho_sync.zoho_cleanup
'''

EXAMPLES = r'''
- name: Preview the restore of a cleanup
  tsh.zoho_sync.zoho_restore:
    login_db: tsh_erp
    run_id: 20260130T101500Z-4f2a
    backup_dir: /var/lib/tsh-zoho-sync/backups
  check_mode: true

- name: Restore it
  tsh.zoho_sync.zoho_restore:
    login_db: tsh_erp
    run_id: 20260130T101500Z-4f2a
    backup_dir: /var/lib/tsh-zoho-sync/backups
'''

RETURN = r'''
restored:
  description: Rows inserted (in check mode, that would be) per table kind - C(inbox), C(queue), C(logs).
  returned: always
  type: dict
  sample: {"inbox": 10, "queue": 10, "logs": 25}
skipped_existing:
  description: Rows of the backup already present (left as they are), per table kind.
  returned: always
  type: dict
ids:
  description: Ids restored (or that would be) per table kind, at most O(max_ids) each.
  returned: always
  type: dict
in_backup:
  description: Rows in the backup file per table kind.
  returned: always
  type: dict
other_database:
  description: Rows of the file that belong to another database (by the header they follow) and were left out.
  returned: always
  type: dict
backup_file:
  description: The file read.
  returned: always
  type: str
batches:
  description: Transactions committed.
  returned: always
  type: int
actions:
  description: One entry per table restored (C(restore_inbox), C(restore_queue), C(restore_logs)), as in
    M(tsh.zoho_sync.zoho_cleanup).
  returned: always
  type: list
  elements: dict
rows:
  description: In check mode and with C(--diff), the rows restored (or that would be), at most O(max_ids) per table.
  returned: in check mode or with --diff
  type: list
  elements: dict
missing_privileges:
  description: Check mode - per table, the privileges the connected role lacks for the real run.
  returned: always
  type: list
  elements: str
'''

import os

from ansible_collections.tsh.zoho_sync.plugins.module_utils import backup as bk
from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_actions import restore
from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_run import HealRun, rows_argument_spec
from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import (
    MAX_BATCH_SIZE,
    MAX_LIMIT,
    build_module,
    check_range,
    fail,
)
from ansible_collections.tsh.zoho_sync.plugins.module_utils.walker import InsertStep, RecordSource


def tables(schema):
    """kind -> table name, in restore order (parents before children)."""
    out = [("inbox", schema.inbox_table), ("queue", schema.queue_table), ("logs", schema.logs_table)]
    return [(kind, name) for kind, name in out if name]


def check_tables(module, schema, headers, rows):
    known = dict(tables(schema))
    for header in headers:
        if header.get("schema") not in (None, schema.schema):
            fail(module, "The backup was taken from schema %r, the queue_schema mapping says %r; pass the mapping "
                         "the cleanup used" % (header.get("schema"), schema.schema))
        for kind, name in (header.get("tables") or {}).items():
            if name and kind in known and known[kind] != name:
                fail(module, "The backup holds %s rows of table %r, the queue_schema mapping says %r; pass the "
                             "mapping the cleanup used" % (kind, name, known[kind]))
    for kind, records in rows.items():
        if records and kind not in known:
            fail(module, "The backup holds %d %s row(s) but queue_schema maps no %s table" % (
                len(records), kind, kind))


def shown(schema, kind, image):
    """What the diff shows of a backed-up row, read from its image."""
    if kind == "queue":
        return {"entity": image.get(schema.qcols["entity_type"]), "status": image.get(schema.qcols["status"]),
                "at": image.get(schema.qcols["created_at"])}
    if kind == "logs":
        return {"queue_row": image.get(schema.lcols["queue_fk"]), "at": image.get(schema.lcols["timestamp"])}
    return {"at": image.get(schema.icols["received_at"])}


def main():
    module = build_module(dict(
        run_id=dict(type="str", required=True),
        backup_dir=dict(type="path", required=True),
        batch_size=dict(type="int", default=500),
        max_ids=dict(type="int", default=1000),
        **rows_argument_spec()
    ))
    p = module.params
    try:
        path = bk.backup_path(p["backup_dir"], p["run_id"])
    except ValueError as exc:
        fail(module, str(exc))
    check_range(module, "batch_size", 1, MAX_BATCH_SIZE)
    check_range(module, "max_ids", 0, MAX_LIMIT)
    if not os.path.isfile(path):
        available = []
        if os.path.isdir(p["backup_dir"]):
            available = sorted(f[:-6] for f in os.listdir(p["backup_dir"]) if f.endswith(".jsonl"))[-10:]
        fail(module, "No backup for run %s: %s does not exist%s" % (
            p["run_id"], path, "; backups there: %s" % ", ".join(available) if available else ""))
    try:
        headers, rows = bk.read_backup(path)
    except (IOError, OSError) as exc:
        fail(module, "Cannot read the backup %s: %s" % (path, exc))
    except ValueError as exc:
        fail(module, "Malformed backup, nothing restored: %s" % exc)
    run = HealRun(module, related=True)
    schema = run.schema
    check_tables(module, schema, headers, rows)
    in_backup = dict((k, len(v)) for k, v in rows.items())
    other_database = dict((k, 0) for k in bk.KINDS)
    todo = []
    for kind, _name in tables(schema):
        # a backup directory shared by several databases (one control node healing several
        # hosts) holds their rows under their own headers: restore only this database's
        records = []
        for rid, rec in (rows.get(kind) or {}).items():
            if rec.get("database") not in (None, run.database):
                other_database[kind] += 1
                continue
            records.append({"id": rid, "_k": len(records), "image": rec["row"],
                            "shown": shown(schema, kind, rec["row"])})
        if records:
            todo.append((kind, restore(kind), records))
    refusals = run.require([action for _k, action, _r in todo], "the restore")
    tallies = {}
    for kind, action, records in todo:
        table = dict(tables(schema))[kind]
        tallies[kind] = run.walk(action, {}, ("restoring %s" % table, "previewing the restore of %s" % table),
                                 limit=len(records), source=RecordSource(records), step=InsertStep(schema, kind),
                                 refusals=refusals, max_ids=p["max_ids"])
    restored = dict((k, tallies[k].count if k in tallies else 0) for k in bk.KINDS)
    skipped = dict((k, tallies[k].existing if k in tallies else 0) for k in bk.KINDS)
    ids = dict((k, list(tallies[k].ids) if k in tallies else []) for k in bk.KINDS)
    parts = [run.part(tallies[k]) for k, _a, _r in todo]
    run.exit(parts, changed=bool(sum(restored.values())) and not (module.check_mode and refusals),
             restored=restored, skipped_existing=skipped, ids=ids, in_backup=in_backup,
             other_database=other_database, backup_file=path, batches=sum(t.batches for t in tallies.values()),
             run_id=p["run_id"],
             msg="%s %d inbox event(s), %d queue row(s), %d sync log(s) from %s; %d already present" % (
                 "Would restore" if module.check_mode else "Restored", restored["inbox"], restored["queue"],
                 restored["logs"], path, sum(skipped.values())))


if __name__ == "__main__":
    main()
