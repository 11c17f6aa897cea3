# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared life of a heal module: validated options, one session, one or more
batch walks, and a result with ids, skipped rows and a diff."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.module_utils.batches import BatchWalker
from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import QueueDatabaseError, psycopg2
from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_queries import STATE_COLUMNS
from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import (
    MAX_BATCH_SIZE,
    MAX_LIMIT,
    check_range,
    check_string_list,
    close_quietly,
    database_error_message,
    fail,
    open_session,
    resolve_schema,
)


def heal_argument_spec():
    return dict(
        entity_types=dict(type="list", elements="str"),
        limit=dict(type="int", default=1000),
        batch_size=dict(type="int", default=200),
        max_attempts=dict(type="int"),
    )


class HealRun:
    """Validates the common options, opens the session and walks batches."""

    def __init__(self, module):
        self.module = module
        check_range(module, "limit", 1, MAX_LIMIT)
        check_range(module, "batch_size", 1, MAX_BATCH_SIZE)
        check_range(module, "max_attempts", 1, 100)
        check_string_list(module, "entity_types")
        check_string_list(module, "ids")
        self.schema = resolve_schema(module)
        self.check_mode = module.check_mode
        self.diff = module._diff
        self.conn = open_session(module, self.schema, read_only=self.check_mode)
        try:
            self.entity_types = self.schema.validate_entity_types(module.params.get("entity_types"))
            self.ids = self.schema.validate_ids(module.params.get("ids"))
        except ValueError as exc:
            self.close()
            fail(module, str(exc))
        self.remaining = module.params["limit"]

    def walk(self, where_args, apply, preview, doing):
        """One walk over the rows matching where; returns a BatchResult."""
        where, args = where_args
        walker = BatchWalker(self.conn, self.schema, where, args, self.remaining, self.module.params["batch_size"],
                             self.check_mode, self.diff, STATE_COLUMNS)
        try:
            result = walker.run(lambda cur, ids: apply(cur, self.schema, walker, ids), preview)
        except QueueDatabaseError as exc:
            self.close()
            fail(self.module, str(exc))
        except psycopg2.Error as exc:
            self.close()
            fail(self.module, database_error_message(self.module, exc, doing))
        self.remaining = max(self.remaining - len(result.ids), 0)
        return result

    def close(self):
        close_quietly(self.conn)

    def diff_output(self, *results):
        """One line per row, keyed by id: the id stays on every changed line whatever
        the diff context, so --diff names each row that changes."""
        before, after = {}, {}
        for result in results:
            before.update((k, one_line(v)) for k, v in result.before.items())
            after.update((k, one_line(v)) for k, v in result.after.items())
        total = sum(len(r.ids) for r in results)
        header = "%d row(s)%s" % (total, "" if total <= len(before) else ", first %d shown" % len(before))
        return {"before": before, "after": after, "before_header": header, "after_header": header}


def one_line(row):
    """A row's state as one line: ``status=failed attempt_count=1 locked_by=null ...``."""
    if not isinstance(row, dict):
        return row
    return " ".join("%s=%s" % (k, "null" if v is None else v) for k, v in row.items())


def preview_with(changes):
    """check mode's idea of a row after the change: its state with ``changes`` applied
    (a dict of column: value, or column: callable(row))."""
    def preview(row):
        out = dict(row)
        for key, value in changes.items():
            if key in out:
                out[key] = value(row) if callable(value) else value
        return out
    return preview
