#!/usr/bin/env bash
# make demo: a throwaway PostgreSQL seeded with a realistic, troubled queue; then the
# health check and a check-mode heal, exactly as an operator would run them.
# Everything it starts is stopped and removed on exit; the reports are kept.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg" PYTHONPATH="$ROOT"
REPORTS="${ZOHO_DEMO_REPORTS:-$ROOT/reports/demo}"
WORK="$(mktemp -d /tmp/zoho-demo.XXXXXX)"
chmod 755 "$WORK"   # the postgres user runs initdb below it
# ZOHO_DEMO_KEEP=1 keeps the throwaway PostgreSQL running afterwards, to run the playbooks by hand
# (reports/demo/demo.env says how to reach it and how to stop it).
cleanup() {
  if [ "${DEMO_KEPT:-0}" = 1 ]; then return; fi
  "$PY" -m testbed.pgcluster stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }

step "Starting a throwaway PostgreSQL (fsync off, loopback only)"
eval "$("$PY" -m testbed.pgcluster start "$WORK/pg" | sed 's/^/export /')"
psql -q -c "CREATE DATABASE tsh_erp" >/dev/null
export PGDATABASE=tsh_erp
echo "    PostgreSQL on 127.0.0.1:$PGPORT, database tsh_erp"

step "Loading the production schema and a realistic queue (3,000 live rows over 50,000 completed)"
"$PY" -m testbed.generate --dsn "host=$PGHOST port=$PGPORT dbname=tsh_erp user=$PGUSER" \
  --load-schema --live 3000 --history 50000 --seed 7 > "$WORK/generated.json"
"$PY" - "$WORK/generated.json" <<'PYEOF'
import json, sys
g = json.load(open(sys.argv[1]))
print("    " + ", ".join("%s=%s" % (k, v) for k, v in sorted(g.get("status_counts", {}).items())))
PYEOF

rm -rf "$REPORTS"; mkdir -p "$REPORTS"
export ZOHO_REPORT_DIR="$REPORTS"

step "ansible-playbook health.yml   (exits non-zero when the queue is critical: expected here)"
set +e
ansible-playbook health.yml -i inventory/demo 2>&1 | tee "$REPORTS/health-run.txt"
health_rc=${PIPESTATUS[0]}
step "ansible-playbook heal.yml --check --diff   (a preview: nothing is changed)"
ansible-playbook heal.yml -i inventory/demo --check --diff > "$REPORTS/heal-check-diff.txt" 2>&1
heal_rc=$?
set -e

step "Summary"
"$PY" scripts/demo_summary.py "$REPORTS" "$health_rc" "$heal_rc"

if [ "${ZOHO_DEMO_KEEP:-0}" = 1 ]; then
  # the demo inventory reads the database from these variables; the postgres user needs no password on 127.0.0.1
  printf 'export PGHOST=%s PGPORT=%s PGUSER=%s PGDATABASE=%s ZOHO_REPORT_DIR=%s\n' \
    "$PGHOST" "$PGPORT" "$PGUSER" "$PGDATABASE" "$REPORTS" > "$REPORTS/demo.env"
  printf '# stop it: .venv/bin/python -m testbed.pgcluster stop %s && rm -rf %s\n' "$WORK/pg" "$WORK" >> "$REPORTS/demo.env"
  step "The demo database keeps running (ZOHO_DEMO_KEEP=1)"
  echo "    . $REPORTS/demo.env && . .venv/bin/activate"
  echo "    ansible-playbook heal.yml -i inventory/demo --check --diff"
  echo "    stop it: $(tail -1 "$REPORTS/demo.env" | sed 's/^# stop it: //')"
  DEMO_KEPT=1
fi
