-- 11 -> 12: threads are no longer a table; thread_id lives on messages only.
DROP INDEX IF EXISTS idx_messages_thread;
DROP TABLE IF EXISTS threads;
