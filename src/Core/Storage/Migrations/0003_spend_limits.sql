-- Spend safety (issue 16): limits an admin sets per user, disabled users, and which key created a key.
-- Forward-only: never edit this file once merged.

-- Admin-set per-user limits (NULL = the configured default). A key created by the user is capped
-- at these; monthly_budget_usd (0001) applies across every key of the user.
ALTER TABLE users ADD COLUMN requests_per_minute integer;
ALTER TABLE users ADD COLUMN tokens_per_minute integer;
-- A disabled user's keys and sessions stop authenticating (keys within the key cache's seconds).
ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;

-- The key that created this key (NULL when created by a signed-in user or the bootstrap). Revoking
-- a key revokes every key below it.
ALTER TABLE api_keys ADD COLUMN parent_key_id text REFERENCES api_keys (id) ON DELETE SET NULL;
CREATE INDEX api_keys_parent_idx ON api_keys (parent_key_id) WHERE parent_key_id IS NOT NULL;

-- Models ("provider/model") and providers ("provider") the key may use; NULL = any.
ALTER TABLE api_keys ADD COLUMN allowed_models text[];
