-- The state of the TSH queue tables in one JSON object, for the scenarios'
-- prepare/verify steps (molecule/common/tasks/state.yml runs it with psql):
-- row counts and order-independent checksums of every row of the four tables the
-- heal touches, counts per status, and the conditions the heal must fix.
SELECT json_build_object(
  'queue', (SELECT count(*) FROM tds_sync_queue),
  'queue_ids', (SELECT md5(coalesce(string_agg(id::text, ',' ORDER BY id), '')) FROM tds_sync_queue),
  'queue_rows', (SELECT md5(coalesce(string_agg(to_jsonb(t)::text, ',' ORDER BY id), '')) FROM tds_sync_queue t),
  'dlq', (SELECT count(*) FROM tds_dead_letter_queue),
  'dlq_rows', (SELECT md5(coalesce(string_agg(to_jsonb(t)::text, ',' ORDER BY id), '')) FROM tds_dead_letter_queue t),
  'logs', (SELECT count(*) FROM tds_sync_logs),
  'logs_rows', (SELECT md5(coalesce(string_agg(to_jsonb(t)::text, ',' ORDER BY id), '')) FROM tds_sync_logs t),
  'inbox', (SELECT count(*) FROM tds_inbox_events),
  'inbox_rows', (SELECT md5(coalesce(string_agg(to_jsonb(t)::text, ',' ORDER BY id), '')) FROM tds_inbox_events t),
  'status', (SELECT coalesce(json_object_agg(s, n), '{}'::json)
               FROM (SELECT status::text AS s, count(*) AS n FROM tds_sync_queue GROUP BY 1) c),
  'work_due', (SELECT count(*) FROM tds_sync_queue
                WHERE status = 'pending' OR (status = 'retry' AND next_retry_at <= now())),
  'failed', (SELECT count(*) FROM tds_sync_queue WHERE status = 'failed'),
  'processing', (SELECT count(*) FROM tds_sync_queue WHERE status = 'processing'),
  'expired_leases', (SELECT count(*) FROM tds_sync_queue
                      WHERE locked_by IS NOT NULL AND lock_expires_at < now()),
  'exhausted', (SELECT count(*) FROM tds_sync_queue
                 WHERE status IN ('failed', 'retry') AND attempt_count >= max_retry_attempts),
  'dead_letter', (SELECT count(*) FROM tds_sync_queue WHERE status = 'dead_letter'),
  -- dead letters without exactly one record, and records of rows that are not dead letters
  'dead_letter_not_one_record', (SELECT count(*) FROM tds_sync_queue q WHERE q.status = 'dead_letter'
      AND (SELECT count(*) FROM tds_dead_letter_queue d WHERE d.sync_queue_id = q.id) <> 1),
  'records_of_live_rows', (SELECT count(*) FROM tds_dead_letter_queue d
      JOIN tds_sync_queue q ON q.id = d.sync_queue_id WHERE q.status <> 'dead_letter'),
  'completed_last_minutes', (SELECT count(*) FROM tds_sync_queue
      WHERE status = 'completed' AND completed_at > now() - interval '30 minutes')
)
