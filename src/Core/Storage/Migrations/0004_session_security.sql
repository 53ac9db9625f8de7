-- Sessions that cannot outgrow what created them, and retention of identity state (issue 16).
-- Forward-only: never edit this file once merged.

-- Every token of a family shares one absolute end (the family's); a refresh never moves it.
-- NULL (families created before this migration) = created_at + the configured session lifetime.
ALTER TABLE refresh_tokens ADD COLUMN family_expires_at timestamptz;
-- Scopes of the session (NULL = every scope of the user's role). A device approved by a narrower
-- credential starts a session with that credential's scopes only.
ALTER TABLE refresh_tokens ADD COLUMN scopes text[];
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

-- What the approving credential allowed: the session the poll starts carries no more.
ALTER TABLE device_authorizations ADD COLUMN scopes text[];
ALTER TABLE device_authorizations ADD COLUMN session_expires_at timestamptz;
CREATE INDEX device_authorizations_expires_idx ON device_authorizations (expires_at);
