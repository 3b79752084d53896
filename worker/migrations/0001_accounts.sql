-- Accounts (issue 17). Applied by `wrangler d1 migrations apply DB` (scripts/server.sh and the
-- test harness run it with --local; deploy-worker.sh with --remote). Every secret is stored as
-- its SHA-256 only (hex): a leaked database signs nobody in. Times are ms since the Unix epoch.

-- One row per person, created on their first sign-in.
CREATE TABLE users (
    id TEXT PRIMARY KEY,            -- u_ + 32 hex digits: what a claimed session's ownerId holds
    email TEXT NOT NULL UNIQUE,     -- lower-cased
    created_ms INTEGER NOT NULL
);

-- Sign-in links sent by email; each works once, for a few minutes.
CREATE TABLE magic_links (
    hash TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    next TEXT NOT NULL,             -- the page to return to (a path on this site)
    expires_ms INTEGER NOT NULL,
    used_ms INTEGER
);

-- A signed-in client: the web page (kind 'web') or an app that used the device flow
-- ('device'). Every access token and refresh token names its grant; revoking the grant (signing
-- out) revokes them all.
CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    client_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);

-- Refresh tokens: one use each (a refresh spends it and issues the next); reuse of a spent one
-- revokes the grant.
CREATE TABLE refresh_tokens (
    hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES grants(id),
    expires_ms INTEGER NOT NULL,
    used_ms INTEGER
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens(grant_id);

-- RFC 8628 device codes.
CREATE TABLE device_codes (
    hash TEXT PRIMARY KEY,          -- of the device_code
    user_code TEXT NOT NULL UNIQUE, -- canonical (no dash)
    client_id TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    interval_s INTEGER NOT NULL,
    last_poll_ms INTEGER,
    status TEXT NOT NULL,           -- pending | approved | denied | spent
    user_id TEXT
);
