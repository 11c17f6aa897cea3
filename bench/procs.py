"""Running the collection the way Ansible does, timed, with peak memory."""

import json
import os
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "collections")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
PYTHON = os.path.join(VENV_BIN, "python") if os.path.exists(os.path.join(VENV_BIN, "python")) else "python3"


def _wait(proc):
    """Wait with wait4: the child's own rusage (ru_maxrss covers it and the
    descendants it waited for, as the largest of them, in KiB)."""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage


def _status_kib(pid, field):
    """A ``VmRSS``/``VmHWM``-style field of /proc/<pid>/status in KiB (0 when gone)."""
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class _Sampler:
    """Calls ``sample()`` every ``interval`` seconds in a thread, from ``with`` to its
    end; ``peak_kib`` is the largest value it returned."""

    def __init__(self, pid, interval):
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _loop(self):
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, self.sample())
            self._stop.wait(self.interval)


class TreeRss(_Sampler):
    """The summed RSS of a process and all its descendants (/proc); ``peak_kib`` is the
    largest sum seen."""

    def __init__(self, pid, interval=0.02):
        _Sampler.__init__(self, pid, interval)

    def _tree(self):
        children = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as fh:
                    stat = fh.read()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(name))
            except (OSError, ValueError, IndexError):
                continue
        out, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, []))
        return out

    def sample(self):
        return sum(_status_kib(pid, "VmRSS") for pid in self._tree())


class PeakRss(_Sampler):
    """The VmHWM (peak RSS since its exec) of one process.

    The rusage of wait4 cannot say it: Linux carries the memory of the process that
    forked the child into the child's ru_maxrss when the child execs (the old address
    space's high-water mark is recorded at exec), so a module started by a benchmark
    holding 120 MiB reported 120 MiB whatever it used itself. VmHWM is the new
    address space's own and only grows, so the last sample is the peak up to it."""

    def __init__(self, pid, interval=0.01):
        _Sampler.__init__(self, pid, interval)

    def sample(self):
        return _status_kib(self.pid, "VmHWM")


def run_module(name, args, env=None, check=False, sample_tree=False):
    """Run ``tsh.zoho_sync.<name>`` as a separate Python process reading
    ANSIBLE_MODULE_ARGS (what Ansible's module wrapper does, without the zip).
    Returns (wall seconds, result dict, max RSS KiB: the module's own peak, sampled;
    ru_maxrss, which also counts the benchmark's memory, only if no sample was taken)."""
    payload = dict(args)
    payload["_ansible_check_mode"] = check
    payload["_ansible_diff"] = False
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, fh)
        path = fh.name
    run_env = dict(os.environ)
    run_env["PYTHONPATH"] = COLLECTIONS + os.pathsep + run_env.get("PYTHONPATH", "")
    run_env.update(env or {})
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [PYTHON, "-m", "ansible_collections.tsh.zoho_sync.plugins.modules.%s" % name, path],
                stdout=out, stderr=err, env=run_env)
            with PeakRss(proc.pid) as peak:
                usage = _wait(proc)
            wall = time.perf_counter() - t0
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    finally:
        os.unlink(path)
    try:
        result = json.loads(stdout)
    except ValueError:
        raise RuntimeError("module %s printed no JSON (rc=%s): %s %s"
                           % (name, proc.returncode, stdout[-1500:], stderr[-1500:]))
    if result.get("failed"):
        raise RuntimeError("module %s failed: %s" % (name, result.get("msg")))
    return wall, result, peak.peak_kib or usage.ru_maxrss


# ansible-playbook's exit codes of a run that ran its play: 0, and 2 (a failed host - the
# health check's critical or unknown). The others are errors before or around the play; the
# output says little (the operator callback prints no recap), the exit code says it.
RAN_EXIT_CODES = (0, 2)


def run_playbook(playbook, env, extra_args=(), sample_tree=False, inventory=None):
    """ansible-playbook as a subprocess (on inventory/demo unless told). Returns (wall seconds,
    rc, max RSS of the largest process in the tree KiB, peak summed RSS of the tree KiB or None,
    output tail)."""
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), playbook, "-i",
           inventory or os.path.join(ROOT, "inventory", "demo")]
    cmd += list(extra_args)
    run_env = dict(os.environ)
    run_env.update(env)
    run_env["ANSIBLE_CONFIG"] = os.path.join(ROOT, "ansible.cfg")
    run_env["PATH"] = VENV_BIN + os.pathsep + run_env.get("PATH", "")
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=run_env, cwd=ROOT)
        tree = None
        if sample_tree:
            with TreeRss(proc.pid) as sampler:
                usage = _wait(proc)
            tree = sampler.peak_kib
        else:
            usage = _wait(proc)
        wall = time.perf_counter() - t0
        out.seek(0)
        tail = out.read().decode("utf-8", "replace")[-3000:]
    return wall, proc.returncode, usage.ru_maxrss, tree, tail
