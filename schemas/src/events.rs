//! Event lines: the envelope every event carries and the typed payloads of each
//! event type (docs/FORMAT.md sections 3 and 4).
//!
//! Decoding mirrors the daemon's Go decoder: a missing payload field takes its
//! zero value, unknown fields are ignored, and only text that is not JSON (or
//! not an object) fails to parse.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Every event type the format defines.
pub mod types {
    /// `message.create`.
    pub const MESSAGE_CREATE: &str = "message.create";
    /// `message.edit`.
    pub const MESSAGE_EDIT: &str = "message.edit";
    /// `message.delete`.
    pub const MESSAGE_DELETE: &str = "message.delete";
    /// `agent.register`.
    pub const AGENT_REGISTER: &str = "agent.register";
    /// `agent.session.start`.
    pub const SESSION_START: &str = "agent.session.start";
    /// `agent.session.end`.
    pub const SESSION_END: &str = "agent.session.end";
    /// `agent.update`.
    pub const AGENT_UPDATE: &str = "agent.update";
    /// `agent.cleanup`.
    pub const AGENT_CLEANUP: &str = "agent.cleanup";
    /// `group.create`.
    pub const GROUP_CREATE: &str = "group.create";
    /// `group.member.add`.
    pub const GROUP_MEMBER_ADD: &str = "group.member.add";
    /// `group.member.remove`.
    pub const GROUP_MEMBER_REMOVE: &str = "group.member.remove";
    /// `group.update`.
    pub const GROUP_UPDATE: &str = "group.update";
    /// `group.delete`.
    pub const GROUP_DELETE: &str = "group.delete";
    /// `thread.create`.
    pub const THREAD_CREATE: &str = "thread.create";
    /// All of them, in the order of the format's table.
    pub const ALL: &[&str] = &[
        MESSAGE_CREATE,
        MESSAGE_EDIT,
        MESSAGE_DELETE,
        AGENT_REGISTER,
        SESSION_START,
        SESSION_END,
        AGENT_UPDATE,
        AGENT_CLEANUP,
        GROUP_CREATE,
        GROUP_MEMBER_ADD,
        GROUP_MEMBER_REMOVE,
        GROUP_UPDATE,
        GROUP_DELETE,
        THREAD_CREATE,
    ];
}

/// `message.*` events live in `messages/{author}.jsonl`, all others in `events.jsonl`.
pub fn is_message_event(event_type: &str) -> bool {
    event_type.starts_with("message.")
}

/// Envelope fields. All optional at decode time: v5 events have no
/// `event_id`, `origin_daemon` or `sequence`, and may lack `v`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The event type (`type`), one of [`types::ALL`] or a future one.
    #[serde(rename = "type", default)]
    pub event_type: String,
    /// RFC 3339 time of the event, with nanoseconds.
    #[serde(default)]
    pub timestamp: String,
    /// `evt_` ULID; absent in v5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Envelope version; absent in v5 and on some of its lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<i64>,
    /// Id of the daemon that wrote the event; absent in v5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_daemon: Option<String>,
    /// The daemon's 1-based sequence across all files; absent in v5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
}

/// A message body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Body {
    /// `markdown`, `plain` or `json`.
    pub format: String,
    /// The text.
    pub content: String,
    /// A JSON value as a string (json bodies only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured: Option<String>,
}

/// A `{type, value}` pair (scopes and refs).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(default)]
pub struct TypedValue {
    /// The `type`: `module`, `group`, `mention`, `reply_to`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The value it names.
    pub value: String,
}

/// Payload of `message.create`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageCreate {
    /// `msg_` ULID.
    pub message_id: String,
    /// `thr_` id of its conversation, if any.
    pub thread_id: Option<String>,
    /// The agent it is sent as.
    pub agent_id: String,
    /// The session it is sent from.
    pub session_id: String,
    /// Its body as created.
    pub body: Body,
    /// Scopes (`module`, `group`) it is addressed to.
    pub scopes: Option<Vec<TypedValue>>,
    /// Refs: mentions, replies, groups.
    pub refs: Option<Vec<TypedValue>>,
    /// The real author when it is sent as another agent.
    pub authored_by: Option<String>,
    /// Whether such an impersonation is disclosed.
    pub disclosed: Option<bool>,
}

/// Payload of `message.edit`: the new body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageEdit {
    /// The message edited.
    pub message_id: String,
    /// Its new body.
    pub body: Body,
}

/// Payload of `message.delete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageDelete {
    /// The message deleted.
    pub message_id: String,
    /// Why, if given.
    pub reason: Option<String>,
}

/// Payload of `agent.register`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentRegister {
    /// The agent's id (`user:<name>` for humans).
    pub agent_id: String,
    /// `agent` or `human`.
    pub kind: String,
    /// Its name, if distinct from the id.
    pub name: Option<String>,
    /// Its role.
    pub role: String,
    /// The module it works on.
    pub module: String,
    /// Its worktree.
    pub worktree: Option<String>,
    /// Its display name.
    pub display: Option<String>,
    /// The host it runs on (v13).
    pub hostname: Option<String>,
}

/// Payload of `agent.session.start`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionStart {
    /// `ses_` id of the session.
    pub session_id: String,
    /// Its agent.
    pub agent_id: String,
}

/// Payload of `agent.session.end`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionEnd {
    /// The session ended.
    pub session_id: String,
    /// Why, if given.
    pub reason: Option<String>,
}

/// An unmerged commit of a work context.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Commit {
    /// 40 hex digits.
    pub sha: String,
    /// Commit message.
    pub message: String,
    /// Paths it touches.
    pub files: Vec<String>,
}

/// A changed file of a work context, with its line counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileChange {
    /// Path of the file.
    pub path: String,
    /// RFC 3339 time of its last change.
    pub last_modified: String,
    /// Lines added.
    pub additions: i64,
    /// Lines deleted.
    pub deletions: i64,
    /// `modified`, `added`, `deleted`, …
    pub status: String,
}

/// What a session is working on: its git state, task and intent. The daemon keeps, per session,
/// the context with the greatest `git_updated_at`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkContext {
    /// The session it belongs to.
    pub session_id: String,
    /// Current branch.
    pub branch: String,
    /// Absolute path of the worktree.
    pub worktree_path: String,
    /// Commits not yet merged; `None` encodes as `null`.
    pub unmerged_commits: Option<Vec<Commit>>,
    /// Files with uncommitted changes.
    pub uncommitted_files: Option<Vec<String>>,
    /// Files changed on the branch or uncommitted.
    pub changed_files: Option<Vec<String>>,
    /// Per-file change counts.
    pub file_changes: Option<Vec<FileChange>>,
    /// RFC 3339 time of the git state (decides the merge).
    pub git_updated_at: String,
    /// What the session is doing.
    pub current_task: String,
    /// RFC 3339 time the task was set.
    pub task_updated_at: String,
    /// What it intends next.
    pub intent: String,
    /// RFC 3339 time the intent was set.
    pub intent_updated_at: String,
}

/// Payload of `agent.update`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentUpdate {
    /// The agent reporting.
    pub agent_id: String,
    /// Its sessions' work contexts.
    pub work_contexts: Vec<WorkContext>,
}

/// Payload of `agent.cleanup`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentCleanup {
    /// The agent removed.
    pub agent_id: String,
    /// Why, if given.
    pub reason: Option<String>,
    /// How it was found stale, if given.
    pub method: Option<String>,
}

/// Payload of `group.create`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupCreate {
    /// `grp_` id.
    pub group_id: String,
    /// Unique name.
    pub name: String,
    /// Description, if any.
    pub description: Option<String>,
    /// Agent id of the creator.
    pub created_by: String,
}

/// Payload of `group.member.add` and `group.member.remove`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupMember {
    /// The group.
    pub group_id: String,
    /// `agent`, `role` or `group`.
    pub member_type: String,
    /// The agent id, role or group name.
    pub member_value: String,
    /// `added_by` on add events.
    pub added_by: Option<String>,
    /// `removed_by` on remove events.
    pub removed_by: Option<String>,
}

/// The fields a `group.update` changes; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupFields {
    /// New description.
    pub description: Option<String>,
    /// New name.
    pub name: Option<String>,
}

/// Payload of `group.update`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupUpdate {
    /// The group.
    pub group_id: String,
    /// Agent id of who changed it.
    pub updated_by: String,
    /// What changes.
    pub fields: GroupFields,
}

/// Payload of `group.delete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupDelete {
    /// The group.
    pub group_id: String,
    /// Agent id of who deleted it.
    pub deleted_by: String,
}

/// Payload of `thread.create` (schema v5 only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThreadCreate {
    /// `thr_` id.
    pub thread_id: String,
    /// Title.
    pub title: String,
    /// Agent id of the creator.
    pub created_by: String,
}

/// A decoded payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// `message.create`.
    MessageCreate(MessageCreate),
    /// `message.edit`.
    MessageEdit(MessageEdit),
    /// `message.delete`.
    MessageDelete(MessageDelete),
    /// `agent.register`.
    AgentRegister(AgentRegister),
    /// `agent.session.start`.
    SessionStart(SessionStart),
    /// `agent.session.end`.
    SessionEnd(SessionEnd),
    /// `agent.update`.
    AgentUpdate(AgentUpdate),
    /// `agent.cleanup`.
    AgentCleanup(AgentCleanup),
    /// `group.create`.
    GroupCreate(GroupCreate),
    /// `group.member.add`.
    GroupMemberAdd(GroupMember),
    /// `group.member.remove`.
    GroupMemberRemove(GroupMember),
    /// `group.update`.
    GroupUpdate(GroupUpdate),
    /// `group.delete`.
    GroupDelete(GroupDelete),
    /// `thread.create`.
    ThreadCreate(ThreadCreate),
    /// Forward compatibility: the projection ignores it.
    Unknown,
}

/// One decoded event line.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The envelope fields.
    pub envelope: Envelope,
    /// The payload of its type.
    pub payload: Payload,
    /// The whole object, for fields a caller needs verbatim.
    pub raw: Map<String, Value>,
}

/// Why a line is not an event.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeError {
    /// Not JSON at all.
    Syntax(String),
    /// JSON, but not an object.
    NotObject,
    /// An object whose fields have the wrong JSON types for its event type.
    Payload(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Syntax(e) => write!(f, "not valid JSON: {e}"),
            DecodeError::NotObject => write!(f, "not a JSON object"),
            DecodeError::Payload(e) => write!(f, "payload does not match its event type: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Where a line's fields are decoded from: the whole object parsed as a
/// [`Value`], or the line's text itself.
trait Fields {
    fn typed<T: for<'de> Deserialize<'de>>(&self) -> Result<T, DecodeError>;
}

impl Fields for Value {
    fn typed<T: for<'de> Deserialize<'de>>(&self) -> Result<T, DecodeError> {
        T::deserialize(self).map_err(|e| DecodeError::Payload(e.to_string()))
    }
}

impl Fields for str {
    fn typed<T: for<'de> Deserialize<'de>>(&self) -> Result<T, DecodeError> {
        serde_json::from_str(self).map_err(|e| DecodeError::Payload(e.to_string()))
    }
}

/// The payload of an event of type `event_type`, decoded from `fields`.
fn payload(event_type: &str, fields: &(impl Fields + ?Sized)) -> Result<Payload, DecodeError> {
    use types::*;
    Ok(match event_type {
        MESSAGE_CREATE => Payload::MessageCreate(fields.typed()?),
        MESSAGE_EDIT => Payload::MessageEdit(fields.typed()?),
        MESSAGE_DELETE => Payload::MessageDelete(fields.typed()?),
        AGENT_REGISTER => Payload::AgentRegister(fields.typed()?),
        SESSION_START => Payload::SessionStart(fields.typed()?),
        SESSION_END => Payload::SessionEnd(fields.typed()?),
        AGENT_UPDATE => Payload::AgentUpdate(fields.typed()?),
        AGENT_CLEANUP => Payload::AgentCleanup(fields.typed()?),
        GROUP_CREATE => Payload::GroupCreate(fields.typed()?),
        GROUP_MEMBER_ADD => Payload::GroupMemberAdd(fields.typed()?),
        GROUP_MEMBER_REMOVE => Payload::GroupMemberRemove(fields.typed()?),
        GROUP_UPDATE => Payload::GroupUpdate(fields.typed()?),
        GROUP_DELETE => Payload::GroupDelete(fields.typed()?),
        THREAD_CREATE => Payload::ThreadCreate(fields.typed()?),
        _ => Payload::Unknown,
    })
}

impl Event {
    /// Decodes one line (without its newline).
    pub fn parse(line: &str) -> Result<Event, DecodeError> {
        let v: Value =
            serde_json::from_str(line).map_err(|e| DecodeError::Syntax(e.to_string()))?;
        Event::from_value(v)
    }

    /// Decodes one parsed JSON value.
    pub fn from_value(v: Value) -> Result<Event, DecodeError> {
        if !v.is_object() {
            return Err(DecodeError::NotObject);
        }
        let envelope: Envelope = v.typed()?;
        let payload = payload(&envelope.event_type, &v)?;
        let raw = match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Ok(Event { envelope, payload, raw })
    }

    /// Decodes one line straight from its text into its envelope and
    /// payload, without parsing the whole object first: `raw` is left
    /// empty. On a line without duplicate keys whose numbers are all
    /// integers of the `i64` range, the event [`Event::parse`] decodes
    /// (`raw` aside); otherwise, and for the wording of an error, use
    /// `parse`: every error here is [`DecodeError::Payload`], with serde's
    /// own wording.
    pub fn parse_fields(line: &str) -> Result<Event, DecodeError> {
        Event::parse_payload(line.typed()?, line)
    }

    /// [`Event::parse_fields`] of a line whose envelope the caller has
    /// already read from its text: only the payload is decoded, in one
    /// pass. `envelope` must be what `parse_fields` would decode.
    pub fn parse_payload(envelope: Envelope, line: &str) -> Result<Event, DecodeError> {
        let payload = payload(&envelope.event_type, line)?;
        Ok(Event { envelope, payload, raw: Map::new() })
    }
}

/// Column encodings of `agent_work_contexts` list fields: the projector stores
/// `json.Marshal` of the typed list, so struct fields keep their declared order
/// (`sha`, `message`, `files`; `path`, `last_modified`, `additions`,
/// `deletions`, `status`) and an absent list is `null`.
pub mod columns {
    use super::{Commit, FileChange};
    use crate::gojson::{push_str, push_str_array};
    use std::fmt::Write as _;

    /// `unmerged_commits`.
    pub fn commits(list: Option<&[Commit]>) -> String {
        let Some(list) = list else { return "null".into() };
        let mut s = String::from("[");
        for (i, c) in list.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str("{\"sha\":");
            push_str(&mut s, &c.sha);
            s.push_str(",\"message\":");
            push_str(&mut s, &c.message);
            s.push_str(",\"files\":");
            push_str_array(&mut s, &c.files);
            s.push('}');
        }
        s.push(']');
        s
    }

    /// `uncommitted_files` and `changed_files`.
    pub fn strings(list: Option<&[String]>) -> String {
        match list {
            None => "null".into(),
            Some(l) => {
                let mut s = String::new();
                push_str_array(&mut s, l);
                s
            }
        }
    }

    /// `file_changes`.
    pub fn file_changes(list: Option<&[FileChange]>) -> String {
        let Some(list) = list else { return "null".into() };
        let mut s = String::from("[");
        for (i, c) in list.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str("{\"path\":");
            push_str(&mut s, &c.path);
            s.push_str(",\"last_modified\":");
            push_str(&mut s, &c.last_modified);
            let _ = write!(
                s,
                ",\"additions\":{},\"deletions\":{},\"status\":",
                c.additions, c.deletions
            );
            push_str(&mut s, &c.status);
            s.push('}');
        }
        s.push(']');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn decodes_with_go_zero_values() {
        let e = Event::parse(
            r#"{"type":"message.create","timestamp":"t","message_id":"m","body":{"content":"hi"}}"#,
        )
        .unwrap();
        match e.payload {
            Payload::MessageCreate(m) => {
                assert_eq!(m.message_id, "m");
                assert_eq!(m.body.format, "");
                assert!(m.scopes.is_none());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(Event::parse("{not json"), Err(DecodeError::Syntax(_))));
        assert!(matches!(Event::parse("[1]"), Err(DecodeError::NotObject)));
        assert!(matches!(Event::parse(r#"{"type":"x.y"}"#).unwrap().payload, Payload::Unknown));
        assert!(matches!(
            Event::parse(r#"{"type":"agent.update","work_contexts":5}"#),
            Err(DecodeError::Payload(_))
        ));
    }
    #[test]
    fn fields_decode_as_the_whole_object_does() {
        for line in [
            r#"{"type":"message.create","timestamp":"t","message_id":"m","body":{"content":"hi"}}"#,
            concat!(
                r#"{"agent_id":"a","event_id":"evt_1","sequence":7,"type":"agent.update","v":1,"#,
                r#""work_contexts":[{"branch":"b","file_changes":[{"additions":3,"path":"p"}],"#,
                r#""unmerged_commits":null}]}"#,
            ),
            r#"{"fields":{"name":"n"},"group_id":"g","type":"group.update","x":[1,{"y":null}]}"#,
            r#"{"type":"x.y","z":1}"#,
            r#"{}"#,
        ] {
            let whole = Event::parse(line).unwrap();
            let fields = Event::parse_fields(line).unwrap();
            assert!(fields.raw.is_empty());
            assert_eq!((&fields.envelope, &fields.payload), (&whole.envelope, &whole.payload));
        }
        for line in [r#"{"type":"agent.update","work_contexts":5}"#, "[1]", "{", r#"{"v":"1"}"#] {
            assert!(Event::parse(line).is_err(), "{line}");
            assert!(matches!(Event::parse_fields(line), Err(DecodeError::Payload(_))), "{line}");
        }
    }

    #[test]
    fn column_encodings_keep_struct_order() {
        let c = vec![Commit {
            sha: "ab".into(),
            message: "fix <x>".into(),
            files: vec!["a.go".into()],
        }];
        assert_eq!(
            columns::commits(Some(&c)),
            r#"[{"sha":"ab","message":"fix \u003cx\u003e","files":["a.go"]}]"#
        );
        assert_eq!(columns::commits(None), "null");
        assert_eq!(columns::strings(Some(&[])), "[]");
    }
}
