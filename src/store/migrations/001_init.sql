-- SPDX-License-Identifier: MIT
-- 001: tasks and agents.
CREATE TABLE tasks (
    id                 INTEGER PRIMARY KEY,
    capability         TEXT    NOT NULL,
    state              INTEGER NOT NULL,
    priority           INTEGER NOT NULL DEFAULT 0,
    payload            TEXT    NOT NULL,
    labels             TEXT,
    idempotency_key    TEXT,
    swarm              TEXT,
    parent             INTEGER,
    attempt            INTEGER NOT NULL DEFAULT 0,
    max_attempts       INTEGER NOT NULL,
    dead               INTEGER NOT NULL DEFAULT 0,
    timeout_ms         INTEGER NOT NULL DEFAULT 0,
    backoff_initial_ms INTEGER NOT NULL,
    backoff_max_ms     INTEGER NOT NULL,
    backoff_multiplier REAL    NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    run_at             INTEGER NOT NULL DEFAULT 0,
    queued_at          INTEGER NOT NULL DEFAULT 0,
    started_at         INTEGER NOT NULL DEFAULT 0,
    finished_at        INTEGER NOT NULL DEFAULT 0,
    lease_id           INTEGER NOT NULL DEFAULT 0,
    agent_id           INTEGER NOT NULL DEFAULT 0,
    result             TEXT,
    error              TEXT,
    progress           TEXT
);
CREATE INDEX tasks_by_state ON tasks (state, id);
CREATE INDEX tasks_by_capability ON tasks (capability, id);
CREATE UNIQUE INDEX tasks_by_key ON tasks (idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE agents (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    kind         INTEGER NOT NULL,
    state        INTEGER NOT NULL,
    capabilities TEXT    NOT NULL,
    slots        INTEGER NOT NULL,
    labels       TEXT,
    swarm        TEXT,
    token_hash   BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    completed    INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0
);
