-- SPDX-License-Identifier: MIT
-- 006: routing between swarms. route: the swarms a task went through to reach its swarm
-- (a JSON array of swarm names, first the submitter's, last the serving one; NULL = not
-- routed); wait_for_provider: 1 when it was submitted while nothing could serve it and asked
-- to wait queued for a provider; selector: the labels (a JSON object) an agent must have to
-- take it (NULL = any agent).
ALTER TABLE tasks ADD COLUMN route TEXT;
ALTER TABLE tasks ADD COLUMN selector TEXT;
-- affinity: the value its swarm's routing.hash took from the task (its agent is chosen by
-- consistent hashing of it), NULL = none.
ALTER TABLE tasks ADD COLUMN affinity TEXT;
ALTER TABLE tasks ADD COLUMN wait_for_provider INTEGER NOT NULL DEFAULT 0;
