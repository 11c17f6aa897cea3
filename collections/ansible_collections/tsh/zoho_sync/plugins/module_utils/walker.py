# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one walker behind every write: the queue actions, cleanup and restore.

Live workers claim rows with a conditional UPDATE and no SKIP LOCKED, so a heal must
never hold a row a worker wants for long, and must never act on a row that changed
between selection and change. The walk:

1. selects the candidates once, in keyset order, up to the limit, through a server-side
   cursor: in a real run it is declared WITH HOLD and materialised by a commit before
   any row is locked, so the selection costs one statement (whatever the number of
   batches) and neither side holds more than a batch in memory;
2. per batch of ``batch_size`` candidates, one transaction: the step's statement locks
   those that still meet the condition with FOR UPDATE SKIP LOCKED (a row a worker or
   another heal holds is skipped, never waited for) and changes them with the condition
   repeated (heal_queries); a delete writes and fsyncs the backup before the commit;
3. when candidates were skipped or no longer matched, selects again after the last key
   until the limit is reached or nothing is left.

Check mode runs the same selection, with each row's after-state, in the read-only
transaction the session was opened with, and rolls it back: it reports exactly the rows
the same selection finds, with the same limit, and writes nothing.
"""

import itertools
import json

from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_queries as hq
from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import QueueDatabaseError, dict_cursor, psycopg2
from ansible_collections.tsh.zoho_sync.plugins.module_utils.preview import display_row

_CURSOR_NAMES = itertools.count(1)


def _first(row):
    return list(row.values())[0] if isinstance(row, dict) else row[0]


class BatchResult(object):
    """What one batch did (or would do)."""

    def __init__(self, rows, skipped=(), dependents=(), records=0, resolved=0, backed_up=0, existing=0):
        self.rows = rows
        self.skipped = list(skipped)
        self.dependents = list(dependents)
        self.records = records
        self.resolved = resolved
        self.backed_up = backed_up
        self.existing = existing


class Tally(object):
    """What a walk did (or would do) for one action: counts, ids (at most ``max_ids``),
    the diff rows (when ``keep_rows``, at most ``max_rows``), skipped ids."""

    def __init__(self, action, table, keep_rows=False, max_ids=None, max_rows=None):
        self.action = action
        self.table = table
        self.keep_rows = keep_rows
        self.max_ids = max_ids
        self.max_rows = max_rows
        self.count = 0
        self.ids = []
        self.rows = []
        self.skipped = []
        self.batches = 0
        self.records = 0
        self.resolved = 0
        self.backed_up = 0
        self.existing = 0
        self.dependents = {}
        self.last_key = None
        self.exhausted = True
        self.refused = None

    def _keep(self, store, values, cap):
        room = len(values) if cap is None else max(cap - len(store), 0)
        store.extend(values[:room])

    def add(self, result, committed):
        self.count += len(result.rows)
        self._keep(self.ids, [r["id"] for r in result.rows], self.max_ids)
        if self.keep_rows:
            self._keep(self.rows, [display_row(self.action, self.table, r) for r in result.rows], self.max_rows)
        self.skipped.extend(result.skipped)
        self.records += result.records
        self.resolved += result.resolved
        self.backed_up += result.backed_up
        self.existing += result.existing
        for row in result.dependents:
            dep = self.dependents.setdefault(row["_kind"], {"count": 0, "ids": [], "rows": []})
            dep["count"] += 1
            self._keep(dep["ids"], [row["id"]], self.max_ids)
            if self.keep_rows:
                self._keep(dep["rows"], [display_row(self.action, row["_kind"], row)], self.max_rows)
        if committed:
            self.batches += 1


# ---------------------------------------------------------------------------- sources
class Source(object):
    """Where a walk's candidates come from: ``open`` returns something with
    ``fetchmany(n)``; ``furthest`` is the row to continue after."""

    @staticmethod
    def close(cur):
        pass

    @staticmethod
    def furthest(after, batch):
        return batch[-1]


class KeysetSource(Source):
    """The candidates of an action on its table, in (order column, id) order."""

    def __init__(self, action, schema, args, detailed, ctx=hq.APPLY):
        self.action = action
        self.schema = schema
        self.args = args
        self.detailed = detailed
        self.ctx = ctx

    def open(self, conn, after, want, check_mode):
        cur = conn.cursor(name="zoho_walk_%d" % next(_CURSOR_NAMES), withhold=not check_mode,
                          cursor_factory=dict_cursor())
        args = dict(self.args, want=want)
        if after is not None:
            args.update(hq.after_args(after))
        cur.execute(hq.selection(self.action, self.schema, after is not None, self.detailed, self.ctx,
                                 heap_order=not check_mode), args)
        if not check_mode:
            # materialise the selection now, before any row is locked: the first batch's
            # commit must not be the one that computes the rest of the candidates
            conn.commit()
        return cur

    @staticmethod
    def close(cur):
        cur.close()

    @staticmethod
    def furthest(after, batch):
        """The row furthest in keyset order among ``after`` and ``batch`` (a real run takes
        the selected rows in heap order, not in keyset order)."""
        def key(row):
            return (row["_k"] is not None, row["_k"], row["_id"]) if row is not None else (False,)
        return max([after] + list(batch), key=key) if after is not None else max(batch, key=key)


class RecordSource(Source):
    """Rows of a backup file (restore): ``records`` is a list of row dicts with ``id``."""

    def __init__(self, records):
        self.records = records

    def open(self, conn, after, want, check_mode):
        start = 0 if after is None else after["_k"] + 1
        return _ListCursor(self.records[start:start + want])


class _ListCursor(object):
    def __init__(self, rows):
        self.rows = rows
        self.pos = 0

    def fetchmany(self, size):
        out = self.rows[self.pos:self.pos + size]
        self.pos += len(out)
        return out


# ------------------------------------------------------------------------------ steps
class UpdateStep(object):
    """Queue actions: one lock-and-update statement per batch (or a lock for the
    reconcile), then the dead-letter records, or the resolution of records."""

    def __init__(self, action, schema, args, detailed):
        self.action = action
        self.schema = schema
        self.args = args
        self.change = hq.lock_and_update(action, schema, detailed)
        self.records = hq.insert_records(schema, action.record) if action.record is not None else None
        self.resolve = hq.resolve_records(schema) if action.resolves else None
        self.recheck = hq.still_matching(action, schema)
        self.changes_rows = bool(hq.assigns_in_layout(action, schema))

    def preview(self, cur, batch):
        return BatchResult(batch)

    def apply(self, cur, batch):
        ids = tuple(r["id"] for r in batch)
        cur.execute(self.change, dict(self.args, batch=ids))
        rows = cur.fetchall()
        done = tuple(r["id"] for r in rows)
        records = resolved = 0
        if self.records is not None and done:
            cur.execute(self.records, dict(self.args, batch=done))
            created = set(_first(r) for r in cur.fetchall())
            records = len(created)
            if not self.changes_rows:
                # the reconcile changes nothing but the record: a row whose record another
                # session created first is not ours
                rows = [r for r in rows if r["id"] in created]
        if self.resolve is not None and done:
            cur.execute(self.resolve, dict(self.args, batch=done))
            resolved = cur.rowcount
        return BatchResult(rows, skipped=_held(cur, self.recheck, self.args, ids, rows), records=records,
                           resolved=resolved)


class DeleteStep(object):
    """Cleanup: one statement per batch locks, deletes the dependent rows and the rows;
    their images go to the backup file, fsync'd, before the caller commits."""

    def __init__(self, action, schema, args, backup):
        self.action = action
        self.schema = schema
        self.args = args
        self.backup = backup
        self.delete = hq.delete_batch(action, schema)
        self.recheck = hq.still_matching(action, schema)
        self.previews = [(dep, hq.dependents_preview(action, schema, dep)) for dep in action.dependents]
        self.batch_no = 0

    def preview(self, cur, batch):
        dependents = []
        for dep, query in self.previews:
            cur.execute(query, {"batch": tuple(r["id"] for r in batch)})
            dependents.extend(dict(r, _kind=dep) for r in cur.fetchall())
        return BatchResult(batch, dependents=dependents)

    def apply(self, cur, batch):
        ids = tuple(r["id"] for r in batch)
        cur.execute(self.delete, dict(self.args, batch=ids))
        out = cur.fetchall()
        locked = [r for r in out if r["_kind"] == "_locked"]
        own = [r for r in out if r["_kind"] == self.action.table]
        deps = [r for r in out if r["_kind"] in self.action.dependents]
        if len(own) != len(locked):
            raise QueueDatabaseError("%s rows changed under lock; the batch was rolled back and nothing of it "
                                     "deleted" % hq.table_name(self.schema, self.action.table))
        if own:
            self.batch_no += 1
            try:
                writer = self.backup()
                for kind in self.action.dependents:
                    writer.write(kind, hq.table_name(self.schema, kind), self.batch_no,
                                 [r.pop("_image") for r in deps if r["_kind"] == kind])
                writer.write(self.action.table, hq.table_name(self.schema, self.action.table), self.batch_no,
                             [r.pop("_image") for r in own])
                writer.sync()  # on disk before the DELETE commits
            except (IOError, OSError) as exc:
                raise QueueDatabaseError("Cannot write the backup file %s: %s; the batch was rolled back and "
                                         "nothing of it deleted" % (self.backup.path, exc))
        return BatchResult(own, skipped=_held(cur, self.recheck, self.args, ids, own), dependents=deps,
                           backed_up=len(own) + len(deps))


class InsertStep(object):
    """Restore: rows of the backup inserted as they were; rows that exist are left."""

    def __init__(self, schema, table):
        self.insert = hq.restore_insert(schema, table)
        self.existing = hq.existing_ids(schema, table)

    def preview(self, cur, batch):
        cur.execute(self.existing, {"ids": [r["id"] for r in batch]})
        present = set(_first(r) for r in cur.fetchall())
        rows = [r for r in batch if r["id"] not in present]
        return BatchResult(rows, existing=len(batch) - len(rows))

    def apply(self, cur, batch):
        cur.execute(self.insert, {"rows": json.dumps([r["image"] for r in batch])})
        inserted = set(_first(r) for r in cur.fetchall())
        rows = [r for r in batch if r["id"] in inserted]
        return BatchResult(rows, existing=len(batch) - len(rows))


def _rollback_quietly(conn):
    try:
        conn.rollback()
    except psycopg2.Error:  # the connection is gone; the server rolled the batch back
        pass


def _close_quietly(source, cur):
    try:
        source.close(cur)
    except psycopg2.Error:
        pass


def _held(cur, recheck, args, ids, done_rows):
    """Candidates of the batch left unchanged that still meet the condition: another
    transaction held them (a row that stopped matching is simply no longer a candidate)."""
    done = set(r["id"] for r in done_rows)
    missing = tuple(i for i in ids if i not in done)
    if not missing:
        return []
    cur.execute(recheck, dict(args, missing=missing))
    return [_first(r) for r in cur.fetchall()]


# ----------------------------------------------------------------------------- walker
class Walker(object):
    def __init__(self, conn, source, step, tally, limit, batch_size, check_mode):
        self.conn = conn
        self.source = source
        self.step = step
        self.tally = tally
        self.limit = limit
        self.batch_size = batch_size
        self.check_mode = check_mode

    def run(self):
        """Walks until the limit is reached or no candidate is left; returns the tally.
        A failing batch is rolled back (batches before it stay committed) and the error
        raised."""
        remaining, after = self.limit, None
        while remaining > 0:
            want, fetched = remaining, 0
            cur = self.source.open(self.conn, after, want, self.check_mode)
            try:
                while True:
                    batch = cur.fetchmany(self.batch_size)
                    if not batch:
                        break
                    fetched += len(batch)
                    after = self.source.furthest(after, batch)
                    remaining -= self._batch(batch)
            except BaseException:
                _close_quietly(self.source, cur)
                raise
            self.source.close(cur)
            if fetched < want:
                break
        self.tally.exhausted = remaining > 0
        self.tally.last_key = after
        if not self.check_mode:
            self.conn.rollback()  # ends the transaction the cursor's CLOSE opened
        return self.tally

    def _batch(self, batch):
        with self.conn.cursor(cursor_factory=dict_cursor()) as cur:
            if self.check_mode:
                result = self.step.preview(cur, batch)
            else:
                try:
                    result = self.step.apply(cur, batch)
                    self.conn.commit()
                except BaseException:
                    _rollback_quietly(self.conn)  # the error that ended the batch is the one to report
                    raise
        self.tally.add(result, committed=not self.check_mode)
        return len(result.rows)
