"""The Molecule scenarios (molecule/<name>/molecule.yml), each run as an operator runs
it: `molecule test -s <name>` from the repository root, against real podman
containers with systemd, PostgreSQL and the running sync worker.

When they run: whenever podman can run containers here (podman and runc installed,
`podman info` works with molecule/image/containers.conf, and the test image is built
or can be built: debootstrap installed). Otherwise they are skipped with the reason -
except under CI=true, where a missing container runtime fails the run instead
(`.ci/run` installs podman, runc and debootstrap and builds the image first).

The image is brought up to date once per session with molecule/image/build.sh (a no-op
when its inputs are unchanged: the tag is a content hash) and the scenarios run that
exact tag. The scenarios run side by side (TSH_MOLECULE_JOBS at a time, default 4), each
in its own container; each one's full output goes to artifacts/molecule/<name>.log.
"""

import concurrent.futures
import hashlib
import os
import shutil
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOLECULE_DIR = os.path.join(ROOT, "molecule")
CONTAINERS_CONF = os.path.join(MOLECULE_DIR, "image", "containers.conf")
BUILD_SCRIPT = os.path.join(MOLECULE_DIR, "image", "build.sh")
LOG_DIR = os.path.join(ROOT, "artifacts", "molecule")
SCENARIO_TIMEOUT = int(os.environ.get("TSH_MOLECULE_TIMEOUT", "1800"))
# Scenarios run side by side, this many at a time.
JOBS = int(os.environ.get("TSH_MOLECULE_JOBS", "4"))
IMAGE_NAME = os.environ.get("TSH_MOLECULE_IMAGE_NAME", "localhost/tsh-zoho-molecule")


def _scenarios():
    return sorted(name for name in os.listdir(MOLECULE_DIR)
                  if os.path.isfile(os.path.join(MOLECULE_DIR, name, "molecule.yml")))


def _in_ci():
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _env():
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = CONTAINERS_CONF
    # Molecule writes its own ansible.cfg per scenario; the repository's is not for it.
    env.pop("ANSIBLE_CONFIG", None)
    env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "PY_COLORS": "0", "NO_COLOR": "1",
                "PYTHONUNBUFFERED": "1"})
    # The venv's molecule and ansible first on PATH (make puts them there too).
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def _run(cmd, timeout=120, env=None):
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env or _env(), capture_output=True, text=True,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, "", str(exc)
    return proc.returncode, proc.stdout, proc.stderr


def _runtime_problem():
    """Why podman cannot run the scenarios here, or None."""
    missing = [tool for tool in ("podman", "runc") if shutil.which(tool) is None]
    if missing:
        return "%s not installed (.ci/install-podman.sh installs them)" % " and ".join(missing)
    rc, out, err = _run(["podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"])
    if rc != 0:
        return "podman info fails with CONTAINERS_CONF=%s: %s" % (CONTAINERS_CONF, (err or out).strip()[-500:])
    if out.strip() != "runc":
        return "podman uses runtime %r, the scenarios need runc (molecule/image/containers.conf)" % out.strip()
    rc, _, _ = _run(["podman", "image", "exists", IMAGE_NAME + ":latest"])
    if rc != 0 and shutil.which("debootstrap") is None:
        return "the test image %s is not built and debootstrap is not installed to build it" % IMAGE_NAME
    return None


@pytest.fixture(scope="session")
def molecule_image():
    """The test image's content-hash tag, built (or found up to date) by build.sh."""
    problem = _runtime_problem()
    if problem:
        if _in_ci():
            pytest.fail("CI=true but the Molecule scenarios cannot run: %s" % problem, pytrace=False)
        pytest.skip("Molecule scenarios skipped: %s" % problem)
    rc, out, err = _run(["bash", BUILD_SCRIPT], timeout=3600)
    if rc != 0:
        pytest.fail("molecule/image/build.sh failed (rc %s):\n%s\n%s" % (rc, out[-3000:], err[-6000:]),
                    pytrace=False)
    tag = out.strip().splitlines()[-1] if out.strip() else ""
    if not tag.startswith(IMAGE_NAME + ":"):
        pytest.fail("molecule/image/build.sh printed no image tag: %r" % out[-500:], pytrace=False)
    return tag


class ScenarioRuns:
    """Runs `molecule test -s <name>` for the selected scenarios, up to `jobs` at a time
    (each in its own container; most of a run is waiting on podman and the container,
    so running them side by side shortens the whole), and hands each test its result."""

    def __init__(self, scenarios, image, jobs):
        self.image = image
        self.futures = {}
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
        for name in scenarios:
            self.futures[name] = self.executor.submit(self._run, name)

    def _run(self, scenario):
        env = _env()
        env["TSH_MOLECULE_IMAGE"] = self.image
        # container names of this checkout (scenarios whose platform name uses it)
        env.setdefault("TSH_MOLECULE_SUFFIX", "-" + hashlib.sha1(ROOT.encode()).hexdigest()[:8])
        molecule = os.path.join(os.path.dirname(sys.executable), "molecule")
        cmd = [molecule if os.path.exists(molecule) else "molecule", "test", "-s", scenario]
        started = time.time()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=SCENARIO_TIMEOUT)
            output, rc = proc.stdout, proc.returncode
        except subprocess.TimeoutExpired as exc:
            output = exc.stdout or ""
            if isinstance(output, bytes):
                output = output.decode("utf-8", "replace")
            output, rc = output + "\n[timed out after %ss]" % SCENARIO_TIMEOUT, None
            # a timed-out run leaves its container behind
            subprocess.run([cmd[0], "destroy", "-s", scenario], cwd=ROOT, env=env, capture_output=True,
                           timeout=300)
        seconds = time.time() - started
        os.makedirs(LOG_DIR, exist_ok=True)
        log = os.path.join(LOG_DIR, scenario + ".log")
        with open(log, "w", encoding="utf-8") as fh:
            fh.write(output)
            fh.write("\n[molecule test -s %s: rc %s in %.0f s]\n" % (scenario, rc, seconds))
        return rc, output, log, seconds

    def result(self, scenario):
        return self.futures[scenario].result()

    def close(self):
        self.executor.shutdown(wait=True)


@pytest.fixture(scope="session")
def scenario_runs(request, molecule_image):
    selected = [item.callspec.params["scenario"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_scenario" and hasattr(item, "callspec")]
    runs = ScenarioRuns(selected, molecule_image, JOBS)
    yield runs
    runs.close()


@pytest.mark.parametrize("scenario", _scenarios())
def test_scenario(scenario, scenario_runs):
    rc, output, log, seconds = scenario_runs.result(scenario)
    assert rc == 0, "molecule test -s %s failed (rc %s after %.0f s, full log: %s):\n%s" % (
        scenario, rc, seconds, os.path.relpath(log, ROOT), output[-12000:])
