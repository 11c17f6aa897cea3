-- What the cleanup policy (completed rows older than 30 days, sync logs older than
-- 90 days, unreferenced inbox events older than 7 days; never dead letters) leaves.
SELECT json_build_object(
  'old_completed', (SELECT count(*) FROM tds_sync_queue
      WHERE status = 'completed' AND completed_at < now() - interval '30 days'),
  'old_logs_deletable', (SELECT count(*) FROM tds_sync_logs l JOIN tds_sync_queue q ON q.id = l.sync_queue_id
      WHERE l."timestamp" < now() - interval '90 days' AND q.status <> 'dead_letter'
        AND NOT EXISTS (SELECT 1 FROM tds_dead_letter_queue d WHERE d.sync_queue_id = q.id)),
  'old_unreferenced_inbox', (SELECT count(*) FROM tds_inbox_events i
      WHERE i.received_at < now() - interval '7 days'
        AND NOT EXISTS (SELECT 1 FROM tds_sync_queue q WHERE q.inbox_event_id = i.id)),
  'dead_letter_logs', (SELECT count(*) FROM tds_sync_logs l JOIN tds_sync_queue q ON q.id = l.sync_queue_id
      WHERE q.status = 'dead_letter'),
  'dead_letter_inbox', (SELECT count(*) FROM tds_inbox_events i
      WHERE EXISTS (SELECT 1 FROM tds_sync_queue q WHERE q.inbox_event_id = i.id AND q.status = 'dead_letter'))
)
