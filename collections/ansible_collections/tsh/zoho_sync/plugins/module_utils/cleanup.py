# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cleanup and restore: backups, deletes in bounded batches, and the way back.

A cleanup run walks three *phases* (completed queue rows with their sync logs, old
sync logs, unreferenced inbox events). Each phase walks its table the way
batches.BatchWalker walks the queue - keyset order, candidates locked with
FOR UPDATE SKIP LOCKED with every condition repeated, each batch its own transaction -
and inside each batch, before the DELETE commits, every row it deletes is appended
to the run's backup file (JSON lines: one ``to_jsonb`` image per row) and fsync'd.
So a crash at any point leaves either rows still in the database, or rows in the
backup, or both - never neither. Restore re-inserts them with
``jsonb_populate_recordset`` (exact round trip of every type) and skips rows that
exist, so it can be run twice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import re

from ansible_collections.tsh.zoho_sync.plugins.module_utils.paths import fsync_dir

try:
    from psycopg2 import sql
except ImportError:
    sql = None

BACKUP_FORMAT = "tsh.zoho_sync.backup/1"
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,38}$")
# restore order: parents before children
KINDS = ("inbox", "queue", "logs")


def check_run_id(run_id):
    if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id):
        raise ValueError("run_id must be 1-39 letters, digits, '.', '_', ':' or '-' starting with a letter or "
                         "digit, got %r" % (str(run_id)[:80],))
    return run_id


def backup_path(backup_dir, run_id):
    return os.path.join(backup_dir, "%s.jsonl" % check_run_id(run_id))


class BackupWriter:
    """Appends rows to ``<backup_dir>/<run_id>.jsonl`` (mode 0600); every batch is
    flushed and fsync'd before the caller commits its DELETE."""

    def __init__(self, backup_dir, run_id, header):
        self.path = backup_path(backup_dir, run_id)
        if not os.path.isdir(backup_dir):
            os.makedirs(backup_dir, 0o700)
            fsync_dir(os.path.dirname(os.path.abspath(backup_dir)))
        created = not os.path.exists(self.path)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.fh = os.fdopen(fd, "a", encoding="utf-8")
        if created:
            fsync_dir(backup_dir)
        self.rows = 0
        header = dict(header, kind="header", format=BACKUP_FORMAT)
        self.fh.write(json.dumps(header, sort_keys=True, default=str) + "\n")
        self.sync()

    def write(self, kind, table, batch, row_texts):
        prefix = '{"kind": %s, "table": %s, "batch": %d, "row": ' % (json.dumps(kind), json.dumps(table), batch)
        for text in row_texts:
            self.fh.write(prefix + text + "}\n")
        self.rows += len(row_texts)

    def sync(self):
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self):
        if self.fh is not None and not self.fh.closed:
            self.sync()
            self.fh.close()


def read_backup(path):
    """Headers and rows of a backup file, rows deduplicated per (kind, id); raises
    ValueError with the line number on anything malformed."""
    headers = []
    rows = dict((k, {}) for k in KINDS)
    with open(path, "r", encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                if number > 1 and not line.endswith("\n"):
                    # the last line of a run killed while writing: its batch never committed
                    continue
                raise ValueError("%s line %d is not valid JSON" % (path, number))
            if not isinstance(record, dict) or "kind" not in record:
                raise ValueError("%s line %d is not a backup record" % (path, number))
            if record["kind"] == "header":
                if record.get("format") != BACKUP_FORMAT:
                    raise ValueError("%s line %d: unknown backup format %r" % (path, number, record.get("format")))
                headers.append(record)
                continue
            if record["kind"] not in rows or not isinstance(record.get("row"), dict) or "id" not in record["row"]:
                raise ValueError("%s line %d is not a backup row" % (path, number))
            if not headers:
                raise ValueError("%s line %d: a row before any backup header" % (path, number))
            # rows belong to the database named by the header before them
            record["database"] = headers[-1].get("database")
            rows[record["kind"]][str(record["row"]["id"])] = record
    if not headers:
        raise ValueError("%s has no backup header: not a backup of tsh.zoho_sync" % path)
    return headers, rows


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


class Phase:
    """One table to clean: where its rows qualify (alias ``t``), how they are ordered,
    what the diff shows of each, and what goes with each batch."""

    def __init__(self, kind, table_name, table, id_col, order_col, where, args, summary):
        self.kind = kind
        self.table_name = table_name
        self.table = table
        self.id_col = id_col
        self.order_col = order_col
        self.where = where
        self.args = args
        self.summary = summary  # list of (label, expression on alias t)


class TableWalker:
    """Candidates in (order, id) keyset order; check mode reads only."""

    def __init__(self, conn, phase, batch_size, limit, check_mode):
        self.conn = conn
        self.phase = phase
        self.batch_size = batch_size
        self.limit = limit
        self.check_mode = check_mode

    def _select(self):
        ph = self.phase
        cols = [sql.SQL("t.{}::text AS id").format(ph.id_col), sql.SQL("t.{} AS _order").format(ph.order_col)]
        for label, expr in ph.summary:
            cols.append(sql.SQL("{} AS {}").format(expr, sql.Identifier(label)))
        return sql.SQL(", ").join(cols)

    def candidates(self, cur, after, size):
        ph = self.phase
        args = dict(ph.args, size=size)
        keyset = sql.SQL("true")
        if after is not None:
            keyset = sql.SQL("(t.{o}, t.{i}) > (%(after_order)s, %(after_id)s)").format(o=ph.order_col, i=ph.id_col)
            args.update(after_order=after[0], after_id=after[1])
        cur.execute(sql.SQL(
            "SELECT {sel} FROM {table} t WHERE ({where}) AND {keyset} ORDER BY t.{o}, t.{i} LIMIT %(size)s").format(
            sel=self._select(), table=ph.table, where=ph.where, keyset=keyset, o=ph.order_col, i=ph.id_col), args)
        return cur.fetchall()

    def lock(self, cur, ids):
        ph = self.phase
        cur.execute(sql.SQL(
            "SELECT t.{i}::text FROM {table} t WHERE t.{i} IN %(ids)s AND ({where}) ORDER BY t.{i} "
            "FOR UPDATE SKIP LOCKED").format(i=ph.id_col, table=ph.table, where=ph.where),
            dict(ph.args, ids=tuple(ids)))
        return [_first(r) for r in cur.fetchall()]

    def run(self, on_batch, on_check=None, on_rows=None):
        """``on_batch(cur, batch_no, locked_ids)`` deletes (after backing up) and
        returns how many rows of this phase it deleted; ``on_check(cur, ids)`` sees
        each check-mode batch; ``on_rows(rows)`` gets the summaries of each batch's rows
        deleted (or that would be), so a run of a million rows never holds them all.
        Returns (skipped_locked, batches)."""
        done, after, batches = 0, None, 0
        skipped = []
        on_rows = on_rows or (lambda rows: None)
        try:
            while done < self.limit:
                size = min(self.batch_size, self.limit - done)
                with self.conn.cursor(cursor_factory=_dict_cursor()) as cur:
                    found = self.candidates(cur, after, size)
                    if not found:
                        self.conn.rollback()
                        break
                    after = (found[-1]["_order"], found[-1]["id"])
                    for row in found:
                        row.pop("_order")
                    if self.check_mode:
                        if on_check is not None:
                            on_check(cur, [r["id"] for r in found])
                        on_rows(found)
                        done += len(found)
                        self.conn.rollback()
                        if len(found) < size:
                            break
                        continue
                    locked = set(self.lock(cur, [r["id"] for r in found]))
                    skipped.extend(r["id"] for r in found if r["id"] not in locked)
                    if locked:
                        batches += 1
                        deleted = on_batch(cur, batches, sorted(locked))
                    else:
                        deleted = 0
                    self.conn.commit()
                    on_rows([r for r in found if r["id"] in locked])
                    done += deleted
                    if len(found) < size:
                        break
        finally:
            if self.check_mode:
                self.conn.rollback()
        return skipped, batches


def _dict_cursor():
    import psycopg2.extras
    return psycopg2.extras.RealDictCursor


def jsonable(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def fetch_images(cur, table, id_col, ids, lock=False):
    """``to_jsonb`` text of each row (the backup image), in id order."""
    cur.execute(sql.SQL("SELECT to_jsonb(t)::text FROM {table} t WHERE t.{i} IN %(ids)s ORDER BY t.{i}{lock}").format(
        table=table, i=id_col, lock=sql.SQL(" FOR UPDATE") if lock else sql.SQL("")), {"ids": tuple(ids)})
    return [_first(r) for r in cur.fetchall()]


def _first(row):
    return list(row.values())[0] if isinstance(row, dict) else row[0]
