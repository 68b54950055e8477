//! Word lists for realistic names, notes and message bodies.

pub const CORE_ROLES: &[&str] = &["coordinator", "implementer", "reviewer", "planner", "tester"];
pub const MODULES: &[&str] = &["main", "daemon", "relay", "sync", "cli", "ui", "auth", "groups"];
pub const EXTRA_ROLES: &[&str] =
    &["researcher", "documenter", "deployer", "monitor", "orchestrator"];

pub const HUMANS: &[(&str, &str)] = &[
    ("alice", "Alice Moreau"),
    ("bram", "Bram de Vries"),
    ("chidi", "Chidi Okafor"),
    ("dagny", "Dagny Ødegård"),
    ("eitan", "Eitan Levi"),
    ("fumiko", "Fumiko Sato (佐藤)"),
    ("gabriel", "Gabriel Peña"),
    ("hana", "Hana Novák"),
    ("ines", "Inês Carvalho"),
    ("jonas", "Jonas Schäfer"),
];

pub const PERSONAS: &[&str] = &[
    "Ada", "Basil", "Cora", "Dex", "Echo", "Fern", "Gus", "Hex", "Iris", "Juno", "Kit", "Lumen",
    "Milo", "Nova", "Orin", "Pax", "Quill", "Rune", "Sable", "Tess", "Umber", "Vale", "Wren",
    "Xeno", "Yara", "Zed",
];

pub const HOSTNAMES: &[&str] = &[
    "mbp-alice.local",
    "build-01.ci.internal",
    "build-02.ci.internal",
    "dev-vm-3.lan",
    "ws-berlin-02",
    "gpu-box.tailnet",
];

/// `n` hostnames: the machines of `pool` in its order, then synthetic
/// ones, `{prefix}-01.mesh.internal`, `{prefix}-02.mesh.internal`, ...
/// (the peers of a single fixture and the daemons of a mesh).
pub fn hosts(mut pool: Vec<String>, n: u32, prefix: &str) -> Vec<String> {
    let mut k = 1;
    while pool.len() < n as usize {
        pool.push(format!("{prefix}-{k:02}.mesh.internal"));
        k += 1;
    }
    pool.truncate(n as usize);
    pool
}

pub const END_REASONS: &[&str] =
    &["normal", "normal", "normal", "timeout", "idle", "context_exhausted", "crash", "user_quit"];

pub const VERBS: &[&str] = &[
    "refactor",
    "fix",
    "add",
    "remove",
    "document",
    "benchmark",
    "harden",
    "simplify",
    "profile",
    "migrate",
    "retry",
    "cache",
    "validate",
    "split",
    "rename",
];

pub const NOUNS: &[&str] = &[
    "relay reconnect backoff",
    "sync checkpoint writer",
    "JSONL shard rotation",
    "session heartbeat",
    "group membership cache",
    "auth token refresh",
    "CLI flag parsing",
    "UI unread badge",
    "event id backfill",
    "message edit history",
    "WAL checkpointing",
    "subscription matcher",
    "mention resolver",
    "identity loader",
    "context file watcher",
    "daemon shutdown path",
    "thread view pagination",
    "rate limiter",
    "peer discovery",
    "schema migration runner",
];

pub const FILES: &[&str] = &[
    "internal/daemon/server.go",
    "internal/daemon/heartbeat.go",
    "internal/relay/client.go",
    "internal/relay/backoff.go",
    "internal/sync/checkpoint.go",
    "internal/sync/peer.go",
    "internal/store/migrations.go",
    "internal/store/projector.go",
    "internal/store/events.go",
    "internal/groups/resolve.go",
    "internal/auth/token.go",
    "internal/auth/keys.go",
    "cmd/thrum/main.go",
    "cmd/thrum/send.go",
    "cmd/thrum/inbox.go",
    "ui/src/components/Inbox.tsx",
    "ui/src/components/Thread.tsx",
    "ui/src/api/client.ts",
    "docs/architecture.md",
    "docs/sync-protocol.md",
    "Makefile",
    "go.mod",
    "internal/identity/file.go",
    "internal/context/notes.go",
];

pub const TASK_PREFIX: &[&str] = &[
    "Implement",
    "Fix",
    "Investigate",
    "Review",
    "Write tests for",
    "Document",
    "Benchmark",
    "Refactor",
];

pub const DELETE_REASONS: &[&str] =
    &["duplicate", "posted in the wrong group", "contained a secret token", "superseded", ""];

pub const NON_ASCII: &[&str] = &[
    "naïve",
    "façade",
    "Zoë",
    "Jürgen",
    "São Paulo",
    "Ødegård",
    "同期",
    "テスト",
    "✅",
    "→",
    "…",
    "≥",
    "€",
    "🚀",
    "Ελληνικά",
];

pub const LINK_TARGETS: &[&str] = &[
    "https://github.com/thrum-dev/thrum/pull/412",
    "https://github.com/thrum-dev/thrum/issues/388",
    "https://ci.example.com/builds/20931",
    "https://docs.example.com/thrum/sync#checkpoints",
    "https://grafana.example.com/d/relay?orgId=1&from=now-6h",
];

pub const CODE_SNIPPETS: &[(&str, &str)] = &[
    (
        "go",
        "func backoff(attempt int) time.Duration {\n\td := base << attempt\n\tif d > maxDelay \
            {\n\t\treturn maxDelay\n\t}\n\treturn d\n}",
    ),
    (
        "sql",
        "SELECT agent_id, COUNT(*)\nFROM messages\nWHERE deleted = 0 AND created_at >= \
            '2026-03-01'\nGROUP BY agent_id\nORDER BY 2 DESC;",
    ),
    ("sh", "thrum send --to @reviewer \"PR ready\" && thrum inbox --unread | head -20"),
    ("json", "{\n  \"local_only\": true,\n  \"version\": 1\n}"),
    (
        "diff",
        "- if err != nil { return err }\n+ if err != nil {\n+     return fmt.Errorf(\"sync: \
        %w\", err)\n+ }",
    ),
    ("rust", "let seq = events.iter().map(|e| e.sequence).max().unwrap_or(0);"),
];

pub const STATUS_WORDS: &[&str] = &["green", "red", "flaky", "pending", "skipped"];
