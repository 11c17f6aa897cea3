-- The project's own copy of the production TSH ERP sync tables (tds_*), as the
-- SQLAlchemy models create them: no column defaults except now() on timestamps,
-- ENUM statuses, UUID ids, and exactly the production indexes (no others: the
-- schema is locked, so the collection must live with these).
-- Used by the tests, the demo, Molecule and the benchmarks.

CREATE TYPE tds_event_status AS ENUM
  ('pending', 'processing', 'completed', 'failed', 'retry', 'dead_letter');
CREATE TYPE tds_source_type AS ENUM ('zoho', 'manual', 'scheduled', 'reconciliation');
CREATE TYPE tds_entity_type AS ENUM
  ('product', 'customer', 'invoice', 'bill', 'credit_note', 'stock_adjustment',
   'price_list', 'branch', 'USER', 'order', 'PAYMENT', 'VENDOR', 'SUPPLIER');
CREATE TYPE tds_operation_type AS ENUM ('create', 'update', 'delete', 'upsert');
CREATE TYPE tds_alert_severity AS ENUM ('info', 'warning', 'error', 'critical');

CREATE TABLE tds_inbox_events (
  id                 uuid PRIMARY KEY,
  source_type        tds_source_type NOT NULL,
  entity_type        tds_entity_type NOT NULL,
  source_entity_id   text NOT NULL,
  raw_payload        jsonb NOT NULL,
  idempotency_key    text,
  content_hash       text NOT NULL,
  webhook_headers    jsonb,
  signature_verified boolean,
  ip_address         varchar(45),
  received_at        timestamptz NOT NULL DEFAULT now(),
  processed_at       timestamptz,
  is_valid           boolean,
  validation_errors  jsonb,
  moved_to_queue     boolean
);
CREATE INDEX idx_inbox_source_entity ON tds_inbox_events (source_type, source_entity_id);
CREATE INDEX idx_inbox_received_at ON tds_inbox_events (received_at);
CREATE INDEX idx_inbox_content_hash ON tds_inbox_events (content_hash);
CREATE INDEX ix_tds_inbox_events_entity_type ON tds_inbox_events (entity_type);
CREATE INDEX ix_tds_inbox_events_source_type ON tds_inbox_events (source_type);
CREATE UNIQUE INDEX ix_tds_inbox_events_idempotency_key ON tds_inbox_events (idempotency_key);
CREATE INDEX ix_tds_inbox_events_source_entity_id ON tds_inbox_events (source_entity_id);
CREATE INDEX ix_tds_inbox_events_content_hash ON tds_inbox_events (content_hash);
CREATE INDEX ix_tds_inbox_events_received_at ON tds_inbox_events (received_at);

CREATE TABLE tds_sync_runs (
  id                     uuid PRIMARY KEY,
  run_type               tds_source_type NOT NULL,
  entity_type            tds_entity_type,
  status                 tds_event_status NOT NULL,
  worker_id              text,
  total_events           integer NOT NULL,
  processed_events       integer NOT NULL,
  failed_events          integer NOT NULL,
  skipped_events         integer NOT NULL,
  started_at             timestamptz NOT NULL DEFAULT now(),
  completed_at           timestamptz,
  duration_seconds       integer,
  configuration_snapshot jsonb,
  error_summary          jsonb
);
CREATE INDEX idx_runs_status_started ON tds_sync_runs (status, started_at);
CREATE INDEX idx_runs_type ON tds_sync_runs (run_type, entity_type, started_at);
CREATE INDEX ix_tds_sync_runs_run_type ON tds_sync_runs (run_type);
CREATE INDEX ix_tds_sync_runs_entity_type ON tds_sync_runs (entity_type);
CREATE INDEX ix_tds_sync_runs_status ON tds_sync_runs (status);
CREATE INDEX ix_tds_sync_runs_started_at ON tds_sync_runs (started_at);

CREATE TABLE tds_sync_queue (
  id                 uuid PRIMARY KEY,
  inbox_event_id     uuid NOT NULL REFERENCES tds_inbox_events (id),
  sync_run_id        uuid REFERENCES tds_sync_runs (id),
  entity_type        tds_entity_type NOT NULL,
  source_entity_id   text NOT NULL,
  operation_type     tds_operation_type NOT NULL,
  validated_payload  jsonb NOT NULL,
  status             tds_event_status NOT NULL,
  priority           integer NOT NULL,
  attempt_count      integer NOT NULL,
  max_retry_attempts integer NOT NULL,
  next_retry_at      timestamptz,
  locked_by          text,
  lock_expires_at    timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  completed_at       timestamptz,
  target_entity_id   text,
  processing_result  jsonb,
  error_message      text,
  error_code         varchar(50),
  CONSTRAINT check_attempt_count_positive CHECK (attempt_count >= 0),
  CONSTRAINT check_priority_range CHECK (priority BETWEEN 1 AND 10)
);
-- composite indexes named in the model
CREATE INDEX idx_queue_status_priority ON tds_sync_queue (status, priority, created_at);
CREATE INDEX idx_queue_entity ON tds_sync_queue (entity_type, source_entity_id);
CREATE INDEX idx_queue_lock ON tds_sync_queue (locked_by, lock_expires_at);
CREATE INDEX idx_queue_retry ON tds_sync_queue (next_retry_at);
-- single-column indexes from index=True on the model's columns
CREATE INDEX ix_tds_sync_queue_inbox_event_id ON tds_sync_queue (inbox_event_id);
CREATE INDEX ix_tds_sync_queue_sync_run_id ON tds_sync_queue (sync_run_id);
CREATE INDEX ix_tds_sync_queue_entity_type ON tds_sync_queue (entity_type);
CREATE INDEX ix_tds_sync_queue_source_entity_id ON tds_sync_queue (source_entity_id);
CREATE INDEX ix_tds_sync_queue_status ON tds_sync_queue (status);
CREATE INDEX ix_tds_sync_queue_priority ON tds_sync_queue (priority);
CREATE INDEX ix_tds_sync_queue_lock_expires_at ON tds_sync_queue (lock_expires_at);
CREATE INDEX ix_tds_sync_queue_created_at ON tds_sync_queue (created_at);
CREATE INDEX ix_tds_sync_queue_next_retry_at ON tds_sync_queue (next_retry_at);
-- NOTE: started_at and completed_at carry no index in production.

CREATE TABLE tds_sync_logs (
  id                uuid PRIMARY KEY,
  sync_queue_id     uuid NOT NULL REFERENCES tds_sync_queue (id),
  sync_run_id       uuid REFERENCES tds_sync_runs (id),
  entity_type       tds_entity_type NOT NULL,
  source_entity_id  text NOT NULL,
  target_entity_id  text,
  operation_type    tds_operation_type NOT NULL,
  operation_status  tds_event_status NOT NULL,
  input_payload     jsonb,
  output_payload    jsonb,
  attempt_number    integer NOT NULL,
  execution_time_ms integer,
  error_message     text,
  error_code        varchar(50),
  stack_trace       text,
  worker_id         text,
  "timestamp"       timestamptz NOT NULL DEFAULT now(),
  context_data      jsonb
);
CREATE INDEX idx_logs_entity ON tds_sync_logs (entity_type, source_entity_id);
CREATE INDEX idx_logs_status_timestamp ON tds_sync_logs (operation_status, "timestamp");
CREATE INDEX idx_logs_timestamp ON tds_sync_logs ("timestamp");
CREATE INDEX ix_tds_sync_logs_sync_queue_id ON tds_sync_logs (sync_queue_id);
CREATE INDEX ix_tds_sync_logs_sync_run_id ON tds_sync_logs (sync_run_id);
CREATE INDEX ix_tds_sync_logs_entity_type ON tds_sync_logs (entity_type);
CREATE INDEX ix_tds_sync_logs_source_entity_id ON tds_sync_logs (source_entity_id);
CREATE INDEX ix_tds_sync_logs_target_entity_id ON tds_sync_logs (target_entity_id);
CREATE INDEX ix_tds_sync_logs_operation_status ON tds_sync_logs (operation_status);
CREATE INDEX ix_tds_sync_logs_timestamp ON tds_sync_logs ("timestamp");

CREATE TABLE tds_dead_letter_queue (
  id                 uuid PRIMARY KEY,
  sync_queue_id      uuid NOT NULL REFERENCES tds_sync_queue (id),
  entity_type        tds_entity_type NOT NULL,
  source_entity_id   text NOT NULL,
  failure_reason     text NOT NULL,
  error_code         varchar(50),
  total_attempts     integer NOT NULL,
  last_error_message text,
  last_stack_trace   text,
  last_payload       jsonb NOT NULL,
  resolved           boolean NOT NULL,
  resolved_at        timestamptz,
  resolved_by        text,
  resolution_notes   text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  assigned_to        text,
  priority           integer
);
CREATE INDEX idx_dlq_resolved ON tds_dead_letter_queue (resolved, created_at);
CREATE INDEX idx_dlq_entity ON tds_dead_letter_queue (entity_type, source_entity_id);
CREATE INDEX ix_tds_dead_letter_queue_sync_queue_id ON tds_dead_letter_queue (sync_queue_id);
CREATE INDEX ix_tds_dead_letter_queue_entity_type ON tds_dead_letter_queue (entity_type);
CREATE INDEX ix_tds_dead_letter_queue_source_entity_id ON tds_dead_letter_queue (source_entity_id);
CREATE INDEX ix_tds_dead_letter_queue_resolved ON tds_dead_letter_queue (resolved);
CREATE INDEX ix_tds_dead_letter_queue_created_at ON tds_dead_letter_queue (created_at);
-- NOTE: no UNIQUE constraint on sync_queue_id: nothing in the database stops a queue
-- row from being dead-lettered twice. Preventing duplicates is the mover's job.

CREATE TABLE tds_alerts (
  id              uuid PRIMARY KEY,
  alert_type      varchar(100) NOT NULL,
  severity        tds_alert_severity NOT NULL,
  title           varchar(255) NOT NULL,
  message         text NOT NULL,
  entity_type     tds_entity_type,
  affected_count  integer,
  threshold_value jsonb,
  actual_value    jsonb,
  is_active       boolean NOT NULL,
  acknowledged    boolean,
  resolved        boolean,
  triggered_at    timestamptz NOT NULL DEFAULT now(),
  acknowledged_at timestamptz,
  resolved_at     timestamptz,
  acknowledged_by text,
  resolved_by     text,
  alert_metadata  jsonb,
  resolution_notes text
);
CREATE INDEX idx_alerts_active ON tds_alerts (is_active, severity, triggered_at);
CREATE INDEX idx_alerts_type ON tds_alerts (alert_type, triggered_at);
CREATE INDEX ix_tds_alerts_alert_type ON tds_alerts (alert_type);
CREATE INDEX ix_tds_alerts_severity ON tds_alerts (severity);
CREATE INDEX ix_tds_alerts_entity_type ON tds_alerts (entity_type);
CREATE INDEX ix_tds_alerts_is_active ON tds_alerts (is_active);
CREATE INDEX ix_tds_alerts_resolved ON tds_alerts (resolved);
CREATE INDEX ix_tds_alerts_triggered_at ON tds_alerts (triggered_at);

CREATE TABLE tds_metrics (
  id          uuid PRIMARY KEY,
  metric_name varchar(100) NOT NULL,
  metric_type varchar(50) NOT NULL,
  entity_type tds_entity_type,
  source_type tds_source_type,
  value       jsonb NOT NULL,
  unit        varchar(50),
  recorded_at timestamptz NOT NULL DEFAULT now(),
  tags        jsonb,
  dimensions  jsonb
);
CREATE INDEX idx_metrics_name_time ON tds_metrics (metric_name, recorded_at);
CREATE INDEX idx_metrics_entity ON tds_metrics (entity_type, recorded_at);
CREATE INDEX idx_metrics_recorded ON tds_metrics (recorded_at);
CREATE INDEX ix_tds_metrics_metric_name ON tds_metrics (metric_name);
CREATE INDEX ix_tds_metrics_entity_type ON tds_metrics (entity_type);
CREATE INDEX ix_tds_metrics_source_type ON tds_metrics (source_type);
CREATE INDEX ix_tds_metrics_recorded_at ON tds_metrics (recorded_at);
