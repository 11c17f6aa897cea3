#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
  - In check mode it reports, from a read-only transaction, which rows would be restored (and each row with
    C(--diff)), and writes nothing.
author:
  - TSH operations team (@tsh-ops)
extends_documentation_fragment:
  - tsh.zoho_sync.connection
  - tsh.zoho_sync.queue_schema
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
      - How many ids per table RV(ids) lists.
    type: int
    default: 1000
notes:
  - Supports C(check_mode) and C(diff_mode).
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
'''

import json
import os

from ansible_collections.tsh.zoho_sync.plugins.module_utils import cleanup as cu
from ansible_collections.tsh.zoho_sync.plugins.module_utils.batches import DIFF_MAX_ROWS
from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import QueueDatabaseError, psycopg2
from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import (
    MAX_BATCH_SIZE,
    MAX_LIMIT,
    build_module,
    check_range,
    close_quietly,
    database_error_message,
    fail,
    open_session,
    resolve_schema,
)

try:
    from psycopg2 import sql
except ImportError:
    sql = None


def targets(schema):
    """kind -> (table name, identifier, id column identifier) in restore order."""
    out = []
    if schema.inbox_table:
        out.append(("inbox", schema.inbox_table, schema.inbox, schema.icol("id")))
    out.append(("queue", schema.queue_table, schema.queue, schema.col("id")))
    if schema.logs_table:
        out.append(("logs", schema.logs_table, schema.logs, schema.lcol("id")))
    return out


def check_tables(module, schema, headers, rows):
    known = dict((k, name) for k, name, _t, _i in targets(schema))
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


def existing_ids(cur, table, id_col, ids):
    found = set()
    ids = list(ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        cur.execute(sql.SQL("SELECT t.{i}::text FROM {t} t WHERE t.{i}::text = ANY(%(ids)s)").format(
            i=id_col, t=table), {"ids": chunk})
        found.update(r[0] for r in cur.fetchall())
    return found


def main():
    module = build_module(dict(
        run_id=dict(type="str", required=True),
        backup_dir=dict(type="path", required=True),
        batch_size=dict(type="int", default=500),
        max_ids=dict(type="int", default=1000),
    ))
    p = module.params
    try:
        path = cu.backup_path(p["backup_dir"], p["run_id"])
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
        headers, rows = cu.read_backup(path)
    except (IOError, OSError) as exc:
        fail(module, "Cannot read the backup %s: %s" % (path, exc))
    except ValueError as exc:
        fail(module, "Malformed backup, nothing restored: %s" % exc)
    schema = resolve_schema(module)
    check_tables(module, schema, headers, rows)
    conn = open_session(module, schema, read_only=module.check_mode)
    restored = dict((k, 0) for k in cu.KINDS)
    skipped = dict((k, 0) for k in cu.KINDS)
    ids = dict((k, []) for k in cu.KINDS)
    in_backup = dict((k, len(v)) for k, v in rows.items())
    other_database = dict((k, 0) for k in cu.KINDS)
    diff_after = {}
    batches = 0
    doing = "reading the catalog"
    try:
        schema.inspect_related(conn)
        with conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            database = cur.fetchone()[0]
        conn.rollback()
        for kind, name, table, id_col in targets(schema):
            records = rows.get(kind) or {}
            # a backup directory shared by several databases (one control node healing several hosts)
            # holds their rows under their own headers: restore only this database's
            for rid in [rid for rid, rec in records.items() if rec.get("database") not in (None, database)]:
                other_database[kind] += 1
                del records[rid]
            if not records:
                continue
            doing = "restoring %s" % name
            with conn.cursor() as cur:
                present = existing_ids(cur, table, id_col, records.keys())
                conn.rollback()
            todo = [rid for rid in records if rid not in present]
            skipped[kind] += len(present)
            if module.check_mode:
                done = todo
            else:
                done = []
                for start in range(0, len(todo), p["batch_size"]):
                    chunk = todo[start:start + p["batch_size"]]
                    images = [records[rid]["row"] for rid in chunk]
                    with conn.cursor() as cur:
                        cur.execute(sql.SQL(
                            "INSERT INTO {t} OVERRIDING SYSTEM VALUE "
                            "SELECT r.* FROM jsonb_populate_recordset(NULL::{t}, %(rows)s::jsonb) r "
                            "WHERE NOT EXISTS (SELECT 1 FROM {t} x WHERE x.{i} = r.{i}) "
                            "ON CONFLICT DO NOTHING RETURNING {i}::text").format(t=table, i=id_col),
                            {"rows": json.dumps(images)})
                        inserted = [r[0] for r in cur.fetchall()]
                    conn.commit()
                    batches += 1
                    skipped[kind] += len(chunk) - len(inserted)
                    done.extend(inserted)
            restored[kind] += len(done)
            ids[kind].extend(done[:max(p["max_ids"] - len(ids[kind]), 0)])
            if module._diff:
                for rid in done:
                    if len(diff_after) >= DIFF_MAX_ROWS:
                        break
                    diff_after["%s/%s" % (name, rid)] = " ".join(
                        "%s=%s" % (k, "null" if v is None else v) for k, v in records[rid]["row"].items()
                        if k != "id" and not isinstance(v, (dict, list)))
    except QueueDatabaseError as exc:
        close_quietly(conn)
        fail(module, str(exc), restored=restored)
    except psycopg2.Error as exc:
        close_quietly(conn)
        msg = database_error_message(module, exc, doing)
        if getattr(exc, "pgcode", None) == "23503":
            msg += " (a row's parent is neither in the database nor in the backup; this batch was rolled back)"
        fail(module, msg, restored=restored)
    close_quietly(conn)
    total = sum(restored.values())
    out = dict(changed=bool(total), restored=restored, skipped_existing=skipped, ids=ids, in_backup=in_backup,
               other_database=other_database,
               backup_file=path, batches=batches, run_id=p["run_id"],
               msg="%s %d inbox event(s), %d queue row(s), %d sync log(s) from %s; %d already present" % (
                   "Would restore" if module.check_mode else "Restored", restored["inbox"], restored["queue"],
                   restored["logs"], path, sum(skipped.values())))
    if module._diff:
        header = "%d row(s)%s" % (total, "" if total <= len(diff_after) else ", first %d shown" % len(diff_after))
        out["diff"] = {"before": {}, "after": diff_after, "before_header": "absent", "after_header": header}
    module.exit_json(**out)


if __name__ == "__main__":
    main()
