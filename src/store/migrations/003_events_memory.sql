-- SPDX-License-Identifier: MIT
-- 003: the event log (time grows with seq: no index on it), the shared memory (with each key's recent versions), webhooks.
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY,
    time    INTEGER NOT NULL,
    type    TEXT    NOT NULL,
    source  TEXT    NOT NULL,
    subject TEXT,
    body    TEXT    NOT NULL
);

CREATE TABLE memory (
    ns         TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    revision   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expire_at  INTEGER NOT NULL DEFAULT 0,
    labels     TEXT,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;

-- op: 0 put, 1 delete, 2 expire
CREATE TABLE memory_history (
    ns         TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    revision   INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    op         INTEGER NOT NULL,
    value      TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (ns, key, revision)
) WITHOUT ROWID;

CREATE TABLE webhooks (
    id    INTEGER PRIMARY KEY,
    spec  TEXT NOT NULL,
    state TEXT NOT NULL
);
