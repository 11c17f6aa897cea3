-- Least privilege for tsh.zoho_sync: three group roles, nothing else.
--
--   zoho_health   health.yml, zoho_queue_facts: reads the queue and the dead-letter queue,
--                 and pg_stat_activity (connection figures).
--   zoho_heal     heal.yml (requeue, clear stuck leases, dead-letter, cleanup, the heal
--                 lock): health's rights, UPDATE of the queue's state columns only, INSERT
--                 into the dead-letter queue and UPDATE of its resolution columns only,
--                 DELETE for the cleanup (old completed queue rows, old sync logs,
--                 unreferenced inbox events).
--   zoho_restore  rollback.yml (zoho_restore): puts back what a cleanup deleted, from its
--                 backup file - INSERT into the queue, the sync logs and the inbox. A rare,
--                 manual operation, so the hourly heal never holds INSERT on the queue.
--
-- Apply as a superuser (or the tables' owner plus a role that may grant
-- pg_read_all_stats), connected to the ERP database:
--     psql -d tsh_erp -v ON_ERROR_STOP=1 -f docs/least_privilege.sql
-- then make login roles members, for example:
--     CREATE ROLE zoho_ops_health LOGIN PASSWORD '...' IN ROLE zoho_health;
--     CREATE ROLE zoho_ops_heal   LOGIN PASSWORD '...' IN ROLE zoho_heal;
-- and point zoho_db_user / zoho_db_password (Vault) at them. Re-running the file is safe.
--
-- The tables are those of the production schema in schema public; with a different
-- queue_schema mapping, grant the same on the mapped tables and columns.
-- A check-mode run checks these grants against what each action's real run needs
-- (has_table_privilege and friends) and says per action what the role lacks.
-- tests/reliability/test_least_privilege.py runs health, heal and restore as these roles
-- (and previews as the wrong ones) and shows that everything else (schema changes, payload updates, DELETE from the
-- dead-letter queue, INSERT into the queue as heal, ...) is refused with SQLSTATE 42501.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zoho_health') THEN
    CREATE ROLE zoho_health NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zoho_heal') THEN
    CREATE ROLE zoho_heal NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zoho_restore') THEN
    CREATE ROLE zoho_restore NOLOGIN;
  END IF;
  -- connecting to this database (PUBLIC may have lost CONNECT on a hardened server)
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO zoho_health, zoho_heal, zoho_restore', current_database());
END
$$;

-- Nothing may create objects in the schema (PostgreSQL 15 already revokes this from PUBLIC).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO zoho_health, zoho_heal, zoho_restore;

-- ---------------------------------------------------------------------------- health
GRANT SELECT ON public.tds_sync_queue, public.tds_dead_letter_queue TO zoho_health;
-- The state of other roles' sessions in pg_stat_activity (idle in transaction, ...);
-- without it those rows show no state and the connection figures would undercount.
-- (pg_monitor would do too, but also grants pg_read_all_settings and pg_stat_scan_tables.)
GRANT pg_read_all_stats TO zoho_health;

-- ---------------------------------------------------------------------------- heal
GRANT zoho_health TO zoho_heal;

-- The queue's state columns: the only ones zoho_requeue / zoho_dlq_move write
-- (status; the lease locked_by + lock_expires_at; next_retry_at; attempt_count, reset by
-- an explicit dead-letter re-drive; the stranded reset writes the same columns). Never the
-- payload, ids, errors or timestamps.
GRANT UPDATE (status, locked_by, lock_expires_at, next_retry_at, attempt_count)
   ON public.tds_sync_queue TO zoho_heal;

-- One record per dead-lettered row (zoho_dlq_move), copied from the queue row.
GRANT INSERT (id, sync_queue_id, entity_type, source_entity_id, failure_reason, error_code, total_attempts,
              last_error_message, last_payload, resolved, created_at)
   ON public.tds_dead_letter_queue TO zoho_heal;
-- Closing records on a re-drive (zoho_requeue source=dead_letter); nothing else of a record.
GRANT UPDATE (resolved, resolved_at, resolved_by, resolution_notes)
   ON public.tds_dead_letter_queue TO zoho_heal;

-- Cleanup (zoho_cleanup): backs every row up (SELECT, to_jsonb of the whole row) and
-- deletes old completed queue rows with their sync logs, old sync logs, and inbox events
-- nothing references. Dead-letter records are never deleted: no DELETE on them.
GRANT SELECT, DELETE ON public.tds_sync_logs, public.tds_inbox_events TO zoho_heal;
GRANT DELETE ON public.tds_sync_queue TO zoho_heal;
-- The cleanup locks each batch with SELECT ... FOR UPDATE SKIP LOCKED before deleting it,
-- and PostgreSQL allows a row lock only with UPDATE privilege on at least one column of
-- the table (DELETE privilege is not enough). The narrowest grant that allows it is the
-- key column: no data column becomes writable, and an inbox event a queue row references
-- cannot have its id changed (the foreign key refuses it). The queue has such a grant above.
GRANT UPDATE (id) ON public.tds_sync_logs, public.tds_inbox_events TO zoho_heal;

-- The heal lock (zoho_heal_lock) needs nothing more: advisory locks are open to every
-- role, and a run ends its own lock session with pg_terminate_backend, which PostgreSQL
-- allows on sessions of one's own role.

-- ---------------------------------------------------------------------------- restore
-- zoho_restore re-inserts backed-up rows (parents first) and skips rows that exist.
GRANT SELECT, INSERT ON public.tds_sync_queue, public.tds_sync_logs, public.tds_inbox_events TO zoho_restore;
GRANT SELECT ON public.tds_dead_letter_queue TO zoho_restore;
