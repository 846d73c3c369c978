-- SPDX-License-Identifier: MIT
-- 002: templates and swarms (desired state, as applied), managed agents' template.
CREATE TABLE templates (
    name       TEXT    PRIMARY KEY,
    spec       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE swarms (
    name       TEXT    PRIMARY KEY,
    spec       TEXT    NOT NULL,
    stopped    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

ALTER TABLE agents ADD COLUMN template TEXT;
ALTER TABLE agents ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;
