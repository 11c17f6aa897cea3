"""A throwaway PostgreSQL cluster for tests, the demo and the benchmarks.

Finds the server binaries (``pg_config --bindir`` or ``/usr/lib/postgresql/*/bin``),
runs ``initdb`` as the ``postgres`` user when we are root (initdb refuses root),
listens on a free loopback port with fsync off, and removes everything on stop.

Command line (used by the Makefile and shell scripts)::

    python -m testbed.pgcluster start DIR   # prints KEY=VALUE lines (PGHOST, PGPORT, ...)
    python -m testbed.pgcluster stop DIR
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SUPERUSER = "postgres"


def find_bindir():
    """Directory holding initdb/pg_ctl, newest major version first."""
    env = os.environ.get("ZOHO_PG_BINDIR")
    if env:
        return env
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    for path in candidates:
        if os.path.exists(os.path.join(path, "initdb")):
            return path
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        path = out.stdout.strip()
        if os.path.exists(os.path.join(path, "initdb")):
            return path
    except (OSError, subprocess.CalledProcessError):
        pass
    raise RuntimeError(
        "PostgreSQL server binaries not found: install them (apt-get install postgresql) "
        "or set ZOHO_PG_BINDIR"
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TempCluster:
    """One cluster in ``basedir`` (created when missing)."""

    def __init__(self, basedir=None, port=None, settings=None):
        self.bindir = find_bindir()
        self.owns_basedir = basedir is None
        self.basedir = os.path.abspath(basedir or tempfile.mkdtemp(prefix="zoho-pg-"))
        self.datadir = os.path.join(self.basedir, "data")
        self.sockdir = os.path.join(self.basedir, "sock")
        self.port = port or free_port()
        self.settings = settings or {}
        self.as_root = os.geteuid() == 0

    # -- helpers -------------------------------------------------------------
    def _run(self, args, **kw):
        if self.as_root:
            args = ["runuser", "-u", "postgres", "--"] + args
        proc = subprocess.run(args, capture_output=True, text=True, **kw)
        if proc.returncode != 0:
            raise RuntimeError("%s failed (exit %d): %s" % (
                os.path.basename(args[-1] if args[0] != "runuser" else args[4]), proc.returncode,
                (proc.stderr or proc.stdout).strip()[-2000:]))
        return proc

    def _chown(self, path):
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    @property
    def env(self):
        """libpq environment for a superuser session over TCP."""
        return {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": SUPERUSER,
            "PGDATABASE": "postgres",
        }

    def dsn(self, dbname="postgres", user=SUPERUSER, password=None):
        dsn = "host=127.0.0.1 port=%d dbname=%s user=%s" % (self.port, dbname, user)
        if password:
            dsn += " password=%s" % password
        return dsn

    # -- life cycle ----------------------------------------------------------
    def init(self):
        os.makedirs(self.basedir, exist_ok=True)
        self._chown(self.basedir)
        if self.as_root:
            os.chmod(self.basedir, 0o755)
        if not os.path.exists(os.path.join(self.datadir, "PG_VERSION")):
            pwfile = os.path.join(self.basedir, "pwfile")
            with open(pwfile, "w") as fh:
                fh.write("postgres\n")
            self._chown(pwfile)
            # trust on loopback for the superuser; md5/scram for everyone else
            self._run([
                os.path.join(self.bindir, "initdb"), "-D", self.datadir, "-U", SUPERUSER,
                "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile", pwfile,
                "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
            ])
            os.unlink(pwfile)
            with open(os.path.join(self.datadir, "pg_hba.conf"), "w") as fh:
                fh.write(
                    "local all all trust\n"
                    "host all postgres 127.0.0.1/32 trust\n"
                    "host all all 127.0.0.1/32 scram-sha-256\n"
                    "host all all ::1/128 scram-sha-256\n"
                )
            os.makedirs(self.sockdir, exist_ok=True)
            self._chown(self.sockdir)
        return self

    def start(self):
        self.init()
        opts = {
            "port": self.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "'%s'" % self.sockdir,
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": 100,
            "shared_buffers": "'128MB'",
        }
        opts.update(self.settings)
        optstr = " ".join("-c %s=%s" % (k, v) for k, v in opts.items())
        self._run([
            os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-w", "-t", "60",
            "-l", os.path.join(self.basedir, "server.log"), "-o", optstr, "start",
        ])
        self._wait_ready()
        return self

    def _wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start on port %d" % self.port)

    def stop(self, mode="fast"):
        if os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
            try:
                self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-m", mode, "-w", "stop"])
            except RuntimeError:
                pass

    def restart(self):
        self.stop()
        self.start()

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.basedir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.destroy()


def _state_file(basedir):
    return os.path.join(basedir, "cluster.env")


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        sys.stderr.write("usage: python -m testbed.pgcluster start|stop DIR\n")
        return 2
    basedir = os.path.abspath(argv[2])
    if argv[1] == "start":
        cluster = TempCluster(basedir).start()
        with open(_state_file(basedir), "w") as fh:
            for key, value in cluster.env.items():
                fh.write("%s=%s\n" % (key, value))
        for key, value in cluster.env.items():
            print("%s=%s" % (key, value))
        return 0
    port = None
    if os.path.exists(_state_file(basedir)):
        with open(_state_file(basedir)) as fh:
            for line in fh:
                if line.startswith("PGPORT="):
                    port = int(line.split("=", 1)[1])
    TempCluster(basedir, port=port).destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
