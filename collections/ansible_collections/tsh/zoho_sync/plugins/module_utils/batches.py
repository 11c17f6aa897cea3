# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How every heal write walks the queue: small batches, each its own transaction.

Live workers claim rows with a conditional UPDATE and no SKIP LOCKED, so a heal must
never hold a row a worker wants for long, and must never act on a row that changed
between selection and update. The walk:

1. reads the next chunk of candidate ids in (created_at, id) order, without locking
   (one query for many batches: the selection is the costly part at 10M rows, see
   docs/performance.md);
2. per batch of that chunk, locks those that still match with FOR UPDATE SKIP LOCKED
   (a row a worker or another heal holds is skipped, never waited for) and notes the
   skipped ones;
3. applies the change with an UPDATE that repeats every condition, in the same
   transaction as any dead-letter insert, then commits.

Check mode runs step 1 alone, in a read-only transaction that is rolled back, and
reports exactly the rows the same selection finds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from psycopg2 import sql
    import psycopg2.extras
except ImportError:
    sql = None

# Diff output lists at most this many rows; the ids list is always complete.
DIFF_MAX_ROWS = 200
# Candidates read per selection query (step 1); batches are cut from them.
CANDIDATE_CHUNK = 10000


class BatchResult:
    def __init__(self):
        self.ids = []
        self.skipped_locked = []
        self.before = {}
        self.after = {}
        self.batches = 0

    def add_rows(self, before_rows, after_rows, keep_diff):
        for row in after_rows:
            self.ids.append(str(row["id"]))
        if keep_diff:
            for row in before_rows:
                if len(self.before) < DIFF_MAX_ROWS:
                    self.before[str(row["id"])] = _jsonable(row)
            for row in after_rows:
                if str(row["id"]) in self.before:
                    self.after[str(row["id"])] = _jsonable(row)


def _jsonable(row):
    out = {}
    for key, value in row.items():
        if key == "id":
            continue
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


class BatchWalker:
    """Walks the rows matching ``where`` (a psycopg2 Composable with named
    placeholders filled from ``args``) and applies ``apply`` to each locked batch."""

    def __init__(self, conn, schema, where, args, limit, batch_size, check_mode, keep_diff, state_columns):
        self.conn = conn
        self.schema = schema
        self.where = where
        self.args = dict(args)
        self.limit = limit
        self.batch_size = batch_size
        self.check_mode = check_mode
        self.keep_diff = keep_diff
        self.state_columns = state_columns

    def _state_select(self, alias=None):
        cols = [sql.SQL("{}::text AS id").format(self.schema.col("id", alias))]
        for logical in self.state_columns:
            if self.schema.has(logical):
                expr = self.schema.col(logical, alias)
                if logical in ("status", "entity_type"):
                    expr = sql.SQL("{}::text").format(expr)
                cols.append(sql.SQL("{} AS {}").format(expr, sql.Identifier(logical)))
        return sql.SQL(", ").join(cols)

    def _candidates(self, cur, after, size):
        """The next ``size`` matching rows after the keyset ``after``: in check mode with
        their state (the preview needs it), else their ids only."""
        s = self.schema
        keyset = sql.SQL("true")
        args = dict(self.args, size=size)
        if after is not None:
            keyset = sql.SQL("({c}, {i}) > (%(after_created)s, %(after_id)s)").format(
                c=s.col("created_at"), i=s.col("id"))
            args.update(after_created=after[0], after_id=after[1])
        selected = self._state_select() if self.check_mode else \
            sql.SQL("{}::text AS id").format(s.col("id"))
        # MATERIALIZED: the conditions are met through the status or lease index first,
        # then the (small) live set is sorted. Left to itself the planner may walk the
        # created_at index through the whole completed history looking for the first match.
        cur.execute(sql.SQL(
            "WITH candidates AS MATERIALIZED ("
            "SELECT {sel}, {c} AS _created, {i} AS _key FROM {queue} WHERE ({where}) AND {keyset}) "
            "SELECT * FROM candidates ORDER BY _created, _key LIMIT %(size)s").format(
            sel=selected, c=s.col("created_at"), i=s.col("id"), queue=s.queue,
            where=self.where, keyset=keyset), args)
        rows = cur.fetchall()
        for row in rows:
            row.pop("_key")
        return rows

    def run(self, apply, preview):
        """``apply(cur, locked_ids)`` performs the writes and returns the after-rows
        (each with ``id``); it must repeat ``where`` in its UPDATE. ``preview(row)``
        returns the state a row would have after the change (check mode's diff)."""
        result = BatchResult()
        after = None
        done = 0
        try:
            while done < self.limit:
                size = min(max(CANDIDATE_CHUNK, self.batch_size), self.limit - done)
                with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                    chunk = self._candidates(cur, after, size)
                    if not chunk:
                        self.conn.rollback()
                        break
                    after = (chunk[-1]["_created"], chunk[-1]["id"])
                    for row in chunk:
                        row.pop("_created")
                    if self.check_mode:
                        # what would change: the same rows, after the same change
                        result.add_rows(chunk, [preview(dict(r)) for r in chunk], self.keep_diff)
                        done += len(chunk)
                    else:
                        # the selection's snapshot is not kept while batches commit
                        self.conn.rollback()
                        done += self._apply_batches(cur, [r["id"] for r in chunk], apply, result)
                if len(chunk) < size:
                    break
        finally:
            if self.check_mode:
                self.conn.rollback()
        return result

    def _apply_batches(self, cur, ids, apply, result):
        done = 0
        for start in range(0, len(ids), self.batch_size):
            batch = ids[start:start + self.batch_size]
            before = self._lock(cur, batch)
            locked = set(r["id"] for r in before)
            if len(locked) < len(batch):
                result.skipped_locked.extend(self._still_matching(cur, [i for i in batch if i not in locked]))
            after_rows = apply(cur, [i for i in batch if i in locked]) if locked else []
            self.conn.commit()
            result.batches += 1
            result.add_rows(before, after_rows, self.keep_diff)
            done += len(after_rows)
        return done

    def _lock(self, cur, ids):
        """Lock the rows of ``ids`` that still match; returns their state before the change."""
        s = self.schema
        cur.execute(sql.SQL(
            "SELECT {sel} FROM {queue} WHERE {i} IN %(ids)s AND ({where}) "
            "ORDER BY {i} FOR UPDATE SKIP LOCKED").format(
            sel=self._state_select(), i=s.col("id"), queue=s.queue, where=self.where),
            dict(self.args, ids=tuple(ids)))
        return cur.fetchall()

    def _still_matching(self, cur, ids):
        """Candidates we could not lock that still match: another transaction holds them."""
        s = self.schema
        cur.execute(sql.SQL("SELECT {i}::text FROM {queue} WHERE {i} IN %(ids)s AND ({where})").format(
            i=s.col("id"), queue=s.queue, where=self.where), dict(self.args, ids=tuple(ids)))
        return [r["id"] for r in cur.fetchall()]

    def returning(self, alias=None):
        """RETURNING list for an UPDATE: the row's state after the change."""
        return self._state_select(alias)
