# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module of the collection does before and after its own work:
merge the shared options, resolve the schema mapping, connect, check the catalog,
and turn any database error into one clear fail_json message (never a traceback,
never a password)."""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import (
    QueueDatabaseError,
    clean_error,
    connect,
    connection_argument_spec,
    describe_target,
    psycopg2,
)
from ansible_collections.tsh.zoho_sync.plugins.module_utils.queue_schema import (
    QueueSchema,
    queue_schema_argument_spec,
)

# Largest values we accept for row-count options: beyond them an operator almost
# certainly typed a wrong number, and a heal that big belongs in a maintenance window.
MAX_LIMIT = 1000000
MAX_BATCH_SIZE = 10000
MAX_TEXT = 1000
# A heal run's id: it names backup files, reports and the heal lock's session.
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,38}$")


def check_run_id(run_id):
    """The run id, or ValueError with the rule it breaks."""
    if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id):
        raise ValueError("run_id must be 1-39 letters, digits, '.', '_', ':' or '-' starting with a letter or "
                         "digit, got %r" % (str(run_id or "")[:80],))
    return run_id


def first_undecodable(value, path):
    """The option path of the first text that cannot be UTF-8 (a byte that was not UTF-8
    on the command line or in a file reaches a module as a lone surrogate), else None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeError:
            return path
    elif isinstance(value, dict):
        for key, item in value.items():
            found = first_undecodable(item, "%s.%s" % (path, key) if path else str(key))
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = first_undecodable(item, "%s[%d]" % (path, index))
            if found:
                return found
    return None


def _printable(value):
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return dict((k, _printable(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_printable(v) for v in value]
    return value


class QueueModule(AnsibleModule):
    def _log_invocation(self):
        # AnsibleModule logs every option encoded as UTF-8 and dies with a
        # UnicodeEncodeError on text that is not: fail with one clear message instead.
        bad = first_undecodable(dict((k, v) for k, v in self.params.items()
                                     if not self.argument_spec.get(k, {}).get("no_log")), "")
        if bad:
            # the invocation echoed back must be valid UTF-8 too, or the controller
            # refuses the whole result
            self.fail_json(msg="%s is not valid UTF-8 text" % bad,
                           invocation={"module_args": _printable(self.params)})
        super(QueueModule, self)._log_invocation()


def build_module(argument_spec, **kwargs):
    spec = connection_argument_spec()
    spec.update(queue_schema_argument_spec())
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    return QueueModule(argument_spec=spec, **kwargs)


def fail(module, msg, **extra):
    module.fail_json(msg=msg, **extra)


def resolve_schema(module):
    try:
        return QueueSchema(module.params.get("queue_schema") or {})
    except ValueError as exc:
        fail(module, str(exc))


def check_range(module, name, minimum=None, maximum=None):
    value = module.params.get(name)
    if value is None:
        return None
    if minimum is not None and value < minimum:
        fail(module, "%s must be at least %s, got %s" % (name, minimum, value))
    if maximum is not None and value > maximum:
        fail(module, "%s must be at most %s, got %s" % (name, maximum, value))
    return value


def check_text(module, name, required=False):
    """Free text that ends up in the database (reasons, notes): printable, bounded."""
    value = module.params.get(name)
    if value is None:
        if required:
            fail(module, "%s is required" % name)
        return None
    try:
        value.encode("utf-8")
    except UnicodeError:
        fail(module, "%s is not valid UTF-8 text" % name)
    if not value.strip():
        fail(module, "%s must not be empty" % name)
    if len(value) > MAX_TEXT:
        fail(module, "%s is %d characters long; at most %d are allowed" % (name, len(value), MAX_TEXT))
    if "\x00" in value:
        fail(module, "%s must not contain NUL characters" % name)
    return value


def check_string_list(module, name):
    values = module.params.get(name)
    if values is None:
        return None
    for value in values:
        try:
            str(value).encode("utf-8")
        except UnicodeError:
            fail(module, "%s contains text that is not valid UTF-8" % name)
        if "\x00" in str(value):
            fail(module, "%s must not contain NUL characters" % name)
    return values


def open_session(module, schema, read_only):
    """Connect and check the mapping against the catalog; fail cleanly otherwise."""
    conn = connect(module, read_only=read_only)
    try:
        schema.inspect(conn)
        conn.rollback()
    except QueueDatabaseError as exc:
        conn.close()
        fail(module, str(exc))
    except psycopg2.Error as exc:
        conn.close()
        fail(module, "Cannot read the catalog of %s: %s" % (describe_target(module.params), clean_error(exc)))
    return conn


def database_error_message(module, exc, doing, helps=None):
    """One line that says what we were doing, where, and what the server said.

    ``doing`` is ``(what a real run does, what a preview does)`` or one phrase; in check
    mode the message speaks of previewing. ``helps`` names the option that makes the
    failing statements smaller (for example ``limit``), said on a statement timeout.
    """
    if isinstance(doing, tuple):
        doing = doing[1] if module.check_mode else doing[0]
    code = getattr(exc, "pgcode", None)
    hint = ""
    if code == "55P03":
        hint = " (lock_timeout: another session held the rows; nothing was changed in this batch)"
    elif code == "57014":
        hint = " (statement_timeout; raise statement_timeout or lower %s)" % (helps or "batch_size")
    elif code == "42501":
        hint = " (permission denied: see docs/least_privilege.sql for the grants this needs)"
    elif code in ("57P01", "57P02", "57P03") or isinstance(exc, psycopg2.OperationalError):
        hint = " (the server closed the connection; %s)" % (
            "nothing was changed" if module.check_mode else "the batch in flight was rolled back")
    if module.check_mode and code != "55P03":
        hint += "; nothing was changed (check mode)"
    return "Failed while %s on %s: %s%s" % (doing, describe_target(module.params), clean_error(exc), hint)


def close_quietly(conn):
    try:
        if conn is not None and not conn.closed:
            conn.rollback()
            conn.close()
    except Exception:  # the connection may already be gone; nothing left to protect
        pass
