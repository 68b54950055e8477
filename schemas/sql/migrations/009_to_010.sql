-- 9 -> 10: per-file change details on work contexts.
ALTER TABLE agent_work_contexts ADD COLUMN file_changes TEXT DEFAULT '[]';
