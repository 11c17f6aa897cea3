"""molecule/image/build.sh from nothing: on a machine with no image of its name (a fresh
CI machine), the build must succeed and print its tag; its clean-up of earlier images
must remove what is stale and must not fail when there is nothing to remove.

Each test builds under an image name of its own (no earlier image of that name exists),
on top of the layers the session's real build left in podman's cache, so it costs seconds.
"""

import subprocess
import uuid

import pytest

from tests.molecule.test_scenarios import BUILD_SCRIPT, _env, _run, molecule_image  # noqa: F401


@pytest.fixture
def fresh_name(molecule_image):  # noqa: F811 - the session's build warms the layer cache
    name = "localhost/tsh-zoho-buildtest-" + uuid.uuid4().hex[:8]
    yield name
    out = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"],
                         env=_env(), capture_output=True, text=True).stdout.split()
    for ref in out:
        if ref.startswith(name + ":"):
            subprocess.run(["podman", "rmi", "-f", ref], env=_env(), capture_output=True)


def _build(name, *args):
    env = _env()
    env["TSH_MOLECULE_IMAGE_NAME"] = name
    # the clean-up is what is tested: on, whatever the caller's shell says (it only
    # touches this test's own image name and rootfs images other than the current one)
    env["TSH_KEEP_OLD_IMAGES"] = "0"
    return _run(["bash", BUILD_SCRIPT] + list(args), timeout=1800, env=env)


def _tags(name):
    rc, out, _ = _run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"])
    assert rc == 0
    return sorted(ref for ref in out.split() if ref.startswith(name + ":"))


def test_build_with_no_earlier_images(fresh_name):
    assert _tags(fresh_name) == []
    rc, out, err = _build(fresh_name)
    assert rc == 0, "build.sh failed with no earlier image (rc %s):\n%s" % (rc, err[-3000:])
    tag = out.strip().splitlines()[-1]
    assert tag.startswith(fresh_name + ":")
    assert _tags(fresh_name) == sorted([tag, fresh_name + ":latest"])


def test_rebuild_removes_stale_images(fresh_name):
    rc, out, err = _build(fresh_name)
    assert rc == 0, err[-3000:]
    tag = out.strip().splitlines()[-1]
    stale = fresh_name + ":0000stale0000"
    assert _run(["podman", "tag", tag, stale])[0] == 0
    rc, out, err = _build(fresh_name, "--force")
    assert rc == 0, err[-3000:]
    assert "removed old image %s" % stale in err
    assert _tags(fresh_name) == sorted([tag, fresh_name + ":latest"])
