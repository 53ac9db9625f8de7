-- Identity: users, API keys, refresh-token families, device authorizations (RFC 8628), audit events.
-- Forward-only: never edit this file once merged; add 0002_… instead (see Storage/README.md).

CREATE TABLE users (
    id                  text PRIMARY KEY,
    email               text NOT NULL,
    display_name        text NOT NULL DEFAULT '',
    -- NULL for service users (the bootstrap admin) that sign in with API keys only.
    password_hash       text,
    role                text NOT NULL CHECK (role IN ('admin', 'developer', 'viewer')),
    created_at          timestamptz NOT NULL,
    failed_logins       integer NOT NULL DEFAULT 0,
    locked_until        timestamptz,
    -- Optional. Monthly spend cap for everything the user's keys and tokens do, in US dollars.
    monthly_budget_usd  double precision
);
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));

CREATE TABLE api_keys (
    id                   text PRIMARY KEY,
    user_id              text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                 text NOT NULL,
    -- Public, non-secret lookup prefix ("mk_" + 10 characters); the key itself is never stored.
    prefix               text NOT NULL UNIQUE,
    -- SHA-256 of the whole key, compared in constant time.
    key_hash             bytea NOT NULL,
    scopes               text[] NOT NULL,
    created_at           timestamptz NOT NULL,
    expires_at           timestamptz,
    revoked_at           timestamptz,
    last_used_at         timestamptz,
    -- Per-key overrides of the configured defaults (NULL = use the default).
    requests_per_minute  integer,
    tokens_per_minute    integer,
    monthly_budget_usd   double precision
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at DESC);

-- Rotating refresh tokens. Each login starts a family; each refresh rotates within it. Presenting
-- a rotated token again revokes the whole family.
CREATE TABLE refresh_tokens (
    id           text PRIMARY KEY,
    family_id    text NOT NULL,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE device_authorizations (
    id                text PRIMARY KEY,
    device_code_hash  bytea NOT NULL UNIQUE,
    user_code         text NOT NULL,
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    interval_seconds  integer NOT NULL,
    last_polled_at    timestamptz,
    -- pending | approved | denied | consumed
    status            text NOT NULL,
    user_id           text REFERENCES users (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX device_authorizations_user_code_idx ON device_authorizations (user_code) WHERE status = 'pending';

CREATE TABLE audit_events (
    id            bigserial PRIMARY KEY,
    occurred_at   timestamptz NOT NULL,
    kind          text NOT NULL,
    principal_id  text,
    subject       text NOT NULL DEFAULT '',
    detail        text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at DESC, id DESC);
