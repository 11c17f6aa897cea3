-- The simplified queue layout of the original agent write-up: integer ids, a text
-- status, retry_count, locked_until and updated_at, no per-row retry budget, and a
-- DLQ that copies the queue's columns. Production does not look like this; the
-- collection supports it through the queue_schema mapping and the tests prove it.

CREATE TABLE zoho_sync_queue (
  id            bigserial PRIMARY KEY,
  entity_type   text NOT NULL,
  entity_id     text NOT NULL,
  operation     text NOT NULL DEFAULT 'upsert',
  payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
  status        text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'retry', 'dead_letter')),
  retry_count   integer NOT NULL DEFAULT 0,
  locked_until  timestamptz,
  error_message text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX zoho_sync_queue_status_idx ON zoho_sync_queue (status, created_at);
CREATE INDEX zoho_sync_queue_locked_until_idx ON zoho_sync_queue (locked_until);

CREATE TABLE zoho_dead_letter_queue (
  id             bigserial PRIMARY KEY,
  queue_id       bigint NOT NULL REFERENCES zoho_sync_queue (id),
  entity_type    text NOT NULL,
  entity_id      text NOT NULL,
  failure_reason text NOT NULL,
  retry_count    integer NOT NULL,
  error_message  text,
  payload        jsonb NOT NULL,
  resolved       boolean NOT NULL DEFAULT false,
  resolved_at    timestamptz,
  resolved_by    text,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX zoho_dead_letter_queue_queue_id_idx ON zoho_dead_letter_queue (queue_id);
