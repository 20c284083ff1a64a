-- Dashboard logins, in the store so that a restart keeps them and, on the
-- shared store, every node knows them (log in on one, browse on another,
-- log out everywhere). The session id's SHA-256 is kept, never the id.
CREATE TABLE dashboard_sessions (
    id_hash    VARCHAR     NOT NULL PRIMARY KEY,
    user_name  VARCHAR     NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
