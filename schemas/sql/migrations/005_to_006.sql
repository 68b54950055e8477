-- 5 -> 6: per-session work contexts (file_changes arrives in step 9 -> 10).
CREATE TABLE agent_work_contexts (
    session_id        TEXT PRIMARY KEY,
    agent_id          TEXT NOT NULL,
    branch            TEXT,
    worktree_path     TEXT,
    unmerged_commits  TEXT,
    uncommitted_files TEXT,
    changed_files     TEXT,
    git_updated_at    TEXT,
    current_task      TEXT,
    task_updated_at   TEXT,
    intent            TEXT,
    intent_updated_at TEXT,
    FOREIGN KEY (session_id) REFERENCES sessions(session_id) ON DELETE CASCADE
);

CREATE INDEX idx_work_contexts_agent ON agent_work_contexts(agent_id);
CREATE INDEX idx_work_contexts_branch ON agent_work_contexts(branch);
