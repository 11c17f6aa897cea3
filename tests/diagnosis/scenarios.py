"""The scenario corpus: one state of the queue per catalogue id, a healthy one and mixed
ones. Each scenario builds a real database and returns its health report; ``EXPECTED``
says which diagnosis must come first, which must be there (the true conditions of the
state) and which must not (the causes the evidence contradicts, the look-alikes)."""

import socket

import psycopg2

from health.conftest import run_health, write_fakes, with_fakes
from diagnosis.support import age, generate, healthy_history, report_of, run_worker, start_worker, HOST

QUIET_HOST = {"memory_used_pct": {"warning": 100, "critical": 100}, "disk_used_pct": {"warning": 100, "critical": 100}}


def _wait_until(predicate, timeout=30):
    import time
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "the simulated worker did not get there in time"
        time.sleep(0.05)


# --------------------------------------------------------------------------- healthy
def healthy(db, tmp):
    """The ordinary worker drained its work a moment ago (2 % Zoho failures retried), a few rows just arrived."""
    generate(db, 300, {"pending_fresh": 1}, 1)
    run_worker(db, workers=2, failure_rate=0.02, backoff_scale=1.0)
    generate(db, 5, {"pending_fresh": 1}, 2)
    return report_of(db)


# --------------------------------------------------------------------------- the platform
def service_down(db, tmp):
    """The ERP service (systemd) is stopped: the real playbook with systemctl/journalctl reporting it."""
    healthy_history(db)
    age(db, "3 hours")
    generate(db, 80, {"pending_fresh": 1}, 3)
    age(db, "40 minutes")
    fakes = write_fakes(str(tmp / "bin"), "systemd", "stopped")
    run = run_health(tmp / "reports", db, env=with_fakes(fakes), extra_vars={
        "zoho_health_thresholds": QUIET_HOST, "zoho_service_manager": "systemd", "zoho_service_name": "tsh-erp",
        "zoho_health_color": "never"})
    assert run.report is not None, run
    return run.report


def database_unreachable(db, tmp):
    """Nothing listens on the database port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = dict(db.connection_args(), login_port=port, login_host="127.0.0.1", connect_timeout=3)
    return report_of(connection=args)


def schema_mismatch_columns(db, tmp):
    """The mapping names a column the table does not have (another layout, a renamed column)."""
    healthy_history(db)
    return report_of(db, queue_args={"queue_schema": {"queue_columns": {"error_code": "err_code"}}})


def schema_mismatch_statuses(db, tmp):
    """The ERP added a status the collection does not know."""
    db.execute("ALTER TYPE tds_event_status ADD VALUE 'archived'")
    healthy_history(db)
    db.execute("UPDATE tds_sync_queue SET status = 'archived' WHERE id IN "
               "(SELECT id FROM tds_sync_queue WHERE status = 'completed' LIMIT 7)")
    return report_of(db)


def connections_exhausted(db, tmp):
    """Sessions pile up idle in transaction until the server nearly runs out of connections."""
    healthy_history(db)
    maximum = db.scalar("SELECT current_setting('max_connections')::int")
    used = db.scalar("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
    held = []
    try:
        for _ in range(max(0, int(maximum * 0.9) - used - 3)):
            conn = psycopg2.connect(db.dsn(), application_name="leaky-pool")
            conn.cursor().execute("SELECT 1")  # opens a transaction and leaves it idle
            held.append(conn)
        return report_of(db)
    finally:
        for conn in held:
            conn.close()


# --------------------------------------------------------------------------- the workers
def workers_idle(db, tmp):
    """The workers stopped 2 h ago inside a running service: work waits, no lease, no completion since."""
    healthy_history(db)
    age(db, "2 hours")
    generate(db, 40, {"pending_fresh": 1}, 4)
    age(db, "40 minutes")
    return report_of(db)


def throttled_retries(db):
    """The retry rows failed on Zoho's API call limit (why they wait for a retry at all)."""
    db.execute("UPDATE tds_sync_queue SET error_code = 'ZOHO_429', error_message = 'Zoho API error 429: "
               "{\"code\":44,\"message\":\"You have made too many requests continuously. Please try again "
               "after some time.\"}' WHERE status = 'retry'")


def retry_starvation(db, tmp):
    """A burst of 400 rows under the production poll (pending first, batch 100): the overdue retries wait."""
    generate(db, 430, {"pending_fresh": 400, "retry_overdue": 30}, 5)
    throttled_retries(db)
    pool = start_worker(db, workers=2, work_ms=15, batch=100, mode="pending_first", failure_rate=0.0)
    try:
        _wait_until(lambda: db.count("status = 'completed'") >= 60)
        return report_of(db)
    finally:
        pool.stop()


def expired_leases_not_reclaimed(db, tmp):
    """A worker that never re-claims an expired lease (naive/aware datetimes) works through fresh rows."""
    generate(db, 160, {"pending_fresh": 150, "pending_stuck_lease": 10}, 6)
    run_worker(db, workers=2, mode="no_reclaim", failure_rate=0.0, duration=1.5)
    return report_of(db)


def stranded_processing(db, tmp):
    """The earlier worker's lock cleanup cleared the leases of rows it died on: they stay processing (3 h later)."""
    generate(db, 120, {"pending_fresh": 1}, 7)
    run_worker(db, workers=2, mode="lock_cleanup", abandon_rate=0.25, lease=0.2, cleanup_interval=0.1,
               failure_rate=0.0, duration=2.0)
    age(db, "3 hours")
    generate(db, 3, {"pending_fresh": 1}, 8)
    run_worker(db, workers=1, failure_rate=0.0)
    return report_of(db)


def stuck_leases(db, tmp):
    """Rows a worker died holding (processing, lease expired 2 h ago) while the workers carry on."""
    healthy_history(db)
    for _ in range(6):
        db.add(status="processing", entity="invoice", age="3 hours", started="-130 minutes", locked_by="worker-2",
               lock_expires="-2 hours")
    return report_of(db)


def internal_worker_error(db, tmp):
    """The production worker fails in its own code before calling Zoho (MissingGreenlet, xd2s)."""
    generate(db, 200, {"pending_fresh": 1}, 9)
    run_worker(db, workers=4, mode="internal_error")
    return report_of(db)


def internal_worker_error_playbook(db, tmp):
    """The same, through the real health playbook."""
    generate(db, 120, {"pending_fresh": 1}, 10)
    run_worker(db, workers=4, mode="internal_error")
    run = run_health(tmp / "reports", db, extra_vars={"zoho_health_thresholds": QUIET_HOST,
                                                      "zoho_health_color": "never"})
    assert run.report is not None, run
    return run.report


def completion_not_recorded(db, tmp):
    """Successes are never recorded: rows created 2 h ago are leased and synced again and again."""
    generate(db, 30, {"pending_old": 1}, 11)
    pool = start_worker(db, workers=2, lease=120, mode="completion_lost", failure_rate=0.0)
    try:
        _wait_until(lambda: db.count("locked_by IS NOT NULL") >= 30)
        return report_of(db)
    finally:
        pool.stop()


# --------------------------------------------------------------------------- Zoho
def zoho_auth_failure(db, tmp):
    """Zoho answers 401 (code 57 / INVALID_OAUTHTOKEN) to every call, whatever the entity type."""
    generate(db, 120, {"pending_fresh": 1}, 12)
    run_worker(db, workers=2, failure_rate=1.0, zoho_errors={"auth": 1}, backoff_scale=100.0)
    return report_of(db)


def zoho_rate_limited(db, tmp):
    """Half the calls hit Zoho's API call limit (429, code 44)."""
    generate(db, 160, {"pending_fresh": 1}, 13)
    run_worker(db, workers=2, failure_rate=0.5, zoho_errors={"rate_limit": 1}, backoff_scale=100.0)
    return report_of(db)


def zoho_unavailable(db, tmp):
    """Zoho times out, answers 502/503, resets connections."""
    generate(db, 160, {"pending_fresh": 1}, 14)
    run_worker(db, workers=2, failure_rate=0.6, zoho_errors={"unavailable": 1}, backoff_scale=100.0)
    return report_of(db)


def payload_rejected(db, tmp):
    """Zoho rejects the invoices' data (400, code 1001/1002): dead-lettered at once; the other types sync."""
    generate(db, 300, {"pending_fresh": 1}, 15)
    run_worker(db, workers=2, failure_rate=1.0, zoho_errors={"validation": 1}, validation_entities=["invoice"])
    return report_of(db)


def failures_unclassified(db, tmp):
    """Errors no rule knows (a new message of the ERP), many and recent."""
    healthy_history(db, rows=30)
    for i in range(25):
        db.add(status="retry", entity="bill", attempts=1, age="20 minutes", next_retry="30 minutes",
               error="Frobnicator %d refused the ledger" % i, code=None)
    return report_of(db)


# --------------------------------------------------------------------------- the backlog
def backlog_burst(db, tmp):
    """A webhook burst: 400 rows arrive at once while the workers keep their usual pace."""
    healthy_history(db, rows=400)
    generate(db, 400, {"pending_fresh": 1}, 16)
    return report_of(db)


def retries_overdue(db, tmp):
    """Retry rows overdue for an hour although the workers were busy a moment ago and little is pending."""
    healthy_history(db)
    for _ in range(5):
        db.add(status="retry", entity="customer", attempts=1, age="3 hours", next_retry="-1 hour",
               error="Zoho API error 503: Service Unavailable", code="ZOHO_503")
    return report_of(db)


# --------------------------------------------------------------------------- what is left behind
def unrecorded_dead_letters(db, tmp):
    """Dead letters of last week the worker never recorded; the queue itself runs fine."""
    for _ in range(6):
        db.add(status="dead_letter", entity="invoice", attempts=3, age="7 days",
               error="Zoho API error 400: {\"code\":1001,\"message\":\"Invalid value passed for rate\"}",
               code="ZOHO_400")
    healthy_history(db)
    return report_of(db)


def exhausted_retries(db, tmp):
    """Rows out of attempts left in retry by an older code path (seeded after the workers' last poll)."""
    healthy_history(db)
    for _ in range(4):
        db.add(status="retry", entity="product", attempts=3, max_attempts=3, age="3 days", next_retry="2 days",
               error="Zoho API error 503: Service Unavailable", code="ZOHO_503")
    return report_of(db)


def failed_rows(db, tmp):
    """Rows a manual script set to failed; no worker polls that status."""
    for _ in range(8):
        db.add(status="failed", entity="bill", attempts=1, age="2 days",
               error="Zoho API error 503: Service Unavailable", code="ZOHO_503")
    healthy_history(db)
    return report_of(db)


def duplicate_dead_letter_records(db, tmp):
    """Two tools recorded the same dead letter."""
    row = db.add(status="dead_letter", entity="VENDOR", attempts=3, age="5 days",
                 error="Zoho API error 400: {\"code\":1002,\"message\":\"Vendor does not exist.\"}", code="ZOHO_400")
    db.add_dlq_record(row)
    db.add_dlq_record(row)
    healthy_history(db)
    return report_of(db)


# --------------------------------------------------------------------------- the host
def memory_pressure(db, tmp):
    healthy_history(db)
    host = dict(HOST, memory={"read": True, "error": None, "total_mb": 8000, "available_mb": 80, "used_pct": 99.0})
    return report_of(db, host=host)


def disk_filling(db, tmp):
    healthy_history(db)
    host = dict(HOST, disks=[{"path": "/var/lib/postgresql", "where": "host", "read": True, "error": None,
                              "used_pct": 97.0, "available_mb": 300, "size_mb": 10000, "mount": "/"}])
    return report_of(db, host=host)


def not_measured(db, tmp):
    healthy_history(db)
    host = {"memory": {"read": False, "error": "cannot read /proc/meminfo: Permission denied"},
            "disks": [{"path": "/data", "where": "host", "read": False, "error": "cannot read /data: Permission denied"}]}
    return report_of(db, host=host)


# --------------------------------------------------------------------------- mixed
def mixed_production_xd2s(db, tmp):
    """The queue the production worker's own code leaves: it fails before Zoho on every claim while webhooks
    keep arriving (the case the old report explained as the re-processing loop)."""
    generate(db, 250, {"pending_fresh": 1}, 17)
    pool = start_worker(db, workers=4, mode="internal_error", work_ms=1)
    try:
        _wait_until(lambda: db.count("status = 'dead_letter'") >= 250)
        generate(db, 60, {"pending_fresh": 1}, 18)
        _wait_until(lambda: db.count("status = 'dead_letter'") >= 310)
        return report_of(db)
    finally:
        pool.stop()


def mixed_xd2s_then_arrivals(db, tmp):
    """The production worker dead-lettered everything in its own code and was stopped a few minutes ago;
    webhooks arrived since. A failure leaves no timestamp: the failed rows' own times show the workers ran."""
    generate(db, 150, {"pending_fresh": 1}, 23)
    run_worker(db, workers=4, mode="internal_error")
    generate(db, 25, {"pending_fresh": 1}, 24)
    return report_of(db)


def mixed_starvation_and_rate_limit(db, tmp):
    """A deep backlog starves the retries while Zoho throttles a third of the calls."""
    generate(db, 430, {"pending_fresh": 400, "retry_overdue": 30}, 19)
    throttled_retries(db)
    pool = start_worker(db, workers=2, work_ms=15, batch=100, mode="pending_first", failure_rate=0.3,
                        zoho_errors={"rate_limit": 1}, backoff_scale=100.0)
    try:
        _wait_until(lambda: db.count("status = 'completed'") >= 40)
        return report_of(db)
    finally:
        pool.stop()


def mixed_auth_and_payload(db, tmp):
    """The OAuth token expired (every type fails) and the invoices' data is wrong too."""
    generate(db, 300, {"pending_fresh": 1}, 20)
    run_worker(db, workers=2, failure_rate=1.0, zoho_errors={"auth": 2, "validation": 1},
               validation_entities=["invoice"], backoff_scale=100.0)
    return report_of(db)


def mixed_stranded_and_unrecorded(db, tmp):
    """The earlier worker stranded rows in processing, and the current one dead-letters without records."""
    generate(db, 100, {"pending_fresh": 1}, 21)
    run_worker(db, workers=2, mode="lock_cleanup", abandon_rate=0.2, lease=0.2, cleanup_interval=0.1,
               failure_rate=0.0, duration=1.5)
    age(db, "3 hours")
    for _ in range(5):
        db.add(status="dead_letter", entity="customer", attempts=3, age="2 days",
               error="Zoho API error 503: Service Unavailable", code="ZOHO_503")
    generate(db, 20, {"pending_fresh": 1}, 22)
    run_worker(db, workers=1, failure_rate=0.0)
    return report_of(db)


# name: (build, first, also present, absent)
EXPECTED = {
    "healthy": (healthy, None, (), ("workers_idle", "completion_not_recorded", "internal_worker_error",
                                    "retry_starvation", "stranded_processing")),
    "service_down": (service_down, "service_down", (), ("workers_idle", "retry_starvation",
                                                        "completion_not_recorded")),
    "database_unreachable": (database_unreachable, "database_unreachable", (), ("schema_mismatch",)),
    "schema_mismatch_columns": (schema_mismatch_columns, "schema_mismatch", (), ("database_unreachable",)),
    "schema_mismatch_statuses": (schema_mismatch_statuses, "schema_mismatch", (), ("database_unreachable",)),
    "connections_exhausted": (connections_exhausted, "connections_exhausted", (), ("workers_idle",)),
    "workers_idle": (workers_idle, "workers_idle", (),
                     ("retry_starvation", "backlog_burst", "completion_not_recorded", "service_down")),
    "retry_starvation": (retry_starvation, "retry_starvation", ("backlog_burst", "zoho_rate_limited"),
                         ("workers_idle", "service_down", "completion_not_recorded", "retries_overdue")),
    "expired_leases_not_reclaimed": (expired_leases_not_reclaimed, "expired_leases_not_reclaimed", (),
                                     ("workers_idle", "stuck_leases", "completion_not_recorded")),
    "stranded_processing": (stranded_processing, "stranded_processing", (),
                            ("workers_idle", "stuck_leases", "expired_leases_not_reclaimed")),
    "stuck_leases": (stuck_leases, "stuck_leases", (),
                     ("workers_idle", "expired_leases_not_reclaimed", "stranded_processing")),
    "internal_worker_error": (internal_worker_error, "internal_worker_error", ("unrecorded_dead_letters",),
                              ("completion_not_recorded", "zoho_unavailable", "zoho_auth_failure", "workers_idle")),
    "internal_worker_error_playbook": (internal_worker_error_playbook, "internal_worker_error",
                                       ("unrecorded_dead_letters",), ("completion_not_recorded", "workers_idle")),
    "completion_not_recorded": (completion_not_recorded, "completion_not_recorded", (),
                                ("internal_worker_error", "workers_idle", "backlog_burst")),
    "zoho_auth_failure": (zoho_auth_failure, "zoho_auth_failure", (),
                          ("internal_worker_error", "payload_rejected", "completion_not_recorded")),
    "zoho_rate_limited": (zoho_rate_limited, "zoho_rate_limited", (), ("internal_worker_error", "workers_idle")),
    "zoho_unavailable": (zoho_unavailable, "zoho_unavailable", (), ("internal_worker_error", "zoho_auth_failure")),
    "payload_rejected": (payload_rejected, "payload_rejected", ("unrecorded_dead_letters",),
                         ("internal_worker_error", "zoho_auth_failure", "completion_not_recorded")),
    "failures_unclassified": (failures_unclassified, "failures_unclassified", (),
                              ("internal_worker_error", "zoho_unavailable")),
    "backlog_burst": (backlog_burst, "backlog_burst", (), ("workers_idle", "retry_starvation",
                                                           "completion_not_recorded")),
    "retries_overdue": (retries_overdue, "retries_overdue", (), ("retry_starvation", "workers_idle")),
    "unrecorded_dead_letters": (unrecorded_dead_letters, "unrecorded_dead_letters", (),
                                ("internal_worker_error", "workers_idle")),
    "exhausted_retries": (exhausted_retries, "exhausted_retries", (), ("workers_idle",)),
    "failed_rows": (failed_rows, "failed_rows", (), ("workers_idle",)),
    "duplicate_dead_letter_records": (duplicate_dead_letter_records, "duplicate_dead_letter_records", (), ()),
    "memory_pressure": (memory_pressure, "memory_pressure", (), ("not_measured",)),
    "disk_filling": (disk_filling, "disk_filling", (), ("not_measured",)),
    "not_measured": (not_measured, "not_measured", (), ("memory_pressure", "disk_filling")),
    "mixed_production_xd2s": (mixed_production_xd2s, "internal_worker_error", ("unrecorded_dead_letters",),
                              ("completion_not_recorded", "workers_idle", "zoho_unavailable")),
    "mixed_xd2s_then_arrivals": (mixed_xd2s_then_arrivals, "internal_worker_error", ("unrecorded_dead_letters",),
                                 ("completion_not_recorded", "workers_idle", "backlog_burst")),
    "mixed_starvation_and_rate_limit": (mixed_starvation_and_rate_limit, "retry_starvation",
                                        ("zoho_rate_limited", "backlog_burst"),
                                        ("workers_idle", "completion_not_recorded")),
    "mixed_auth_and_payload": (mixed_auth_and_payload, "zoho_auth_failure",
                               ("payload_rejected", "unrecorded_dead_letters"),
                               ("internal_worker_error", "completion_not_recorded")),
    "mixed_stranded_and_unrecorded": (mixed_stranded_and_unrecorded, "stranded_processing",
                                      ("unrecorded_dead_letters",), ("workers_idle", "stuck_leases")),
}
