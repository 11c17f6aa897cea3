#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
    deleted (counts and ids, and each row with C(--diff)) from a read-only transaction, and writes nothing.
  - Candidates are locked with C(FOR UPDATE SKIP LOCKED) and every condition is repeated when locking, so a row a
    worker or another session holds or changes is left alone (RV(skipped_locked)).
author:
  - TSH operations team (@tsh-ops)
extends_documentation_fragment:
  - tsh.zoho_sync.connection
  - tsh.zoho_sync.queue_schema
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
    description:
      - At most this many rows per phase and run (the sync logs deleted with their queue rows are not counted).
    type: int
    default: 10000
  batch_size:
    description:
      - Rows per transaction.
    type: int
    default: 500
  max_ids:
    description:
      - How many ids per table RV(ids) lists (the counts are always complete).
    type: int
    default: 1000
notes:
  - Supports C(check_mode) and C(diff_mode).
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
  description: The backup file (in check mode, the file a real run would write).
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
'''

import socket

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
from ansible_collections.tsh.zoho_sync.plugins.module_utils.paths import write_problem

try:
    from psycopg2 import sql
except ImportError:
    sql = None


class Cleanup:
    def __init__(self, module, schema, conn):
        self.module = module
        self.p = module.params
        self.schema = schema
        self.conn = conn
        self.check = module.check_mode
        self.writer = None
        self.deleted = {"queue": 0, "logs": 0, "inbox": 0}
        self.ids = {"queue": [], "logs": [], "inbox": []}
        self.skipped = {"queue": [], "logs": [], "inbox": []}
        self.batches = 0
        self.diff_before = {}
        self.gone_queue_ids = []  # check mode: queue rows the preview would delete (frees their inbox events and logs)

    # -- bookkeeping ---------------------------------------------------------
    def _note(self, kind, table_name, rows):
        for row in rows:
            self.deleted[kind] += 1
            if len(self.ids[kind]) < self.p["max_ids"]:
                self.ids[kind].append(row["id"])
            if self.module._diff and len(self.diff_before) < DIFF_MAX_ROWS:
                self.diff_before["%s/%s" % (table_name, row["id"])] = " ".join(
                    "%s=%s" % (k, "null" if v is None else cu.jsonable(v)) for k, v in row.items() if k != "id")

    def _writer(self):
        if self.writer is None:
            s = self.schema
            header = {"run_id": self.p["run_id"], "created_at": cu.now_iso(), "host": socket.gethostname(),
                      "database": self.database, "schema": s.schema, "tables": {
                          "queue": s.queue_table, "logs": s.logs_table, "inbox": s.inbox_table},
                      "options": dict((k, self.p[k]) for k in (
                          "completed_older_than_days", "inbox_older_than_days", "logs_older_than_days", "targets",
                          "limit", "batch_size"))}
            self.writer = cu.BackupWriter(self.p["backup_dir"], self.p["run_id"], header)
        return self.writer

    # -- phases ----------------------------------------------------------------
    def queue_phase(self):
        s = self.schema
        where = sql.SQL(" AND ").join([
            sql.SQL("{} = 'completed'").format(s.col("status", "t")),
            sql.SQL("{} < now() - make_interval(days => %(queue_days)s)").format(s.finished_at_expr("t")),
            sql.SQL("{} < now() - make_interval(days => %(queue_days)s)").format(s.col("created_at", "t")),
            sql.SQL("NOT EXISTS (SELECT 1 FROM {dlq} d WHERE {ref} = {tid})").format(
                dlq=s.dlq, ref=s.dcol("sync_queue_id", "d"), tid=s.col("id", "t")),
            s.not_live_lease_expr("t"),
        ])
        summary = [("entity_type", sql.SQL("{}::text").format(s.col("entity_type", "t"))),
                   ("source_entity_id", s.col("source_entity_id", "t")),
                   ("status", sql.SQL("{}::text").format(s.col("status", "t"))),
                   ("created_at", s.col("created_at", "t")),
                   ("finished_at", s.finished_at_expr("t"))]
        phase = cu.Phase("queue", s.queue_table, s.queue, sql.Identifier(s.qcols["id"]),
                         sql.Identifier(s.qcols["created_at"]), where, {"queue_days": self.p["completed_older_than_days"]},
                         summary)
        has_logs = s.logs_table is not None

        def on_check(cur, ids):
            if has_logs:
                cur.execute(sql.SQL(
                    "SELECT l.{i}::text AS id, l.{fk}::text AS {fkname}, l.{ts} AS {tsname} FROM {logs} l "
                    "WHERE l.{fk} IN %(ids)s ORDER BY l.{i}").format(
                    i=s.lcol("id"), fk=s.lcol("queue_fk"), ts=s.lcol("timestamp"), logs=s.logs,
                    fkname=sql.Identifier(s.lcols["queue_fk"]), tsname=sql.Identifier(s.lcols["timestamp"])),
                    {"ids": tuple(ids)})
                self._note("logs", s.logs_table, cur.fetchall())

        def on_batch(cur, batch, ids):
            log_images, log_ids = [], []
            if has_logs:
                cur.execute(sql.SQL(
                    "SELECT l.{i}::text AS id, l.{fk}::text AS {fkname}, l.{ts} AS {tsname}, to_jsonb(l)::text AS image "
                    "FROM {logs} l WHERE l.{fk} IN %(ids)s ORDER BY l.{i} FOR UPDATE").format(
                    i=s.lcol("id"), fk=s.lcol("queue_fk"), ts=s.lcol("timestamp"), logs=s.logs,
                    fkname=sql.Identifier(s.lcols["queue_fk"]), tsname=sql.Identifier(s.lcols["timestamp"])),
                    {"ids": tuple(ids)})
                log_rows = cur.fetchall()
                log_images = [r.pop("image") for r in log_rows]
                log_ids = [r["id"] for r in log_rows]
            images = cu.fetch_images(cur, s.queue, s.col("id"), ids)
            writer = self._writer()
            writer.write("logs", s.logs_table, batch, log_images)
            writer.write("queue", s.queue_table, batch, images)
            writer.sync()  # on disk before anything is deleted
            if log_ids:
                cur.execute(sql.SQL("DELETE FROM {logs} l WHERE l.{i} IN %(ids)s").format(
                    logs=s.logs, i=s.lcol("id")), {"ids": tuple(log_ids)})
                if cur.rowcount != len(log_ids):
                    raise QueueDatabaseError("sync logs changed under lock; batch rolled back")
                self._note("logs", s.logs_table, log_rows)
            cur.execute(sql.SQL("DELETE FROM {q} t WHERE t.{i} IN %(ids)s AND ({where})").format(
                q=s.queue, i=s.col("id"), where=where), dict(phase.args, ids=tuple(ids)))
            if cur.rowcount != len(ids):
                raise QueueDatabaseError("queue rows changed under lock; batch rolled back")
            self.batches += 1
            return cur.rowcount

        def on_rows(rows):
            self._note("queue", s.queue_table, rows)
            if self.check:
                # a preview deletes nothing: the later phases must not count these rows' logs
                # and inbox events again (for real, the rows are gone from the database)
                self.gone_queue_ids.extend(r["id"] for r in rows)

        self.skipped["queue"] = self._walk(phase, on_batch, on_check, on_rows, "deleting completed queue rows")

    def logs_phase(self):
        s = self.schema
        dead = sql.SQL("EXISTS (SELECT 1 FROM {q} q WHERE {qid} = t.{fk} AND {status} = 'dead_letter')").format(
            q=s.queue, qid=s.col("id", "q"), fk=s.lcol("queue_fk"), status=s.col("status", "q"))
        recorded = sql.SQL("EXISTS (SELECT 1 FROM {dlq} d WHERE {ref} = t.{fk})").format(
            dlq=s.dlq, ref=s.dcol("sync_queue_id", "d"), fk=s.lcol("queue_fk"))
        where = sql.SQL(" AND ").join([
            sql.SQL("t.{} < now() - make_interval(days => %(logs_days)s)").format(s.lcol("timestamp")),
            sql.SQL("t.{}::text <> ALL(%(gone)s::text[])").format(s.lcol("queue_fk")),
            sql.SQL("NOT {}").format(dead),
            sql.SQL("NOT {}").format(recorded),
        ])
        summary = [(s.lcols["queue_fk"], sql.SQL("t.{}::text").format(s.lcol("queue_fk"))),
                   (s.lcols["timestamp"], sql.SQL("t.{}").format(s.lcol("timestamp")))]
        phase = cu.Phase("logs", s.logs_table, s.logs, s.lcol("id"), s.lcol("timestamp"), where,
                         {"logs_days": self.p["logs_older_than_days"], "gone": list(self.gone_queue_ids)}, summary)

        self.skipped["logs"] = self._walk(phase, self._backup_and_delete(phase, "sync logs"), None,
                                          lambda rows: self._note("logs", s.logs_table, rows), "deleting old sync logs")

    def inbox_phase(self):
        s = self.schema
        where = sql.SQL(" AND ").join([
            sql.SQL("t.{} < now() - make_interval(days => %(inbox_days)s)").format(s.icol("received_at")),
            sql.SQL("NOT EXISTS (SELECT 1 FROM {q} q WHERE q.{fk} = t.{i} AND {qid}::text <> ALL(%(gone)s::text[]))"
                    ).format(q=s.queue, fk=s.icol("queue_fk"), i=s.icol("id"), qid=s.col("id", "q")),
        ])
        summary = [(s.icols["received_at"], sql.SQL("t.{}").format(s.icol("received_at")))]
        phase = cu.Phase("inbox", s.inbox_table, s.inbox, s.icol("id"), s.icol("received_at"), where,
                         {"inbox_days": self.p["inbox_older_than_days"], "gone": list(self.gone_queue_ids)}, summary)

        self.skipped["inbox"] = self._walk(phase, self._backup_and_delete(phase, "inbox events"), None,
                                           lambda rows: self._note("inbox", s.inbox_table, rows),
                                           "deleting unreferenced inbox events")

    def _backup_and_delete(self, phase, what):
        """The batch step of a table without dependants: back the locked rows up (fsync'd),
        then delete them with the phase's conditions repeated."""
        def on_batch(cur, batch, ids):
            images = cu.fetch_images(cur, phase.table, phase.id_col, ids)
            writer = self._writer()
            writer.write(phase.kind, phase.table_name, batch, images)
            writer.sync()
            cur.execute(sql.SQL("DELETE FROM {table} t WHERE t.{i} IN %(ids)s AND ({where})").format(
                table=phase.table, i=phase.id_col, where=phase.where), dict(phase.args, ids=tuple(ids)))
            if cur.rowcount != len(ids):
                raise QueueDatabaseError("%s changed under lock; batch rolled back" % what)
            self.batches += 1
            return cur.rowcount
        return on_batch

    def _walk(self, phase, on_batch, on_check, on_rows, doing):
        """Walks one phase; returns the ids it skipped because another session held them."""
        walker = cu.TableWalker(self.conn, phase, self.p["batch_size"], self.p["limit"], self.check)
        try:
            skipped, _batches = walker.run(on_batch, on_check, on_rows)
        except QueueDatabaseError as exc:
            self.fail(str(exc))
        except psycopg2.Error as exc:
            msg = database_error_message(self.module, exc, doing)
            if getattr(exc, "pgcode", None) == "23503":
                msg += " (another table references these rows: the batch was rolled back and nothing of it deleted)"
            self.fail(msg)
        except (IOError, OSError) as exc:
            self.fail("Cannot write the backup file %s: %s; the batch was rolled back and nothing of it deleted"
                      % (cu.backup_path(self.p["backup_dir"], self.p["run_id"]), exc))
        return skipped

    def fail(self, msg):
        close_quietly(self.conn)
        if self.writer is not None:
            try:
                self.writer.close()
            except (IOError, OSError):
                pass
        fail(self.module, msg, deleted=self.deleted, backup_file=cu.backup_path(self.p["backup_dir"], self.p["run_id"]))


def main():
    module = build_module(dict(
        run_id=dict(type="str", required=True),
        backup_dir=dict(type="path", required=True),
        confirm=dict(type="bool", default=False),
        targets=dict(type="list", elements="str", choices=["queue", "logs", "inbox"],
                     default=["queue", "logs", "inbox"]),
        completed_older_than_days=dict(type="int", default=30),
        inbox_older_than_days=dict(type="int", default=7),
        logs_older_than_days=dict(type="int", default=90),
        limit=dict(type="int", default=10000),
        batch_size=dict(type="int", default=500),
        max_ids=dict(type="int", default=1000),
    ))
    p = module.params
    try:
        cu.check_run_id(p["run_id"])
    except ValueError as exc:
        fail(module, str(exc))
    for name in ("completed_older_than_days", "inbox_older_than_days", "logs_older_than_days"):
        check_range(module, name, 1, 36500)
    check_range(module, "limit", 1, MAX_LIMIT)
    check_range(module, "batch_size", 1, MAX_BATCH_SIZE)
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
    schema = resolve_schema(module)
    conn = open_session(module, schema, read_only=module.check_mode)
    try:
        schema.inspect_related(conn)
        with conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            database = cur.fetchone()[0]
        conn.rollback()
    except QueueDatabaseError as exc:
        close_quietly(conn)
        fail(module, str(exc))
    except psycopg2.Error as exc:
        close_quietly(conn)
        fail(module, database_error_message(module, exc, "reading the catalog"))

    run = Cleanup(module, schema, conn)
    run.database = database
    targets = p["targets"]
    skipped_targets = []
    if "queue" in targets:
        run.queue_phase()
    if "logs" in targets:
        if schema.logs_table is None:
            skipped_targets.append("logs")
        else:
            run.logs_phase()
    if "inbox" in targets:
        if schema.inbox_table is None:
            skipped_targets.append("inbox")
        else:
            run.inbox_phase()
    close_quietly(conn)
    backed_up = 0
    if run.writer is not None:
        backed_up = run.writer.rows
        run.writer.close()
    total = sum(run.deleted.values())
    out = dict(
        changed=bool(total),
        deleted=run.deleted, ids=run.ids,
        ids_truncated=any(run.deleted[k] > len(run.ids[k]) for k in run.ids),
        skipped_locked=run.skipped, backup_file=cu.backup_path(p["backup_dir"], p["run_id"]),
        backed_up=backed_up, batches=run.batches, run_id=p["run_id"], skipped_targets=skipped_targets,
        msg="%s %d queue row(s), %d sync log(s), %d inbox event(s)%s" % (
            "Would delete" if module.check_mode else "Deleted", run.deleted["queue"], run.deleted["logs"],
            run.deleted["inbox"], "" if module.check_mode or not backed_up else
            "; backup in %s" % cu.backup_path(p["backup_dir"], p["run_id"])))
    if module._diff:
        header = "%d row(s)%s" % (total, "" if total <= len(run.diff_before) else
                                  ", first %d shown" % len(run.diff_before))
        out["diff"] = {"before": run.diff_before, "after": {}, "before_header": header,
                       "after_header": "deleted (backed up to %s)" % out["backup_file"]}
    module.exit_json(**out)


if __name__ == "__main__":
    main()
