# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the catalog says: the columns of a table, and which privileges the connected
role holds. The only module that reads pg_catalog for the schema mapping (queue_schema)
and for the privilege checks of the heal (heal_run)."""

COLUMNS_QUERY = """
SELECT a.attname, t.typname, t.typtype, a.atthasdef, t.oid
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
 WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
"""


def table_columns(cur, schema, table):
    """{column name: (type name, type kind, has default, type oid)} of ``schema.table``;
    empty when the table does not exist or this role cannot see it."""
    cur.execute(COLUMNS_QUERY, (schema, table))
    return dict((row[0], tuple(row[1:])) for row in cur.fetchall())


TABLES_QUERY = """
SELECT c.relname, a.attname, t.typname, t.typtype, a.atthasdef, t.oid,
       CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e
                                             WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
 WHERE n.nspname = %s AND c.relname = ANY(%s::name[]) AND a.attnum > 0 AND NOT a.attisdropped
"""


def tables_columns(cur, schema, tables):
    """({table: {column name: (type name, type kind, has default, type oid)}}, {type oid: enum
    labels}) of several tables of ``schema`` in one round trip; a table that does not exist
    (or this role cannot see) is absent."""
    cur.execute(TABLES_QUERY, (schema, list(tables)))
    columns, labels = {}, {}
    for table, name, typname, typtype, hasdef, oid, enum in cur.fetchall():
        columns.setdefault(table, {})[name] = (typname, typtype, hasdef, oid)
        if enum is not None:
            labels[oid] = tuple(enum)
    return columns, labels


def enum_labels(cur, type_oid):
    cur.execute("SELECT enumlabel FROM pg_catalog.pg_enum WHERE enumtypid = %s ORDER BY enumsortorder", (type_oid,))
    return tuple(r[0] for r in cur.fetchall())


class Privilege(object):
    """One privilege a statement needs: on a table, on one column of it, or on any
    column of it (``column="*"``: what SELECT ... FOR UPDATE needs)."""

    def __init__(self, schema, table, privilege, column=None, why=""):
        self.schema = schema
        self.table = table
        self.privilege = privilege
        self.column = column
        self.why = why

    @property
    def key(self):
        return (self.schema, self.table, self.privilege, self.column)

    def describe(self):
        target = "%s.%s" % (self.schema, self.table)
        if self.column == "*":
            return "%s on some column of %s" % (self.privilege, target)
        if self.column:
            return "%s (%s) on %s" % (self.privilege, self.column, target)
        return "%s on %s" % (self.privilege, target)


def missing_privileges(cur, needed):
    """The privileges of ``needed`` the connected role lacks (one query for all)."""
    unique = []
    seen = set()
    for priv in needed:
        if priv.key not in seen:
            seen.add(priv.key)
            unique.append(priv)
    if not unique:
        return []
    checks, args = [], []
    for priv in unique:
        table = "format('%%I.%%I', %s::text, %s::text)"
        args.extend([priv.schema, priv.table])
        if priv.column == "*":
            checks.append("has_any_column_privilege(%s, %%s)" % table)
            args.append(priv.privilege)
        elif priv.column:
            checks.append("has_column_privilege(%s, %%s, %%s)" % table)
            args.extend([priv.column, priv.privilege])
        else:
            checks.append("has_table_privilege(%s, %%s)" % table)
            args.append(priv.privilege)
    cur.execute("SELECT " + ", ".join(checks), args)
    held = cur.fetchone()
    return [priv for priv, ok in zip(unique, held) if not ok]


def current_role(cur):
    cur.execute("SELECT current_user::text")
    return cur.fetchone()[0]


def describe_missing(missing):
    """``UPDATE (status, locked_by) on public.tds_sync_queue; INSERT on ...``: one phrase,
    the columns of one privilege on one table grouped."""
    groups, order = {}, []
    for priv in missing:
        kind = "cols" if priv.column not in (None, "*") else priv.column
        key = (priv.privilege, priv.schema, priv.table, kind)
        if key not in groups:
            groups[key] = []
            order.append(key)
        if kind == "cols":
            groups[key].append(priv.column)
    parts = []
    for privilege, schema, table, kind in order:
        target = "%s.%s" % (schema, table)
        if kind == "cols":
            parts.append("%s (%s) on %s" % (privilege, ", ".join(groups[(privilege, schema, table, kind)]), target))
        elif kind == "*":
            parts.append("%s on some column of %s" % (privilege, target))
        else:
            parts.append("%s on %s" % (privilege, target))
    return "; ".join(parts)
