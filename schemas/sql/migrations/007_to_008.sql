-- 7 -> 8: groups.
CREATE TABLE groups (
    group_id    TEXT PRIMARY KEY,
    name        TEXT UNIQUE NOT NULL,
    description TEXT,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  TEXT,
    metadata    TEXT
);

CREATE TABLE group_members (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id     TEXT NOT NULL,
    member_type  TEXT NOT NULL,
    member_value TEXT NOT NULL,
    added_at     TEXT NOT NULL,
    added_by     TEXT,
    UNIQUE (group_id, member_type, member_value),
    FOREIGN KEY (group_id) REFERENCES groups(group_id) ON DELETE CASCADE
);

CREATE INDEX idx_groups_name ON groups(name);
CREATE INDEX idx_group_members_group ON group_members(group_id);
CREATE INDEX idx_group_members_lookup ON group_members(member_type, member_value);
