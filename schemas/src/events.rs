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
    pub const MESSAGE_CREATE: &str = "message.create";
    pub const MESSAGE_EDIT: &str = "message.edit";
    pub const MESSAGE_DELETE: &str = "message.delete";
    pub const AGENT_REGISTER: &str = "agent.register";
    pub const SESSION_START: &str = "agent.session.start";
    pub const SESSION_END: &str = "agent.session.end";
    pub const AGENT_UPDATE: &str = "agent.update";
    pub const AGENT_CLEANUP: &str = "agent.cleanup";
    pub const GROUP_CREATE: &str = "group.create";
    pub const GROUP_MEMBER_ADD: &str = "group.member.add";
    pub const GROUP_MEMBER_REMOVE: &str = "group.member.remove";
    pub const GROUP_UPDATE: &str = "group.update";
    pub const GROUP_DELETE: &str = "group.delete";
    pub const THREAD_CREATE: &str = "thread.create";
    /// All of them, in the order of the format's table.
    pub const ALL: &[&str] = &[
        MESSAGE_CREATE, MESSAGE_EDIT, MESSAGE_DELETE, AGENT_REGISTER, SESSION_START, SESSION_END,
        AGENT_UPDATE, AGENT_CLEANUP, GROUP_CREATE, GROUP_MEMBER_ADD, GROUP_MEMBER_REMOVE,
        GROUP_UPDATE, GROUP_DELETE, THREAD_CREATE,
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
    #[serde(rename = "type", default)]
    pub event_type: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_daemon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Body {
    pub format: String,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured: Option<String>,
}

/// A `{type, value}` pair (scopes and refs).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(default)]
pub struct TypedValue {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageCreate {
    pub message_id: String,
    pub thread_id: Option<String>,
    pub agent_id: String,
    pub session_id: String,
    pub body: Body,
    pub scopes: Option<Vec<TypedValue>>,
    pub refs: Option<Vec<TypedValue>>,
    pub authored_by: Option<String>,
    pub disclosed: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageEdit {
    pub message_id: String,
    pub body: Body,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageDelete {
    pub message_id: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentRegister {
    pub agent_id: String,
    pub kind: String,
    pub name: Option<String>,
    pub role: String,
    pub module: String,
    pub worktree: Option<String>,
    pub display: Option<String>,
    pub hostname: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionStart {
    pub session_id: String,
    pub agent_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionEnd {
    pub session_id: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Commit {
    pub sha: String,
    pub message: String,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileChange {
    pub path: String,
    pub last_modified: String,
    pub additions: i64,
    pub deletions: i64,
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkContext {
    pub session_id: String,
    pub branch: String,
    pub worktree_path: String,
    pub unmerged_commits: Option<Vec<Commit>>,
    pub uncommitted_files: Option<Vec<String>>,
    pub changed_files: Option<Vec<String>>,
    pub file_changes: Option<Vec<FileChange>>,
    pub git_updated_at: String,
    pub current_task: String,
    pub task_updated_at: String,
    pub intent: String,
    pub intent_updated_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentUpdate {
    pub agent_id: String,
    pub work_contexts: Vec<WorkContext>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentCleanup {
    pub agent_id: String,
    pub reason: Option<String>,
    pub method: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupCreate {
    pub group_id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_by: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupMember {
    pub group_id: String,
    pub member_type: String,
    pub member_value: String,
    /// `added_by` on add events.
    pub added_by: Option<String>,
    /// `removed_by` on remove events.
    pub removed_by: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupFields {
    pub description: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupUpdate {
    pub group_id: String,
    pub updated_by: String,
    pub fields: GroupFields,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupDelete {
    pub group_id: String,
    pub deleted_by: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThreadCreate {
    pub thread_id: String,
    pub title: String,
    pub created_by: String,
}

/// A decoded payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    MessageCreate(MessageCreate),
    MessageEdit(MessageEdit),
    MessageDelete(MessageDelete),
    AgentRegister(AgentRegister),
    SessionStart(SessionStart),
    SessionEnd(SessionEnd),
    AgentUpdate(AgentUpdate),
    AgentCleanup(AgentCleanup),
    GroupCreate(GroupCreate),
    GroupMemberAdd(GroupMember),
    GroupMemberRemove(GroupMember),
    GroupUpdate(GroupUpdate),
    GroupDelete(GroupDelete),
    ThreadCreate(ThreadCreate),
    /// Forward compatibility: the projection ignores it.
    Unknown,
}

/// One decoded event line.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub envelope: Envelope,
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

fn typed<T: for<'de> Deserialize<'de>>(v: &Value) -> Result<T, DecodeError> {
    T::deserialize(v).map_err(|e| DecodeError::Payload(e.to_string()))
}

impl Event {
    /// Decodes one line (without its newline).
    pub fn parse(line: &str) -> Result<Event, DecodeError> {
        let v: Value = serde_json::from_str(line).map_err(|e| DecodeError::Syntax(e.to_string()))?;
        Event::from_value(v)
    }

    pub fn from_value(v: Value) -> Result<Event, DecodeError> {
        if !v.is_object() {
            return Err(DecodeError::NotObject);
        }
        let envelope: Envelope = typed(&v)?;
        use types::*;
        let payload = match envelope.event_type.as_str() {
            MESSAGE_CREATE => Payload::MessageCreate(typed(&v)?),
            MESSAGE_EDIT => Payload::MessageEdit(typed(&v)?),
            MESSAGE_DELETE => Payload::MessageDelete(typed(&v)?),
            AGENT_REGISTER => Payload::AgentRegister(typed(&v)?),
            SESSION_START => Payload::SessionStart(typed(&v)?),
            SESSION_END => Payload::SessionEnd(typed(&v)?),
            AGENT_UPDATE => Payload::AgentUpdate(typed(&v)?),
            AGENT_CLEANUP => Payload::AgentCleanup(typed(&v)?),
            GROUP_CREATE => Payload::GroupCreate(typed(&v)?),
            GROUP_MEMBER_ADD => Payload::GroupMemberAdd(typed(&v)?),
            GROUP_MEMBER_REMOVE => Payload::GroupMemberRemove(typed(&v)?),
            GROUP_UPDATE => Payload::GroupUpdate(typed(&v)?),
            GROUP_DELETE => Payload::GroupDelete(typed(&v)?),
            THREAD_CREATE => Payload::ThreadCreate(typed(&v)?),
            _ => Payload::Unknown,
        };
        let raw = match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Ok(Event { envelope, payload, raw })
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
            let _ = write!(s, ",\"additions\":{},\"deletions\":{},\"status\":", c.additions, c.deletions);
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
        let e = Event::parse(r#"{"type":"message.create","timestamp":"t","message_id":"m","body":{"content":"hi"}}"#).unwrap();
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
        assert!(matches!(Event::parse(r#"{"type":"agent.update","work_contexts":5}"#), Err(DecodeError::Payload(_))));
    }
    #[test]
    fn column_encodings_keep_struct_order() {
        let c = vec![Commit { sha: "ab".into(), message: "fix <x>".into(), files: vec!["a.go".into()] }];
        assert_eq!(columns::commits(Some(&c)), r#"[{"sha":"ab","message":"fix \u003cx\u003e","files":["a.go"]}]"#);
        assert_eq!(columns::commits(None), "null");
        assert_eq!(columns::strings(Some(&[])), "[]");
    }
}
