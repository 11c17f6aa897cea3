#!/usr/bin/env bash
# Run ansible-test (sanity/units) for the collection without Docker and without the
# ansible-test CDN: ansible-test bootstraps pip into its virtual environments from a
# get-pip.py it downloads from a host this network cannot reach; its error message
# says to save the script in its cache by hand. We save our stand-in there
# (scripts/ansible_test_get_pip.py: ensurepip + PyPI) under the file name this
# ansible-test version asks for, then run ansible-test from the collection root.
# Usage: scripts/ansible-test-offline.sh sanity|units [ansible-test options...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${ROOT}/.venv/bin"
COLLECTION="${ROOT}/collections/ansible_collections/tsh/zoho_sync"

pip_version="$("${BIN}/python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
import sys
py = NativePythonConfig(version="%d.%d" % sys.version_info[:2], path=sys.executable)
print(get_venv_packages(py)["pip"])
PY
)"
cache="${HOME}/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cmp -s "${ROOT}/scripts/ansible_test_get_pip.py" "$cache" 2>/dev/null \
  || cp "${ROOT}/scripts/ansible_test_get_pip.py" "$cache"

cd "$COLLECTION"
exec "${BIN}/ansible-test" "$@"
