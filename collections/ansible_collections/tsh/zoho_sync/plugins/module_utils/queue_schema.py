# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The schema mapping: the only place that knows table and column names.

Defaults are the real TSH ERP schema (tds_sync_queue / tds_dead_letter_queue). The
``queue_schema`` option overrides any name, and a logical column mapped to ``null``
does not exist in that layout (the simplified write-up layout has no per-row retry
budget, no next_retry_at, no started_at/completed_at). Every name is checked against
the catalog before any query runs, so a wrong mapping fails with one clear message
instead of a query error halfway through.
"""

import copy
import re
import uuid

from ansible_collections.tsh.zoho_sync.plugins.module_utils.catalog import tables_columns, table_columns
from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import QueueDatabaseError, sql
# The statuses and entity types are the collection's shared vocabulary; re-exported
# here under the names the modules import. The entity types validate filters when the
# entity column is plain text.
from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import (  # noqa: F401 pylint: disable=unused-import
    ENTITY_TYPES as TSH_ENTITY_TYPES,
    STATUSES,
)

# logical name -> production column; "required" ones cannot be mapped to null.
QUEUE_COLUMNS = {
    "id": "id",
    "entity_type": "entity_type",
    "source_entity_id": "source_entity_id",
    "status": "status",
    "payload": "validated_payload",
    "priority": "priority",
    "attempt_count": "attempt_count",
    "max_retry_attempts": "max_retry_attempts",
    "next_retry_at": "next_retry_at",
    "locked_by": "locked_by",
    "lock_expires_at": "lock_expires_at",
    "created_at": "created_at",
    "started_at": "started_at",
    "completed_at": "completed_at",
    "updated_at": None,
    "error_message": "error_message",
    "error_code": "error_code",
}
QUEUE_REQUIRED = ("id", "entity_type", "source_entity_id", "status", "payload",
                  "attempt_count", "lock_expires_at", "created_at")

DLQ_COLUMNS = {
    "id": "id",
    "sync_queue_id": "sync_queue_id",
    "entity_type": "entity_type",
    "source_entity_id": "source_entity_id",
    "failure_reason": "failure_reason",
    "error_code": "error_code",
    "total_attempts": "total_attempts",
    "last_error_message": "last_error_message",
    "last_payload": "last_payload",
    "resolved": "resolved",
    "resolved_at": "resolved_at",
    "resolved_by": "resolved_by",
    "resolution_notes": "resolution_notes",
    "created_at": "created_at",
}
DLQ_REQUIRED = ("id", "sync_queue_id", "entity_type", "source_entity_id", "failure_reason",
                "total_attempts", "last_payload", "resolved")

# The tables around the queue that only cleanup and restore touch: the inbox the queue
# references (queue.<queue_fk> -> inbox.id) and the sync logs that reference the queue
# (logs.<queue_fk> -> queue.id). Map inbox_table / logs_table to null when the layout
# has no such table (the simplified write-up layout has neither).
INBOX_COLUMNS = {
    "id": "id",
    "received_at": "received_at",
    # the column of the QUEUE table that references the inbox event
    "queue_fk": "inbox_event_id",
}
LOGS_COLUMNS = {
    "id": "id",
    "timestamp": "timestamp",
    # the column of the LOGS table that references the queue row
    "queue_fk": "sync_queue_id",
}

DEFAULT_MAPPING = {
    "schema": "public",
    "queue_table": "tds_sync_queue",
    "dlq_table": "tds_dead_letter_queue",
    "queue_columns": QUEUE_COLUMNS,
    "dlq_columns": DLQ_COLUMNS,
    # retry budget where the layout has no per-row max_retry_attempts column
    "default_max_attempts": 3,
    "inbox_table": "tds_inbox_events",
    "logs_table": "tds_sync_logs",
    "inbox_columns": INBOX_COLUMNS,
    "logs_columns": LOGS_COLUMNS,
}

# PostgreSQL identifiers: at most 63 bytes; we also refuse control characters so a
# hostile mapping reads as a mistake, not as a quoted oddity in the catalog.
_IDENT_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,63}$")


def queue_schema_argument_spec():
    return dict(queue_schema=dict(type="dict", default={}))


def _check_ident(value, where):
    if not isinstance(value, str) or not _IDENT_RE.match(value) or len(value.encode("utf-8")) > 63:
        raise ValueError("queue_schema.%s must be a PostgreSQL identifier (1-63 printable characters), got %r"
                         % (where, value))
    return value


def _merge_columns(defaults, override, required, where):
    if override is None:
        override = {}
    if not isinstance(override, dict):
        raise ValueError("queue_schema.%s must be a dictionary of logical name: column name" % where)
    unknown = sorted(set(override) - set(defaults))
    if unknown:
        raise ValueError("queue_schema.%s has unknown key(s) %s; known keys: %s"
                         % (where, ", ".join(unknown), ", ".join(sorted(defaults))))
    merged = dict(defaults)
    for key, value in override.items():
        if value in (None, ""):
            if key in required:
                raise ValueError("queue_schema.%s.%s is required and cannot be null" % (where, key))
            merged[key] = None
        else:
            merged[key] = _check_ident(value, "%s.%s" % (where, key))
    return merged


class QueueSchema:
    """Resolved mapping plus what the catalog says about it."""

    def __init__(self, mapping=None):
        mapping = mapping or {}
        if not isinstance(mapping, dict):
            raise ValueError("queue_schema must be a dictionary")
        unknown = sorted(set(mapping) - set(DEFAULT_MAPPING))
        if unknown:
            raise ValueError("queue_schema has unknown key(s) %s; known keys: %s"
                             % (", ".join(unknown), ", ".join(sorted(DEFAULT_MAPPING))))
        self.schema = _check_ident(mapping.get("schema") or DEFAULT_MAPPING["schema"], "schema")
        self.queue_table = _check_ident(mapping.get("queue_table") or DEFAULT_MAPPING["queue_table"], "queue_table")
        self.dlq_table = _check_ident(mapping.get("dlq_table") or DEFAULT_MAPPING["dlq_table"], "dlq_table")
        self.qcols = _merge_columns(QUEUE_COLUMNS, mapping.get("queue_columns"), QUEUE_REQUIRED, "queue_columns")
        self.dcols = _merge_columns(DLQ_COLUMNS, mapping.get("dlq_columns"), DLQ_REQUIRED, "dlq_columns")
        dma = mapping.get("default_max_attempts", DEFAULT_MAPPING["default_max_attempts"])
        if isinstance(dma, bool) or not isinstance(dma, int) or not 1 <= dma <= 100:
            raise ValueError("queue_schema.default_max_attempts must be an integer from 1 to 100, got %r" % (dma,))
        self.default_max_attempts = dma
        # inbox and sync logs (cleanup and restore only; checked by inspect_related)
        self.inbox_table = self._optional_table(mapping, "inbox_table")
        self.logs_table = self._optional_table(mapping, "logs_table")
        self.icols = _merge_columns(INBOX_COLUMNS, mapping.get("inbox_columns"), tuple(INBOX_COLUMNS),
                                    "inbox_columns")
        self.lcols = _merge_columns(LOGS_COLUMNS, mapping.get("logs_columns"), tuple(LOGS_COLUMNS),
                                    "logs_columns")
        # filled by inspect()
        self.status_labels = STATUSES
        self.status_is_enum = False
        self.entity_labels = None
        self.id_type = "uuid"
        self.dlq_id_is_uuid = False
        self.dlq_id_has_default = False

    @staticmethod
    def _optional_table(mapping, key):
        if key in mapping and mapping[key] in (None, ""):
            return None
        return _check_ident(mapping.get(key) or DEFAULT_MAPPING[key], key)

    # -- identifiers ----------------------------------------------------------
    @property
    def queue(self):
        return sql.Identifier(self.schema, self.queue_table)

    @property
    def dlq(self):
        return sql.Identifier(self.schema, self.dlq_table)

    def has(self, logical):
        return self.qcols.get(logical) is not None

    def has_dlq(self, logical):
        return self.dcols.get(logical) is not None

    def col(self, logical, alias=None):
        name = self.qcols[logical]
        if name is None:
            raise KeyError("queue column %s is not mapped" % logical)
        return sql.Identifier(alias, name) if alias else sql.Identifier(name)

    def dcol(self, logical, alias=None):
        name = self.dcols[logical]
        if name is None:
            raise KeyError("dead-letter column %s is not mapped" % logical)
        return sql.Identifier(alias, name) if alias else sql.Identifier(name)

    # -- expressions shared by facts and heal --------------------------------
    def max_attempts_expr(self, alias=None):
        """The retry budget of a row: the option max_attempts when given, else the
        row's own max_retry_attempts (or the layout's default)."""
        if self.has("max_retry_attempts"):
            fallback = self.col("max_retry_attempts", alias)
        else:
            fallback = sql.Literal(self.default_max_attempts)
        return sql.SQL("COALESCE({}::integer, {})").format(sql.Placeholder("max_attempts"), fallback)

    def finished_at_expr(self, alias=None):
        """When a row last finished (completed_at, else updated_at, else created_at)."""
        for logical in ("completed_at", "updated_at"):
            if self.has(logical):
                return self.col(logical, alias)
        return self.col("created_at", alias)

    def activity_expr(self, lease_seconds_placeholder="lease_seconds", alias=None):
        """The latest thing known to have happened to a row. A lease's start is its
        expiry minus the lease length: the worker writes no other claim time."""
        parts = [self.col("created_at", alias)]
        for logical in ("started_at", "completed_at", "updated_at"):
            if self.has(logical):
                parts.append(self.col(logical, alias))
        parts.append(sql.SQL("{} - make_interval(secs => {})").format(
            self.col("lock_expires_at", alias), sql.Placeholder(lease_seconds_placeholder)))
        return sql.SQL("GREATEST({})").format(sql.SQL(", ").join(parts))

    def leased_expr(self, alias=None):
        """A row carries a lease (whether live or expired)."""
        if self.has("locked_by"):
            return sql.SQL("{} IS NOT NULL").format(self.col("locked_by", alias))
        return sql.SQL("{} IS NOT NULL").format(self.col("lock_expires_at", alias))

    def not_live_lease_expr(self, alias=None):
        """No worker holds the row right now: unleased, or the lease has expired."""
        return sql.SQL("({leased_not} OR {exp} IS NULL OR {exp} < now())").format(
            leased_not=sql.SQL("NOT ({})").format(self.leased_expr(alias)),
            exp=self.col("lock_expires_at", alias))

    def clear_lease_assignments(self):
        parts = [sql.SQL("{} = NULL").format(self.col("lock_expires_at"))]
        if self.has("locked_by"):
            parts.append(sql.SQL("{} = NULL").format(self.col("locked_by")))
        return parts

    def touch_assignments(self):
        if self.has("updated_at"):
            return [sql.SQL("{} = now()").format(self.col("updated_at"))]
        return []

    # -- catalog --------------------------------------------------------------
    def inspect_related(self, conn):
        """Check the inbox and sync-log tables (when mapped) and their columns exist.
        Only cleanup and restore call this, so the other modules keep working on
        layouts that lack those tables."""
        with conn.cursor() as cur:
            for table, cols, kind in ((self.inbox_table, self.icols, "inbox_columns"),
                                      (self.logs_table, self.lcols, "logs_columns")):
                if table is None:
                    continue
                found = table_columns(cur, self.schema, table)
                if not found:
                    raise QueueDatabaseError(
                        "Table %s.%s does not exist (or this user cannot see it); check queue_schema (map %s "
                        "to null when the layout has no such table)"
                        % (self.schema, table, "inbox_table" if kind == "inbox_columns" else "logs_table"))
                # the inbox's queue_fk is a column of the queue table
                missing = ["%s (queue_schema.%s.%s)" % (name, kind, logical) for logical, name in sorted(cols.items())
                           if not (kind == "inbox_columns" and logical == "queue_fk") and name not in found]
                if missing:
                    raise QueueDatabaseError("Table %s.%s has no column %s" % (self.schema, table, ", ".join(missing)))
            if self.inbox_table is not None and self.icols["queue_fk"] not in table_columns(
                    cur, self.schema, self.queue_table):
                raise QueueDatabaseError("Table %s.%s has no column %s (queue_schema.inbox_columns.queue_fk)"
                                         % (self.schema, self.queue_table, self.icols["queue_fk"]))
        return self

    @property
    def inbox(self):
        return sql.Identifier(self.schema, self.inbox_table)

    @property
    def logs(self):
        return sql.Identifier(self.schema, self.logs_table)

    def icol(self, logical, alias=None):
        name = self.icols[logical]
        return sql.Identifier(alias, name) if alias else sql.Identifier(name)

    def lcol(self, logical, alias=None):
        name = self.lcols[logical]
        return sql.Identifier(alias, name) if alias else sql.Identifier(name)

    def inspect(self, conn):
        """Check every mapped table and column exists; learn enum labels and id types (the
        catalog read in one round trip)."""
        with conn.cursor() as cur:
            tables, labels = tables_columns(cur, self.schema, (self.queue_table, self.dlq_table))
            for table, cols, kind in ((self.queue_table, self.qcols, "queue_columns"),
                                      (self.dlq_table, self.dcols, "dlq_columns")):
                found = tables.get(table) or {}
                if not found:
                    raise QueueDatabaseError(
                        "Table %s.%s does not exist (or this user cannot see it); check queue_schema "
                        "and the login_db you connect to" % (self.schema, table))
                missing = ["%s (queue_schema.%s.%s)" % (name, kind, logical)
                           for logical, name in sorted(cols.items()) if name and name not in found]
                if missing:
                    raise QueueDatabaseError("Table %s.%s has no column %s" % (
                        self.schema, table, ", ".join(missing)))
                if table == self.queue_table:
                    qfound = found
                else:
                    dfound = found
            status = qfound[self.qcols["status"]]
            self.status_is_enum = status[1] == "e"
            if self.status_is_enum:
                self.status_labels = labels.get(status[3], ())
            entity = qfound[self.qcols["entity_type"]]
            self.entity_labels = labels.get(entity[3], ()) if entity[1] == "e" else None
            self.id_type = "uuid" if qfound[self.qcols["id"]][0] == "uuid" else "integer"
            did = dfound[self.dcols["id"]]
            self.dlq_id_is_uuid = did[0] == "uuid"
            self.dlq_id_has_default = bool(did[2])
        return self

    @property
    def live_statuses(self):
        """Every status but completed, including labels this collection does not know,
        so a new enum value shows up in the facts instead of vanishing."""
        return tuple(s for s in self.status_labels if s != "completed")

    @property
    def unknown_statuses(self):
        return tuple(s for s in self.status_labels if s not in STATUSES)

    # -- validation of user filters ------------------------------------------
    def validate_entity_types(self, values):
        if values is None:
            return None
        if not values:
            raise ValueError("entity_types must not be an empty list; omit it to mean every entity type")
        allowed = self.entity_labels or TSH_ENTITY_TYPES
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ValueError("Unknown entity type(s) %s; known: %s" % (
                ", ".join(repr(b)[:80] for b in bad), ", ".join(allowed)))
        return tuple(values)

    def validate_ids(self, values):
        if values is None:
            return None
        if not values:
            raise ValueError("ids must not be an empty list; omit it to mean every row")
        out = []
        for value in values:
            text = str(value).strip()
            try:
                if self.id_type == "uuid":
                    out.append(str(uuid.UUID(text)))
                else:
                    if not re.match(r"^[0-9]{1,18}$", text):
                        raise ValueError(text)
                    out.append(int(text))
            except ValueError:
                raise ValueError("ids: %r is not a valid %s id of %s" % (
                    text[:80], "UUID" if self.id_type == "uuid" else "integer", self.queue_table))
        return tuple(out)

    def describe(self):
        return {
            "schema": self.schema,
            "queue_table": self.queue_table,
            "dlq_table": self.dlq_table,
            "queue_columns": copy.deepcopy(self.qcols),
            "dlq_columns": copy.deepcopy(self.dcols),
            "default_max_attempts": self.default_max_attempts,
            "inbox_table": self.inbox_table,
            "logs_table": self.logs_table,
            "inbox_columns": copy.deepcopy(self.icols),
            "logs_columns": copy.deepcopy(self.lcols),
        }
