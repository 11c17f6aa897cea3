# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The heal lock: one heal at a time per database, for a whole playbook run.

A PostgreSQL session-level advisory lock lives exactly as long as the session that
took it, but a heal is many module invocations, each its own process. So the lock is
held by a small detached *holder* process (double fork, own session, stdio closed so
Ansible does not wait for it) with its own connection, whose application_name names
the run: ``tsh.zoho_sync heal-lock <run_id>``. The holder ends - and the server drops
the lock with its session - when:

* the role releases it (``state: released`` terminates the holder's backend, and
  signals the holder process when it runs on the same host);
* its owner process disappears: the outermost ``ansible-playbook`` among the
  module's ancestors (local connection), else the ``sshd`` session it runs under
  (remote host), polled every second - so a SIGKILLed heal frees the lock within
  about a second locally;
* its time to live passes (a hard upper bound whatever happens);
* its connection dies (server restart, backend terminated by an administrator).

Nothing is written to the database: the session's timeouts are startup options (as in
every module session), and the lock is taken inside a transaction that is rolled back
(session advisory locks survive a rollback), so pg_stat_database sees no commit beyond
the one each new session makes while it starts, and no tuple written.
"""

import hashlib
import json
import os
import select
import signal
import struct
import time

LOCK_NAMESPACE = "tsh.zoho_sync/heal"
APP_PREFIX = "tsh.zoho_sync heal-lock "
PROCESS_NAME = b"zoho-heal-lock"


def lock_key(database):
    """The advisory lock key (a signed 64-bit integer) for one database."""
    digest = hashlib.sha256((LOCK_NAMESPACE + "\0" + database).encode("utf-8")).digest()
    return struct.unpack(">q", digest[:8])[0]


def key_halves(key):
    """How pg_locks shows a bigint advisory key: classid (high half), objid (low half)."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


HOLDER_QUERY = """
SELECT a.pid, a.application_name, a.usename::text, host(a.client_addr), a.backend_start
  FROM pg_catalog.pg_locks l
  JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
   AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
   AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid
"""


def lock_holders(cur, key):
    hi, lo = key_halves(key)
    cur.execute(HOLDER_QUERY, (hi, lo))
    out = []
    for pid, app, user, addr, started in cur.fetchall():
        app = app or ""
        out.append({
            "backend_pid": pid,
            "application_name": app,
            "run_id": app[len(APP_PREFIX):] if app.startswith(APP_PREFIX) else None,
            "user": user,
            "client_addr": addr,
            "since": started.isoformat() if started else None,
        })
    return out


# -- processes ------------------------------------------------------------------

def proc_stat(pid):
    """(state, ppid, starttime) of a process from /proc, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            data = fh.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return None
    # the command name may contain spaces and parentheses: split after the last ')'
    rest = data[data.rfind(")") + 2:].split()
    return rest[0], int(rest[1]), rest[19]


def proc_argv(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
    except (IOError, OSError):
        return []


def alive(pid, starttime):
    """The process still exists, is not a zombie, and is the same one (no pid reuse)."""
    info = proc_stat(pid)
    if info is None:
        return False
    state, _ppid, start = info
    return state not in ("Z", "X") and (starttime is None or start == starttime)


def _is_playbook(argv):
    for arg in argv[:2]:
        if os.path.basename(arg).startswith("ansible-playbook"):
            return True
    return False


def find_owner(pid=None):
    """Who the lock belongs to: the outermost ansible-playbook among our ancestors
    (local connection), else the sshd session we run under (remote), else nobody."""
    chain = []
    pid = pid or os.getpid()
    seen = set()
    while pid and pid not in seen:  # up to and including pid 1 (a container's entrypoint)
        seen.add(pid)
        info = proc_stat(pid)
        if info is None:
            break
        chain.append((pid, info[2], proc_argv(pid)))
        pid = info[1]
    playbooks = [c for c in chain if _is_playbook(c[2])]
    if playbooks:
        pid, start, _argv = playbooks[-1]
        return {"kind": "ansible-playbook", "pid": pid, "starttime": start}
    for pid, start, argv in chain:
        if argv and argv[0].startswith("sshd:"):
            return {"kind": "sshd", "pid": pid, "starttime": start}
    return {"kind": "none", "pid": None, "starttime": None}


def _set_process_name():
    """Name the holder 'zoho-heal-lock' in ps/top and /proc/<pid>/comm (Linux only)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        libc.prctl(15, ctypes.c_char_p(PROCESS_NAME), 0, 0, 0)  # PR_SET_NAME
    except Exception:  # not Linux, or no libc: the name is cosmetic
        pass


def is_holder_process(pid):
    try:
        with open("/proc/%d/comm" % pid, "rb") as fh:
            return fh.read().strip() == PROCESS_NAME
    except (IOError, OSError):
        return False


# -- the holder -------------------------------------------------------------------

def _detach_fds(keep):
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)
    try:
        maxfd = os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        maxfd = 1024
    os.closerange(3, keep)
    os.closerange(keep + 1, maxfd)


def _report(fd, payload):
    data = (json.dumps(payload) + "\n").encode("utf-8")
    try:
        while data:
            written = os.write(fd, data)
            data = data[written:]
    finally:
        os.close(fd)


def spawn_holder(hold, timeout):
    """Run ``hold(report)`` in a detached grandchild; return what it reported
    through ``report(dict)`` (a dict), or an error dict after ``timeout`` seconds."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: new session, fork again so the holder is nobody's child
        try:
            os.close(rfd)
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            os.chdir("/")
            os.umask(0o077)
            _detach_fds(wfd)
            _set_process_name()
            state = {"fd": wfd}

            def report(payload):
                if state["fd"] is not None:
                    fd, state["fd"] = state["fd"], None
                    _report(fd, payload)

            try:
                hold(report)
            except BaseException as exc:  # the parent must always hear back
                report({"error": "heal lock holder failed: %s" % (str(exc).strip().splitlines() or ["?"])[0]})
        finally:
            os._exit(0)
    os.close(wfd)
    os.waitpid(pid, 0)
    chunks = []
    deadline = time.time() + timeout
    try:
        while True:
            left = deadline - time.time()
            if left <= 0:
                return {"error": "the heal lock holder did not report within %d seconds" % timeout}
            ready, _w, _x = select.select([rfd], [], [], left)
            if not ready:
                continue
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(rfd)
    text = b"".join(chunks).decode("utf-8", "replace").strip()
    if not text:
        return {"error": "the heal lock holder exited without reporting"}
    try:
        return json.loads(text.splitlines()[0])
    except ValueError:
        return {"error": "the heal lock holder reported garbage: %r" % text[:200]}


def hold_until_done(conn, owner, deadline, poll_seconds=1.0):
    """Block while the lock should be held; returns why it ended."""
    stop = {"why": None}

    def on_term(_signum, _frame):
        stop["why"] = "released (SIGTERM)"

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    fileno = conn.fileno()
    while stop["why"] is None:
        now = time.time()
        if now >= deadline:
            return "ttl expired"
        if owner.get("pid") and not alive(owner["pid"], owner.get("starttime")):
            return "owner %s (pid %s) is gone" % (owner["kind"], owner["pid"])
        try:
            ready, _w, _x = select.select([fileno], [], [], min(poll_seconds, max(deadline - now, 0.01)))
        except (OSError, ValueError):  # (EINTR is retried by Python itself, PEP 475)
            return "connection lost"
        if ready:
            # the server only talks to an idle session to end it (terminated, shutdown)
            try:
                conn.poll()
            except Exception:
                return "connection closed by the server"
            if conn.closed:
                return "connection closed"
            time.sleep(poll_seconds)
    return stop["why"]
