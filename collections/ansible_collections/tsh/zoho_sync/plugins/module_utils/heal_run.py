# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared life of a module that writes: validated options, one session, the
privileges its actions need, one walk per action, and a result with counts, ids,
skipped rows, the words of each action and the diff.

The options ``limit`` and ``batch_size`` are documented once, in the doc fragment
``tsh.zoho_sync.walk``; ``diff_rows``, ``full_report`` and ``rows_file`` in ``tsh.zoho_sync.rows``.
"""

import os

from ansible_collections.tsh.zoho_sync.plugins.module_utils import catalog
from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_actions as ha
from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_queries as hq
from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import QueueDatabaseError, psycopg2
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
from ansible_collections.tsh.zoho_sync.plugins.module_utils.preview import diff_text, markdown_section
from ansible_collections.tsh.zoho_sync.plugins.module_utils.walker import KeysetSource, Tally, UpdateStep, Walker

LEAST_PRIVILEGE = "docs/least_privilege.sql"


def rows_argument_spec():
    """The options of the doc fragment tsh.zoho_sync.rows."""
    return dict(diff_rows=dict(type="int", default=50), full_report=dict(type="str"), rows_file=dict(type="path"))


def walk_argument_spec(limit=1000, batch_size=200):
    """The options of the doc fragments tsh.zoho_sync.walk (defaults per module) and rows."""
    spec = dict(limit=dict(type="int", default=limit), batch_size=dict(type="int", default=batch_size))
    spec.update(rows_argument_spec())
    return spec


def queue_filter_spec():
    return dict(entity_types=dict(type="list", elements="str"), max_attempts=dict(type="int"))


class HealRun(object):
    """Validates the shared options, opens the session (read-only in check mode) and
    walks actions."""

    def __init__(self, module, related=False):
        self.module = module
        p = module.params
        check_range(module, "limit", 1, MAX_LIMIT)
        check_range(module, "batch_size", 1, MAX_BATCH_SIZE)
        check_range(module, "diff_rows", 0, MAX_LIMIT)
        check_range(module, "max_attempts", 1, 100)
        check_string_list(module, "entity_types")
        check_string_list(module, "ids")
        self.schema = resolve_schema(module)
        self.check_mode = module.check_mode
        self.diff = module._diff
        # the rows go into the result (and the diff) in check mode and with --diff
        self.keep_rows = self.check_mode or self.diff
        self.conn = open_session(module, self.schema, read_only=self.check_mode)
        try:
            if related:
                self.schema.inspect_related(self.conn)
            self.entity_types = self.schema.validate_entity_types(p.get("entity_types"))
            self.ids = self.schema.validate_ids(p.get("ids"))
            with self.conn.cursor() as cur:
                self.role = catalog.current_role(cur)
                cur.execute("SELECT current_database()")
                self.database = cur.fetchone()[0]
            if not self.check_mode:
                self.conn.rollback()
        except ValueError as exc:
            self.fail(str(exc))
        except QueueDatabaseError as exc:
            self.fail(str(exc))
        except psycopg2.Error as exc:
            self.fail(database_error_message(module, exc, "reading the catalog"))
        self.remaining = p.get("limit")

    # -- options -------------------------------------------------------------------------
    def filters(self):
        """The entity and id filters as conditions (added to every queue action)."""
        out = []
        if self.entity_types:
            out.append(ha.entity_filter(self.entity_types))
        if self.ids:
            out.append(ha.id_filter(self.ids))
        return out

    def params(self, **more):
        p = self.module.params
        out = {"max_attempts": p.get("max_attempts"), "reason": p.get("reason")}
        if self.entity_types:
            out["entity_types"] = tuple(self.entity_types)
        if self.ids:
            out["filter_ids"] = tuple(self.ids)
        out.update(more)
        return hq.statement_args(out)

    # -- privileges --------------------------------------------------------------------------
    def missing(self, action):
        with self.conn.cursor() as cur:
            missing = catalog.missing_privileges(cur, hq.needed_privileges(action, self.schema))
        if not self.check_mode:
            self.conn.rollback()
        return missing

    def require(self, actions, doing):
        """Before anything is written: every privilege every action of this run needs.
        A real run without one fails here, having changed nothing; a preview says per
        action what the real run would be refused (``Tally.refused``)."""
        refusals = {}
        for action in actions:
            missing = self.missing(action)
            if missing:
                refusals[action.name] = (missing, catalog.describe_missing(missing))
        if refusals and not self.check_mode:
            self.fail("The connected role %s lacks %s, which %s needs; nothing was changed (the grants are in %s)"
                      % (self.role, "; ".join(text for _m, text in refusals.values()), doing, LEAST_PRIVILEGE))
        return refusals

    # -- walking ---------------------------------------------------------------------------
    def walk(self, action, args, doing, limit=None, source=None, step=None, refusals=None, max_ids=None,
             table=None):
        """One walk of ``action``; returns its Tally. ``doing`` is (real run, preview) for
        error messages."""
        tally = Tally(action, table or action.table, keep_rows=self.keep_rows, max_ids=max_ids, max_rows=max_ids)
        refused = (refusals or {}).get(action.name)
        if refused:
            tally.refused = refused[1]
            if any(m.privilege == "SELECT" for m in refused[0]):
                return tally  # cannot even preview: the selection itself would be refused
        limit = self.remaining if limit is None else limit
        if limit <= 0:
            return tally
        source = source or KeysetSource(action, self.schema, args, self.keep_rows)
        step = step or UpdateStep(action, self.schema, args, self.keep_rows)
        try:
            Walker(self.conn, source, step, tally, limit, self.module.params["batch_size"], self.check_mode).run()
        except QueueDatabaseError as exc:
            self.fail(str(exc), tally)
        except psycopg2.Error as exc:
            msg = database_error_message(self.module, exc, doing, helps="limit" if self.check_mode else
                                         "batch_size or limit")
            if getattr(exc, "pgcode", None) == "23503":
                msg += (" (a row's parent is neither in the database nor in the backup: this batch was rolled back, "
                        "the batches before it stay restored)" if action.inserts else
                        " (another table references these rows: the batch was rolled back and nothing of it changed)")
            self.fail(msg, tally)
        if self.remaining is not None and limit == self.remaining:
            self.remaining = max(self.remaining - tally.count, 0)
        return tally

    def fail(self, msg, tally=None, **extra):
        close_quietly(self.conn)
        if tally is not None:
            extra.setdefault("done_before_failure", tally.count)
        fail(self.module, msg, **extra)

    def close(self):
        close_quietly(self.conn)

    # -- results -------------------------------------------------------------------------------
    def part(self, tally, name=None):
        """What the result (and the audit record) says of one action."""
        action = tally.action
        out = {"name": name or action.name, "table": tally.table, "count": tally.count, "ids": tally.ids,
               "rows_total": tally.count + sum(d["count"] for d in tally.dependents.values()),
               "skipped_locked": tally.skipped, "batches": tally.batches,
               "condition": action.condition_words(), "change": action.change_words(self.schema),
               "summary": action.summary(tally.count, self.check_mode, tally.refused),
               "headline": action.summary(tally.count, self.check_mode, tally.refused, condition=False),
               "refused": tally.refused}
        if self.keep_rows:
            rows = list(tally.rows)
            for dep in tally.dependents.values():
                rows.extend(dep["rows"])
            out["rows"] = rows
        return out

    def _write_rows(self, path, parts):
        """Append every row of ``parts`` to ``path`` (Markdown, mode 0600)."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                for part in parts:
                    fh.write(markdown_section(part))
        except (IOError, OSError) as exc:
            self.module.warn("Cannot write the rows to %s: %s; the result lists the first rows only" % (path, exc))

    def diff_output(self, parts):
        """``prepared`` text: Ansible prints it as it is with --diff."""
        p = self.module.params
        return {"prepared": diff_text(parts, p.get("diff_rows", 50), p.get("full_report"))}

    def exit(self, parts, **out):
        """exit_json with ``parts`` (one per action, from part()) and ``out``."""
        self.close()
        refused = [x for x in parts if x.get("refused")]
        # work the real run would be refused is not a change it would make
        out.setdefault("changed", any(x["count"] for x in parts if not x.get("refused")))
        if "msg" not in out:
            out["msg"] = "; ".join(x["summary"] for x in parts)
        elif refused and self.check_mode:
            out["msg"] += "; the real run would be refused: the connected role lacks %s" % "; ".join(
                x["refused"] for x in refused)
        out["missing_privileges"] = ["%s: %s" % (x["name"], x["refused"]) for x in refused]
        if self.diff:
            out["diff"] = self.diff_output(parts)
        if self.keep_rows:
            rows_file = self.module.params.get("rows_file")
            if rows_file:
                # every row to a file, the first ones in the result: tens of thousands of rows
                # in a result cost ansible-core seconds each time a task touches them
                self._write_rows(rows_file, parts)
                keep = self.module.params.get("diff_rows", 50)
                for x in parts:
                    x["rows"] = x["rows"][:keep]
                out["rows_file"] = rows_file
            out["rows"] = [dict(r, action=x["name"]) for x in parts for r in x.pop("rows", [])]
        out["actions"] = parts
        if refused and self.check_mode:
            self.module.warn("%s: the real run would be refused (the connected role %s lacks %s); see %s"
                             % (", ".join(x["name"] for x in refused), self.role,
                                "; ".join(x["refused"] for x in refused), LEAST_PRIVILEGE))
        self.module.exit_json(**out)
