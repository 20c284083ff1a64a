-- Dashboard logins, shared by every node (log in on one, browse on
-- another, log out everywhere). The session id's SHA-256 is kept, never
-- the id.
CREATE TABLE dashboard_sessions (
    id_hash    text        NOT NULL PRIMARY KEY,
    user_name  text        NOT NULL,
    expires_at timestamptz NOT NULL
);
