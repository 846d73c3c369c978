-- SPDX-License-Identifier: MIT
-- 005: task graphs. after_ids: the tasks a task runs after (a JSON array of task ids, NULL =
-- none); fan_in: how a parent waiting for its children is decided (0 none, 1 all, 2 any,
-- 3 quorum) and quorum its successes needed; state 6 is `waiting` (such a parent). The index
-- finds a task's children (for recovery and the tree view); parent 0 means none.
ALTER TABLE tasks ADD COLUMN after_ids TEXT;
ALTER TABLE tasks ADD COLUMN fan_in INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN quorum INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tasks_by_parent ON tasks (parent, id) WHERE parent > 0;
