# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that knows how to open a PostgreSQL session for this collection.

Modelled on community.postgresql: libpq options, PG* environment defaults, a no_log
password, missing_required_lib when psycopg2 is absent. Every session sets
lock_timeout and statement_timeout, so a heal can never hang behind a worker and a
health check can never pile up behind a slow query.
"""

import os
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

# The one place psycopg2 is imported: the modules must load (for ansible-doc and
# ansible-test's import test) where it is missing, and then fail with one clear message
# (ensure_psycopg2). Every other module_utils takes psycopg2 and sql from here.
PSYCOPG2_IMPORT_ERROR = None
try:
    import psycopg2
    import psycopg2.extensions
    import psycopg2.sql
    sql = psycopg2.sql
    HAS_PSYCOPG2 = True
except ImportError:
    psycopg2 = None
    sql = None
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()


def dict_cursor():
    """psycopg2's RealDictCursor: psycopg2.extras is imported by the heal's walker only (in a
    health check's process it costs more than the queue's queries)."""
    import psycopg2.extras
    return psycopg2.extras.RealDictCursor


SSL_MODES = ["allow", "disable", "prefer", "require", "verify-ca", "verify-full"]

# The application_name every session of this collection carries, so an operator
# (and pg_stat_activity-based checks) can tell our sessions from the ERP's.
APPLICATION_NAME = "tsh.zoho_sync"


def connection_argument_spec():
    """Options shared by every module (see the doc fragment tsh.zoho_sync.connection)."""
    # No defaults where an environment variable may supply the value: Ansible applies
    # a fallback only to options without a default. Unset options are left to libpq
    # (PGHOST, PGPORT... then its own defaults; the user falls back to postgres).
    return dict(
        login_host=dict(type="str", aliases=["host"], fallback=(env_fallback, ["PGHOST"])),
        login_port=dict(type="int", aliases=["port"], fallback=(env_fallback, ["PGPORT"])),
        login_user=dict(type="str", aliases=["login"], fallback=(env_fallback, ["PGUSER"])),
        login_password=dict(type="str", no_log=True, fallback=(env_fallback, ["PGPASSWORD"])),
        login_db=dict(type="str", aliases=["db", "database"], fallback=(env_fallback, ["PGDATABASE"])),
        login_unix_socket=dict(type="str"),
        ssl_mode=dict(type="str", choices=SSL_MODES, fallback=(env_fallback, ["PGSSLMODE"])),
        ca_cert=dict(type="path", aliases=["ssl_rootcert"], fallback=(env_fallback, ["PGSSLROOTCERT"])),
        connect_timeout=dict(type="int", default=10),
        lock_timeout=dict(type="int", default=2000),
        statement_timeout=dict(type="int", default=60000),
    )


class QueueDatabaseError(Exception):
    """An error already worded for the operator (no traceback needed)."""


def ensure_psycopg2(module):
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)


def _validate_limits(module):
    params = module.params
    if params["connect_timeout"] is not None and params["connect_timeout"] < 1:
        module.fail_json(msg="connect_timeout must be at least 1 second, got %s" % params["connect_timeout"])
    for name in ("lock_timeout", "statement_timeout"):
        if params[name] is not None and params[name] < 1:
            module.fail_json(msg="%s must be a positive number of milliseconds, got %s" % (name, params[name]))
    port = params["login_port"]
    if port is not None and not 0 < port < 65536:
        module.fail_json(msg="login_port must be between 1 and 65535, got %s" % port)


def connect_params(params):
    """libpq keyword arguments from the module options (only those that are set)."""
    kw = {
        "host": params["login_host"],
        "port": params["login_port"],
        "user": params["login_user"] or "postgres",
        "password": params["login_password"],
        "dbname": params["login_db"],
        "sslmode": params["ssl_mode"] or "prefer",
        "sslrootcert": params["ca_cert"],
        "connect_timeout": params["connect_timeout"],
        "application_name": APPLICATION_NAME,
    }
    if params.get("login_unix_socket"):
        kw["host"] = params["login_unix_socket"]
    return dict((k, v) for k, v in kw.items() if v not in (None, ""))


def describe_target(params):
    """Where we tried to connect, for error messages (never the password)."""
    host = params["login_unix_socket"] or params["login_host"] or "the default socket"
    return "database %r on %s:%s as %r" % (
        params["login_db"] or "(default)", host, params["login_port"] or 5432, params["login_user"] or "postgres")


def clean_error(exc):
    """One line of a psycopg2 error, with the password never echoed back."""
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def session_options(params):
    """lock_timeout and statement_timeout as libpq startup options (after any PGOPTIONS).

    Set in the startup packet rather than with SET + COMMIT: a session setting made in a
    transaction is undone by a rollback, and a commit - even of a read-only transaction -
    counts in pg_stat_database.xact_commit, so a check-mode run would not be commit-free.
    The values are integers validated by _validate_limits, so nothing else reaches it.

    No parallel workers: every statement of the collection reads the live set or a short
    window through an index, where starting workers costs more than it saves (measured in
    docs/performance.md), and on the ERP's server they would take CPUs and background
    worker slots from the application.
    """
    ours = "-c lock_timeout=%dms -c statement_timeout=%dms -c max_parallel_workers_per_gather=0" % (
        params["lock_timeout"], params["statement_timeout"])
    inherited = os.environ.get("PGOPTIONS", "").strip()
    return (inherited + " " + ours).strip()


def connect(module, read_only=False):
    """Open a session, or fail_json with one clear message.

    Autocommit stays off: callers decide where each transaction ends. A read-only
    session is marked so at the server, so a bug can never turn a health check or a
    check-mode run into a write. Opening the session commits nothing (see
    session_options).
    """
    ensure_psycopg2(module)
    _validate_limits(module)
    params = module.params
    try:
        conn = psycopg2.connect(options=session_options(params), **connect_params(params))
    except Exception as exc:  # refused, unreachable, bad password, or an option value libpq rejects
        module.fail_json(msg="Cannot connect to %s: %s" % (describe_target(params), clean_error(exc)))
    try:
        conn.set_session(readonly=read_only, autocommit=False)
    except psycopg2.Error as exc:
        conn.close()
        module.fail_json(msg="Cannot prepare the session on %s: %s" % (describe_target(params), clean_error(exc)))
    return conn


def server_version(conn):
    with conn.cursor() as cur:
        cur.execute("SHOW server_version")
        return cur.fetchone()[0]
