#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: zoho_heal_lock
short_description: (internal) Hold the one-heal-at-a-time lock of a Zoho sync database for a whole playbook run
version_added: 0.1.0
description:
  - Takes (O(state=acquired)) or gives back (O(state=released)) a PostgreSQL advisory lock that allows one
    heal at a time per database. The key is derived from a fixed namespace (C(tsh.zoho_sync/heal)) and the
    database name (first 8 bytes of SHA-256, as one C(bigint) key), so two heals of different databases never
    block each other and two heals of the same database always do, whatever host they run from.
  - A session advisory lock lives as long as its session, and a heal is many module runs. So O(state=acquired)
    starts a detached holder process (double fork, own session, no stdio, named C(zoho-heal-lock)) with its own
    connection, whose C(application_name) is C(tsh.zoho_sync heal-lock <run_id>). The holder takes
    C(pg_try_advisory_lock) and reports the outcome through a pipe before the module returns; then it holds
    the lock until O(state=released), until O(ttl) seconds pass, until its owner disappears, or until its
    connection dies.
  - The owner is found among the module's ancestor processes - the outermost C(ansible-playbook) process
    (local connection, the usual cron or AWX set-up where the control node reaches the database), else the
    C(sshd) session the module runs under (remote host; with SSH connection multiplexing the session lives
    until the control master exits, by default 60 seconds after its last use), else nobody (O(ttl) alone
    bounds the lock). O(owner_pid) names the owner explicitly. The holder checks its owner every second, so a
    heal killed with SIGKILL frees the lock about a second later (local connection).
  - When another run holds the lock the module succeeds with RV(acquired=false) and RV(held_by) (its run id,
    since when, from where); the caller decides what to do (the C(zoho_heal) role says so and ends the play
    for that host with no action).
  - Acquiring again with the run id that holds the lock succeeds (RV(already_held=true)) without a second holder.
  - Nothing is written to the database - the lock is taken in a transaction that is rolled back (session
    advisory locks survive a rollback) - so the module reports no change. In check mode it behaves the same -
    a preview holds the lock too, so it never races a real heal.
author:
  - TSH operations team (@tsh-ops)
extends_documentation_fragment:
  - tsh.zoho_sync.connection
  - tsh.zoho_sync.queue_schema
  - tsh.zoho_sync.attributes
attributes:
  check_mode:
    support: full
    details: Identical behaviour - a preview holds the lock too, so it never races a real heal.
  diff_mode:
    support: none
options:
  state:
    description:
      - V(acquired) takes the lock for O(run_id), V(released) gives it back.
    type: str
    choices: [ acquired, released ]
    default: acquired
  run_id:
    description:
      - The heal run the lock belongs to; letters, digits, C(.), C(_), C(:) and C(-), at most 39 characters.
    type: str
    required: true
  ttl:
    description:
      - Seconds after which the holder gives the lock up whatever happens (an upper bound for a heal run).
    type: int
    default: 3600
  owner_pid:
    description:
      - Process id (on the host running the module) whose end releases the lock. By default found among the
        module's ancestors (see the description). V(0) means no owner - only O(ttl) and O(state=released) end it.
    type: int
  holder_pid:
    description:
      - With O(state=released), the RV(holder_pid) the acquiring run returned. When that process is a heal lock
        holder on this host it is also sent SIGTERM (ending its session on the server is what frees the lock).
    type: int
  wait:
    description:
      - Seconds to keep trying while another run holds the lock, before giving up with RV(acquired=false).
    type: int
    default: 0
notes:
  - O(queue_schema) is accepted for C(module_defaults) groups and otherwise unused.
  - Needs no privilege beyond connecting. O(state=released) ends the holder's session with
    C(pg_terminate_backend), which PostgreSQL allows on one's own role's sessions.
seealso:
  - module: tsh.zoho_sync.zoho_requeue
  - module: tsh.zoho_sync.zoho_cleanup
'''

EXAMPLES = r'''
- name: Take the heal lock for this run
  tsh.zoho_sync.zoho_heal_lock:
    login_db: tsh_erp
    run_id: "{{ zoho_heal_run_id }}"
    ttl: 3600
  register: heal_lock

- name: Stop here when another heal runs
  ansible.builtin.meta: end_host
  when: not heal_lock.acquired

- name: Give the lock back
  tsh.zoho_sync.zoho_heal_lock:
    login_db: tsh_erp
    run_id: "{{ zoho_heal_run_id }}"
    state: released
'''

RETURN = r'''
acquired:
  description: With O(state=acquired), whether this run holds the lock now.
  returned: always
  type: bool
already_held:
  description: The lock was already held by this O(run_id).
  returned: always
  type: bool
released:
  description: With O(state=released), whether a holder of this run was found and ended.
  returned: always
  type: bool
held_by:
  description:
    - Who holds the lock when this run does not - C(run_id) (null when the holder is not a heal of this
      collection), C(application_name), C(since), C(user), C(client_addr), C(backend_pid).
  returned: when another session holds the lock
  type: dict
run_id:
  description: The O(run_id).
  returned: always
  type: str
database:
  description: The database the lock is for.
  returned: always
  type: str
key:
  description: The advisory lock key (C(pg_try_advisory_lock(bigint))).
  returned: always
  type: int
holder_pid:
  description: Process id of the holder (on the host running the module).
  returned: when acquired
  type: int
backend_pid:
  description: Server process id of the holder's session.
  returned: when acquired
  type: int
since:
  description: When the lock was taken (database time, ISO 8601).
  returned: when acquired
  type: str
expires_at:
  description: When O(ttl) ends the holder (database time, ISO 8601).
  returned: when acquired
  type: str
owner:
  description: What ends the lock besides release and O(ttl) - C(kind) (C(ansible-playbook), C(sshd),
    C(pid) or C(none)) and C(pid).
  returned: when acquired
  type: dict
'''

import os
import signal
import time

from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_lock as hl
from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import (
    clean_error,
    connect,
    connect_params,
    describe_target,
    ensure_psycopg2,
    psycopg2,
    session_options,
)
from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import (
    build_module,
    check_range,
    check_run_id,
    close_quietly,
    database_error_message,
    fail,
)


def holder_connection(params, run_id):
    kw = connect_params(params)
    kw["application_name"] = hl.APP_PREFIX + run_id
    # keepalives so a dead network ends the holder too
    kw.update(keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
    # the timeouts as startup options, as every module session (connection.connect):
    # nothing is committed, everything the holder does is rolled back
    kw["options"] = session_options(params)
    conn = psycopg2.connect(**kw)
    conn.set_session(autocommit=False)
    return conn


def make_holder(params, run_id, ttl, owner, wait):
    def hold(report):
        try:
            conn = holder_connection(params, run_id)
        except psycopg2.Error as exc:
            report({"error": "Cannot connect to %s: %s" % (describe_target(params), clean_error(exc))})
            return
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_database()")
                database = cur.fetchone()[0]
                key = hl.lock_key(database)
                deadline_wait = time.time() + wait
                while True:
                    cur.execute("SELECT pg_try_advisory_lock(%s), now(), now() + make_interval(secs => %s)",
                                (key, ttl))
                    got, since, expires = cur.fetchone()
                    holders = [] if got else hl.lock_holders(cur, key)
                    conn.rollback()  # the session lock survives; nothing is committed
                    if got or time.time() >= deadline_wait:
                        break
                    time.sleep(1)
            base = {"database": database, "key": key}
            if not got:
                mine = [h for h in holders if h["run_id"] == run_id]
                if mine:
                    report(dict(base, acquired=True, already_held=True, backend_pid=mine[0]["backend_pid"],
                                since=mine[0]["since"]))
                else:
                    report(dict(base, acquired=False, already_held=False,
                                held_by=holders[0] if holders else {"run_id": None, "application_name": None,
                                                                    "since": None, "user": None,
                                                                    "client_addr": None, "backend_pid": None}))
                return
            report(dict(base, acquired=True, already_held=False, holder_pid=os.getpid(),
                        backend_pid=conn.get_backend_pid(), since=since.isoformat(), expires_at=expires.isoformat(),
                        owner={"kind": owner["kind"], "pid": owner["pid"]}))
            hl.hold_until_done(conn, owner, time.time() + ttl)
        finally:
            try:
                conn.close()  # ends the session: the server drops the lock
            except Exception:  # already gone
                pass
    return hold


def release(module, run_id):
    conn = connect(module, read_only=False)
    out = {"acquired": False, "already_held": False, "released": False, "run_id": run_id}
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            database = cur.fetchone()[0]
            key = hl.lock_key(database)
            out.update(database=database, key=key)
            holders = hl.lock_holders(cur, key)
            mine = [h for h in holders if h["run_id"] == run_id]
            others = [h for h in holders if h["run_id"] != run_id]
            for holder in mine:
                cur.execute("SELECT pg_terminate_backend(%s)", (holder["backend_pid"],))
            conn.rollback()
            if mine:
                out["released"] = True
                deadline = time.time() + 10
                while time.time() < deadline:
                    left = [h for h in hl.lock_holders(cur, key) if h["run_id"] == run_id]
                    conn.rollback()
                    if not left:
                        break
                    time.sleep(0.2)
                else:
                    close_quietly(conn)
                    fail(module, "The heal lock of run %s is still held 10 seconds after ending its session" % run_id,
                         **out)
            if others:
                out["held_by"] = others[0]
    except psycopg2.Error as exc:
        close_quietly(conn)
        fail(module, database_error_message(module, exc, "releasing the heal lock"))
    close_quietly(conn)
    holder_pid = module.params.get("holder_pid")
    if holder_pid and hl.is_holder_process(holder_pid):
        try:
            os.kill(holder_pid, signal.SIGTERM)
        except OSError:
            pass
    return out


def main():
    module = build_module(dict(
        state=dict(type="str", default="acquired", choices=["acquired", "released"]),
        run_id=dict(type="str", required=True),
        ttl=dict(type="int", default=3600),
        owner_pid=dict(type="int"),
        holder_pid=dict(type="int"),
        wait=dict(type="int", default=0),
    ))
    p = module.params
    run_id = p["run_id"]
    try:
        check_run_id(run_id)
    except ValueError as exc:
        fail(module, str(exc))
    check_range(module, "ttl", 10, 86400)
    check_range(module, "wait", 0, 3600)
    check_range(module, "owner_pid", 0)
    ensure_psycopg2(module)
    if p["state"] == "released":
        out = release(module, run_id)
        msg = "Heal lock of run %s released" % run_id if out["released"] else \
            "Heal run %s held no lock (already released, or its time to live passed)" % run_id
        module.exit_json(changed=False, msg=msg, **out)

    if p["owner_pid"] is None:
        owner = hl.find_owner()
    elif p["owner_pid"] == 0:
        owner = {"kind": "none", "pid": None, "starttime": None}
    else:
        info = hl.proc_stat(p["owner_pid"])
        if info is None:
            fail(module, "owner_pid %d is not a running process on this host" % p["owner_pid"])
        owner = {"kind": "pid", "pid": p["owner_pid"], "starttime": info[2]}
    # connect once here so bad options fail with the usual message, not from the holder
    probe = connect(module, read_only=True)
    close_quietly(probe)

    result = hl.spawn_holder(make_holder(p, run_id, p["ttl"], owner, p["wait"]),
                             timeout=p["connect_timeout"] + p["wait"] + 30)
    if "error" in result:
        fail(module, result["error"])
    result["run_id"] = run_id
    result["released"] = False
    if result["acquired"]:
        msg = "Heal lock taken by run %s" % run_id if not result["already_held"] else \
            "Heal lock already held by this run (%s)" % run_id
    else:
        held = result["held_by"]
        msg = "Another heal holds the lock of database %s: run %s since %s%s; nothing done" % (
            result["database"], held.get("run_id") or ("(application %r)" % held.get("application_name")),
            held.get("since"), " from %s" % held["client_addr"] if held.get("client_addr") else "")
    module.exit_json(changed=False, msg=msg, **result)


if __name__ == "__main__":
    main()
