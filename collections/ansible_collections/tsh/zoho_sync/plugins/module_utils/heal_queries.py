# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SQL of every write, rendered from its declaration (heal_actions).

Each statement takes its rows' ids as ``%(batch)s`` (a tuple) and the options as the
placeholders the conditions name. Every statement that changes rows locks them first
with ``FOR UPDATE SKIP LOCKED`` on the full condition (a row another transaction holds
is skipped, never waited for) and repeats the condition in the UPDATE or DELETE itself,
in one statement: a row that changed since the selection is left alone. No condition
matches a row under a live lease.
"""

from ansible_collections.tsh.zoho_sync.plugins.module_utils.catalog import Privilege
from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import QueueDatabaseError, sql
from ansible_collections.tsh.zoho_sync.plugins.module_utils.facts_queries import PATTERN_PARAMS, pattern_sql
from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_actions import Assign


class Context(object):
    """What a condition may need besides the row: in a check-mode run, ``gone(alias)``
    is the SQL saying that queue row ``alias`` is one the queue phase would delete."""

    def __init__(self, gone=None):
        self.gone = gone


APPLY = Context()


# ---------------------------------------------------------------------------- tables
def table_ident(schema, table):
    return getattr(schema, {"queue": "queue", "logs": "logs", "inbox": "inbox"}[table])


def table_name(schema, table):
    return {"queue": schema.queue_table, "logs": schema.logs_table, "inbox": schema.inbox_table,
            "dlq": schema.dlq_table}[table]


def col(schema, table, logical, alias):
    if table == "queue":
        return schema.col(logical, alias)
    return (schema.lcol if table == "logs" else schema.icol)(logical, alias)


def _order_col(schema, action, alias):
    return col(schema, action.table, action.order, alias)


def shown(schema, table, alias, deletes=False):
    """(label, SQL) of what the diff shows of a row of ``table``."""
    if table == "queue":
        out = [("entity", sql.SQL("{}::text").format(schema.col("entity_type", alias))),
               ("status", sql.SQL("{}::text").format(schema.col("status", alias))),
               ("attempts", schema.col("attempt_count", alias)),
               ("budget", schema.max_attempts_expr(alias))]
        if deletes:
            return out + [("at", schema.finished_at_expr(alias))]
        if schema.has("locked_by"):
            out.append(("locked_by", schema.col("locked_by", alias)))
        out.append(("lock_expires_at", schema.col("lock_expires_at", alias)))
        if schema.has("error_message"):
            out.append(("pattern", pattern_sql(schema.col("error_message", alias))))
        return out
    if table == "logs":
        return [("queue_row", sql.SQL("{}::text").format(schema.lcol("queue_fk", alias))),
                ("at", schema.lcol("timestamp", alias))]
    return [("at", schema.icol("received_at", alias))]


def _select_list(pairs):
    return sql.SQL(", ").join(sql.SQL("{} AS {}").format(expr, sql.Identifier(label)) for label, expr in pairs)


def _shown_json(pairs):
    """The shown columns as one jsonb value (rows of several tables in one result)."""
    return sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(
        sql.SQL("{}, {}").format(sql.Literal(label), expr) for label, expr in pairs))


def assigns_in_layout(action, schema):
    out = [a for a in action.assigns if schema.has(a.column)]
    if out and schema.has("updated_at"):
        out.append(Assign("updated_at", lambda s, a: sql.SQL("now()"), "updated_at -> now()"))
    return out


def _after(assign, schema, alias):
    """The value ``assign`` would write into the row ``alias`` (the preview's after-state)."""
    expr = assign.render(schema, alias)
    if assign.column == "status":
        expr = sql.SQL("({})::text").format(expr)
    return expr, sql.Identifier("after_" + assign.column)


def condition(action, schema, alias, ctx=APPLY):
    return sql.SQL(" AND ").join(sql.SQL("({})").format(c.render(schema, alias, ctx)) for c in action.conditions)


def statement_args(params):
    """The arguments of the statements: the options, and what the error-pattern expressions need."""
    out = dict(params)
    out.update(PATTERN_PARAMS)
    return out


# ------------------------------------------------------------------------- selection
def selection(action, schema, keyset, detailed, ctx=APPLY, heap_order=False):
    """The next ``%(want)s`` rows meeting the condition (after the keyset ``%(after_k)s,
    %(after_id)s`` when ``keyset``), in
    (order column, id) order. ``detailed``: with what the diff shows, and (for an update)
    each row's after-state computed by the assignments themselves."""
    t = "t"
    cols = [sql.SQL("{}::text AS id").format(col(schema, action.table, "id", t)),
            sql.SQL("{} AS _id").format(col(schema, action.table, "id", t)),
            sql.SQL("{} AS _k").format(_order_col(schema, action, t)),
            sql.SQL("t.ctid AS _ctid")]
    if detailed:
        cols.append(_select_list(shown(schema, action.table, t, action.deletes)))
        for assign in assigns_in_layout(action, schema):
            expr, name = _after(assign, schema, t)
            cols.append(sql.SQL("{} AS {}").format(expr, name))
    after = sql.SQL("true")
    if keyset:
        after = sql.SQL("({k}, {i}) > (%(after_k)s, %(after_id)s)").format(
            k=_order_col(schema, action, t), i=col(schema, action.table, "id", t))
    base = sql.SQL("SELECT {cols} FROM {table} t WHERE {cond} AND {keyset}").format(
        cols=sql.SQL(", ").join(cols), table=table_ident(schema, action.table),
        cond=condition(action, schema, t, ctx), keyset=after)
    if action.live_set:
        # the live set is small: met through the status or lease index first, then sorted.
        # Left to itself the planner may walk the created_at index through the whole
        # completed history looking for the first match.
        chosen = sql.SQL("WITH c AS MATERIALIZED ({}) SELECT * FROM c ORDER BY _k, _id LIMIT %(want)s").format(base)
    else:
        # the history is large: walked in order through the order column's index
        chosen = sql.SQL("{} ORDER BY _k, _id LIMIT %(want)s").format(sql.SQL("SELECT * FROM ({}) c").format(base))
    if heap_order:
        # the oldest rows (the same set), taken in the order they lie in the table: each
        # batch then writes to neighbouring pages (measured 10-20 % faster per row)
        return sql.SQL("SELECT * FROM ({}) o ORDER BY _ctid").format(chosen)
    return chosen


def after_args(row):
    return {"after_k": row["_k"], "after_id": row["_id"]}


def still_matching(action, schema):
    """Of ``%(missing)s`` (candidates the batch did not change), those that still meet the
    condition: another transaction holds them."""
    return sql.SQL("SELECT {i}::text FROM {table} t WHERE {i} IN %(missing)s AND {cond}").format(
        i=col(schema, action.table, "id", "t"), table=table_ident(schema, action.table),
        cond=condition(action, schema, "t"))


def _locked(action, schema, columns):
    return sql.SQL("SELECT {cols} FROM {table} x WHERE {i} IN %(batch)s AND {cond} ORDER BY {i} "
                   "FOR UPDATE OF x SKIP LOCKED").format(
        cols=columns, table=table_ident(schema, action.table), i=col(schema, action.table, "id", "x"),
        cond=condition(action, schema, "x"))


# ----------------------------------------------------------------------------- update
def lock_and_update(action, schema, detailed):
    """One statement per batch: lock the rows that still meet the condition (skipping
    held ones), change them with the condition repeated, return their state before and
    after. Without assignments (the reconcile) the rows are only locked."""
    assigns = assigns_in_layout(action, schema)
    inner = [sql.SQL("{} AS _id").format(schema.col("id", "x"))]
    if detailed:
        inner.append(_select_list(shown(schema, "queue", "x")))
    if not assigns:
        return _locked(action, schema, sql.SQL(", ").join(
            [sql.SQL("{}::text AS id").format(schema.col("id", "x"))] + inner))
    ret = [sql.SQL("{}::text AS id").format(schema.col("id", "q"))]
    if detailed:
        ret += [sql.SQL("b.{0} AS {0}").format(sql.Identifier(label)) for label, _e in shown(schema, "queue", "b")]
        # the after-state as it was written (the columns themselves, in RETURNING)
        for assign in assigns:
            value = schema.col(assign.column, "q")
            if assign.column == "status":
                value = sql.SQL("{}::text").format(value)
            ret.append(sql.SQL("{} AS {}").format(value, sql.Identifier("after_" + assign.column)))
    return sql.SQL("UPDATE {queue} q SET {sets} FROM ({locked}) b WHERE {id} = b._id AND {cond} RETURNING {ret}").format(
        queue=schema.queue,
        sets=sql.SQL(", ").join(sql.SQL("{} = {}").format(schema.col(a.column), a.render(schema, "q"))
                                for a in assigns),
        locked=_locked(action, schema, sql.SQL(", ").join(inner)), id=schema.col("id", "q"),
        cond=condition(action, schema, "q"), ret=sql.SQL(", ").join(ret))


def record_columns(schema, record):
    """(dead-letter column, SQL on the queue row ``q``) of a new record: what the
    INSERT writes and what its privilege check asks for."""
    out = []

    def put(logical, expr):
        if schema.has_dlq(logical):
            out.append((logical, expr))

    if not schema.dlq_id_has_default:
        if not schema.dlq_id_is_uuid:
            raise QueueDatabaseError("%s.%s has no default and is not a UUID: cannot create dead-letter records"
                                     % (schema.dlq_table, schema.dcols["id"]))
        put("id", sql.SQL("gen_random_uuid()"))
    put("sync_queue_id", schema.col("id", "q"))
    put("entity_type", schema.col("entity_type", "q"))
    put("source_entity_id", schema.col("source_entity_id", "q"))
    put("failure_reason", sql.SQL("COALESCE(%(reason)s, {})").format(record.reason(schema)))
    if schema.has("error_code"):
        put("error_code", schema.col("error_code", "q"))
    put("total_attempts", schema.col("attempt_count", "q"))
    if schema.has("error_message"):
        put("last_error_message", schema.col("error_message", "q"))
    put("last_payload", schema.col("payload", "q"))
    put("resolved", sql.SQL("false"))
    put("created_at", sql.SQL("now()"))
    return out


def insert_records(schema, record):
    """One record for each of ``%(batch)s`` that has none. It runs as its own statement
    after the rows were locked (so its NOT EXISTS sees any record committed before the
    lock was granted): two heals can never both insert one."""
    cols = record_columns(schema, record)
    return sql.SQL(
        "INSERT INTO {dlq} ({cols}) SELECT {values} FROM {queue} q WHERE {qid} IN %(batch)s "
        "AND NOT EXISTS (SELECT 1 FROM {dlq} d WHERE {ref} = {qid}) RETURNING {ret}::text").format(
        dlq=schema.dlq, cols=sql.SQL(", ").join(schema.dcol(c) for c, _e in cols),
        values=sql.SQL(", ").join(e for _c, e in cols), queue=schema.queue, qid=schema.col("id", "q"),
        ref=schema.dcol("sync_queue_id", "d"), ret=schema.dcol("sync_queue_id"))


RESOLVE_COLUMNS = (("resolved", "true"), ("resolved_at", "now()"), ("resolved_by", "%(resolved_by)s"),
                   ("resolution_notes", "%(notes)s"))


def resolve_records(schema):
    """The open records of ``%(batch)s`` marked resolved (a re-drive)."""
    sets = [sql.SQL("{} = " + value).format(schema.dcol(c)) for c, value in RESOLVE_COLUMNS if schema.has_dlq(c)]
    return sql.SQL("UPDATE {dlq} SET {sets} WHERE {ref} IN %(batch)s AND NOT {resolved}").format(
        dlq=schema.dlq, sets=sql.SQL(", ").join(sets), ref=schema.dcol("sync_queue_id"),
        resolved=schema.dcol("resolved"))


# ----------------------------------------------------------------------------- delete
DEPENDENT_FK = {"logs": "queue_fk"}


def delete_batch(action, schema):
    """One statement per batch: lock the rows that still meet the condition, delete the
    rows of the dependent tables that reference them, then the rows themselves with the
    condition repeated; returns every deleted row's backup image (``to_jsonb``) and what
    the diff shows, plus one ``_locked`` row per locked id (the caller checks they were
    all deleted, else rolls the batch back). Nothing commits before the caller has
    written and fsync'd the images."""
    own_table = table_ident(schema, action.table)
    parts = [sql.SQL("locked AS ({})").format(_locked(action, schema, sql.SQL("{} AS _id").format(
        col(schema, action.table, "id", "x"))))]
    selects = []
    for n, dep in enumerate(action.dependents):
        name = sql.Identifier("dep%d" % n)
        parts.append(sql.SQL(
            "{name} AS (DELETE FROM {table} l USING locked WHERE {fk} = locked._id "
            "RETURNING {kind}::text AS _kind, {i}::text AS id, to_jsonb(l)::text AS _image, {shown} AS shown)").format(
            name=name, table=table_ident(schema, dep), fk=col(schema, dep, DEPENDENT_FK[dep], "l"),
            kind=sql.Literal(dep), i=col(schema, dep, "id", "l"), shown=_shown_json(shown(schema, dep, "l"))))
        selects.append(sql.SQL("SELECT * FROM {}").format(name))
    parts.append(sql.SQL(
        "own AS (DELETE FROM {table} t USING locked WHERE {i} = locked._id AND {cond} "
        "RETURNING {kind}::text AS _kind, {i}::text AS id, to_jsonb(t)::text AS _image, {shown} AS shown)").format(
        table=own_table, i=col(schema, action.table, "id", "t"), cond=condition(action, schema, "t"),
        kind=sql.Literal(action.table), shown=_shown_json(shown(schema, action.table, "t", True))))
    selects = [sql.SQL("SELECT * FROM own")] + selects + [
        sql.SQL("SELECT '_locked', _id::text, NULL::text, NULL::jsonb FROM locked")]
    return sql.SQL("WITH {} {}").format(sql.SQL(", ").join(parts), sql.SQL(" UNION ALL ").join(selects))


def dependents_preview(action, schema, dep):
    """Check mode: the rows of ``dep`` that would go with ``%(batch)s``."""
    return sql.SQL("SELECT {i}::text AS id, {shown} AS shown FROM {table} l WHERE {fk} IN %(batch)s ORDER BY {i}").format(
        i=col(schema, dep, "id", "l"), shown=_shown_json(shown(schema, dep, "l")), table=table_ident(schema, dep),
        fk=col(schema, dep, DEPENDENT_FK[dep], "l"))


def gone_predicate(action, schema, boundary):
    """Check mode: SQL saying a queue row is one ``action`` (the queue phase) would
    delete - it meets the condition and lies within the keyset the phase reached
    (``boundary``: the last key it took when its limit stopped it, else None)."""
    def gone(alias):
        cond = condition(action, schema, alias)
        if boundary is None:
            return cond
        return sql.SQL("{} AND ({}, {}) <= (%(gone_k)s, %(gone_id)s)").format(
            cond, _order_col(schema, action, alias), schema.col("id", alias))
    return gone


# ---------------------------------------------------------------------------- restore
def restore_insert(schema, table):
    ident = table_ident(schema, table)
    i = col(schema, table, "id", None)
    return sql.SQL(
        "INSERT INTO {t} OVERRIDING SYSTEM VALUE "
        "SELECT r.* FROM jsonb_populate_recordset(NULL::{t}, %(rows)s::jsonb) r "
        "WHERE NOT EXISTS (SELECT 1 FROM {t} x WHERE x.{i} = r.{i}) "
        "ON CONFLICT DO NOTHING RETURNING {i}::text").format(t=ident, i=i)


def existing_ids(schema, table):
    return sql.SQL("SELECT t.{i}::text FROM {t} t WHERE t.{i}::text = ANY(%(ids)s)").format(
        i=col(schema, table, "id", None), t=table_ident(schema, table))


# ------------------------------------------------------------------------- privileges
def needed_privileges(action, schema):
    """Every privilege the real run of ``action`` needs, from its declaration."""
    own = table_name(schema, action.table)
    out = [Privilege(schema.schema, own, "SELECT", why="select the rows")]
    for cond in action.conditions:
        for table in cond.reads:
            out.append(Privilege(schema.schema, table_name(schema, table), "SELECT", why=cond.words))
    if action.inserts:
        out.append(Privilege(schema.schema, own, "INSERT", why="restore the rows"))
        return out
    if action.deletes:
        out.append(Privilege(schema.schema, own, "DELETE", why="delete the rows"))
        # a row lock needs UPDATE on some column (DELETE alone is not enough)
        out.append(Privilege(schema.schema, own, "UPDATE", column="*", why="lock the rows (FOR UPDATE)"))
        for dep in action.dependents:
            out.append(Privilege(schema.schema, table_name(schema, dep), "SELECT", why="back up the rows"))
            out.append(Privilege(schema.schema, table_name(schema, dep), "DELETE", why="delete the rows"))
        return out
    assigns = assigns_in_layout(action, schema)
    for assign in assigns:
        out.append(Privilege(schema.schema, own, "UPDATE", column=schema.qcols[assign.column], why="change the rows"))
    if not assigns:
        out.append(Privilege(schema.schema, own, "UPDATE", column="*", why="lock the rows (FOR UPDATE)"))
    if action.record is not None:
        out.append(Privilege(schema.schema, schema.dlq_table, "SELECT", why="find existing records"))
        for logical, _expr in record_columns(schema, action.record):
            out.append(Privilege(schema.schema, schema.dlq_table, "INSERT", column=schema.dcols[logical],
                                 why="create the dead-letter records"))
    if action.resolves:
        for logical, _value in RESOLVE_COLUMNS:
            if schema.has_dlq(logical):
                out.append(Privilege(schema.schema, schema.dlq_table, "UPDATE", column=schema.dcols[logical],
                                     why="resolve the dead-letter records"))
    return out


# --------------------------------------------------------------------- the benchmark
def whole_statement(action, schema, limit=None):
    """The physical limit the benchmark compares each walk with: ONE statement making
    the same change (the same assignments, records or deletes, from the same
    declaration) on the same rows - no batches, no SKIP LOCKED, no keyset. Never run
    by the modules: it would hold every row's lock until it ends."""
    if action.deletes:
        victims = sql.SQL("SELECT {i} AS _id FROM {table} t WHERE {cond} ORDER BY {k}, {i}{limit}").format(
            i=col(schema, action.table, "id", "t"), table=table_ident(schema, action.table),
            cond=condition(action, schema, "t"), k=_order_col(schema, action, "t"),
            limit=sql.SQL(" LIMIT %(limit)s") if limit else sql.SQL(""))
        parts = [sql.SQL("victims AS ({})").format(victims)]
        for n, dep in enumerate(action.dependents):
            parts.append(sql.SQL("dep{n} AS (DELETE FROM {table} l USING victims WHERE {fk} = victims._id)").format(
                n=sql.SQL(str(n)), table=table_ident(schema, dep), fk=col(schema, dep, DEPENDENT_FK[dep], "l")))
        return sql.SQL("WITH {} DELETE FROM {} t USING victims WHERE {} = victims._id").format(
            sql.SQL(", ").join(parts), table_ident(schema, action.table), col(schema, action.table, "id", "t"))
    assigns = assigns_in_layout(action, schema)
    update = sql.SQL("UPDATE {queue} q SET {sets} WHERE {cond} RETURNING q.*").format(
        queue=schema.queue, cond=condition(action, schema, "q"),
        sets=sql.SQL(", ").join(sql.SQL("{} = {}").format(schema.col(a.column), a.render(schema, "q"))
                                for a in assigns))
    if action.record is None:
        return update
    cols = record_columns(schema, action.record)
    return sql.SQL(
        "WITH q AS ({update}) INSERT INTO {dlq} ({cols}) SELECT {values} FROM q "
        "WHERE NOT EXISTS (SELECT 1 FROM {dlq} d WHERE {ref} = {qid})").format(
        update=update, dlq=schema.dlq, cols=sql.SQL(", ").join(schema.dcol(c) for c, _e in cols),
        values=sql.SQL(", ").join(e for _c, e in cols), ref=schema.dcol("sync_queue_id", "d"),
        qid=schema.col("id", "q"))
