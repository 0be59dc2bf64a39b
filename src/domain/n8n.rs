//! n8n public API v1 shapes (from n8n's OpenAPI spec, checked against n8n 1.123). Only the
//! fields opsdeck shows; unknown fields are ignored. Ids come as strings in lists and as
//! numbers in some answers (`retryOf` of a retry): [`flex_id`] takes both.

use chrono::{DateTime, Utc};

use crate::domain::model::Ts;
use serde::{Deserialize, Deserializer, Serialize};

/// A string or a number, as a string.
pub fn flex_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        N(serde_json::Number),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::S(s) => s,
        Raw::N(n) => n.to_string(),
    })
}

/// [`flex_id`] for optional fields (null or absent → None).
pub fn flex_opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        N(serde_json::Number),
        Null(()),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::S(s)) if !s.is_empty() => Some(s),
        Some(Raw::N(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct N8nTag {
    #[serde(deserialize_with = "flex_id", default)]
    pub id: String,
    pub name: String,
}

/// A workflow as `GET /workflows` lists it (nodes and connections are skipped).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct N8nWorkflow {
    #[serde(deserialize_with = "flex_id")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub tags: Vec<N8nTag>,
    /// Archived workflows (n8n ≥ 1.9x) cannot be activated.
    #[serde(default)]
    pub is_archived: bool,
}

fn nullable_vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// An execution (without its run data).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct N8nExecution {
    #[serde(deserialize_with = "flex_id")]
    pub id: String,
    /// `error`, `success`, `running`, `waiting`, `canceled`, `crashed`, `new`, `unknown`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub finished: bool,
    /// `webhook`, `trigger`, `manual`, `retry`, …
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub stopped_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "flex_opt_id")]
    pub workflow_id: Option<String>,
    #[serde(default, deserialize_with = "flex_opt_id")]
    pub retry_of: Option<String>,
    #[serde(default, deserialize_with = "flex_opt_id")]
    pub retry_success_id: Option<String>,
    #[serde(default)]
    pub wait_till: Option<DateTime<Utc>>,
}

impl N8nExecution {
    /// The status to show: n8n ≥ 1.0 always sends `status`; older answers only `finished`.
    pub fn status_str(&self) -> &str {
        if !self.status.is_empty() {
            &self.status
        } else if self.finished {
            "success"
        } else if self.stopped_at.is_some() {
            "error"
        } else {
            "running"
        }
    }

    /// Whether n8n would accept a retry (it refuses successful and unfinished ones).
    pub fn retryable(&self) -> bool {
        matches!(self.status_str(), "error" | "crashed" | "canceled")
            && self.retry_success_id.is_none()
    }
}

/// Every workflow (all pages, up to a cap).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct N8nWorkflows {
    pub items: Vec<N8nWorkflow>,
    /// The cap was reached: more exist than are listed.
    pub truncated: bool,
}

/// One poll's result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct N8nSnapshot {
    pub workflows: Vec<N8nWorkflow>,
    /// The most recent executions, newest first.
    pub executions: Vec<N8nExecution>,
    /// `?status=waiting` — a hint only: n8n 1.123 leaves out executions it still holds in
    /// memory (approvals reach the console as approval_requests rows instead).
    pub waiting: Vec<N8nExecution>,
    /// More workflows exist than were listed.
    pub truncated: bool,
}

/// What the poller sends (the console wraps it in a message).
#[derive(Debug, Clone, PartialEq)]
pub struct N8nPolled {
    pub at: Ts,
    /// The snapshot, or the error: `short` for the status bar, `full` for the pane.
    pub result: Result<N8nSnapshot, N8nDown>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct N8nDown {
    /// "cannot connect", "timed out", "API key rejected", …
    pub short: String,
    /// The one-line operator message.
    pub full: String,
}
