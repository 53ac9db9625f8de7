-- Usage events: one row per execution (successful, failed or served from cache).
-- Written in batches by Usage/UsageWriter through a staging table, so a retried batch is idempotent.
CREATE TABLE IF NOT EXISTS usage_events (
    execution_id  text PRIMARY KEY,
    created_at    timestamptz NOT NULL,
    principal_id  text NOT NULL,
    api_key_id    text,
    task_type     smallint NOT NULL,
    strategy      smallint NOT NULL,
    provider      text NOT NULL DEFAULT '',
    model         text NOT NULL DEFAULT '',
    status        smallint NOT NULL,
    error_class   text NOT NULL DEFAULT '',
    input_tokens  bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cost_usd      double precision NOT NULL,
    latency_ms    double precision NOT NULL,
    ttft_ms       double precision,
    cache_hit     boolean NOT NULL,
    attempts      jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS usage_events_created_idx ON usage_events (created_at DESC, execution_id DESC);
CREATE INDEX IF NOT EXISTS usage_events_principal_idx ON usage_events (principal_id, created_at DESC);
