-- SPDX-License-Identifier: MIT
-- 004: what running agents cost, per swarm ('' for agents outside any swarm) and template, in
-- one-minute buckets (bucket: the minute's start, wall ms); costs_seq: the commit batch of the
-- last cost change, so that a reader knows which changes its snapshot holds. swarms.scaled: the
-- autoscaler's count of agents (NULL: not autoscaled), kept across restarts.
CREATE TABLE costs (
    swarm    TEXT    NOT NULL,
    template TEXT    NOT NULL,
    bucket   INTEGER NOT NULL,
    cost     REAL    NOT NULL,
    agent_ms INTEGER NOT NULL,
    PRIMARY KEY (swarm, template, bucket)
) WITHOUT ROWID;
CREATE INDEX costs_by_bucket ON costs (bucket);

CREATE TABLE costs_seq (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO costs_seq VALUES (1, 0);

ALTER TABLE swarms ADD COLUMN scaled INTEGER;
