//! What can go wrong talking to n8n, each as one line an operator can act on.

use std::time::Duration;

use crate::domain::sanitize::clean;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum N8nError {
    /// 401: a wrong, expired or revoked key.
    #[error("n8n rejected the API key (401): check N8N_API_KEY or [n8n] api_key")]
    Unauthorized,
    /// 403: the key lacks the endpoint's scope.
    #[error("the n8n API key lacks the scope {scope} (403 on {endpoint})")]
    Forbidden {
        scope: &'static str,
        endpoint: &'static str,
    },
    /// 404 on an id that does not exist.
    #[error("n8n has no {what} {id}")]
    NotFound { what: &'static str, id: String },
    /// 404/405 on an endpoint the server lacks (an older n8n, or the public API disabled).
    #[error("this n8n has no {endpoint} (too old, or its public API is disabled?)")]
    Missing { endpoint: &'static str },
    /// Any other error status, with n8n's own message (400 on a retry of a successful
    /// execution: "The execution succeeded, so it cannot be retried").
    #[error("n8n answered {status} on {endpoint}: {message}")]
    Status {
        status: u16,
        message: String,
        endpoint: &'static str,
    },
    #[error("cannot connect to n8n at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("n8n at {url} did not answer within {}", fmt_secs(.after))]
    Timeout { url: String, after: Duration },
    #[error("n8n's answer to {endpoint} is not what opsdeck expects: {detail}")]
    BadResponse {
        endpoint: &'static str,
        detail: String,
    },
}

impl N8nError {
    /// A refusal on the target's state (400/409: "succeeded, cannot be retried", already
    /// active, archived): the action met a state it cannot apply to, not a broken setup.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            N8nError::Status {
                status: 400 | 409,
                ..
            }
        )
    }

    /// The short reason for the status bar: "cannot connect", "timed out", "401", …
    pub fn short(&self) -> String {
        match self {
            N8nError::Unauthorized => "API key rejected".into(),
            N8nError::Forbidden { scope, .. } => format!("key lacks {scope}"),
            N8nError::NotFound { .. } => "not found".into(),
            N8nError::Missing { .. } => "endpoint missing".into(),
            N8nError::Status { status, .. } => format!("HTTP {status}"),
            N8nError::Unreachable { .. } => "cannot connect".into(),
            N8nError::Timeout { .. } => "timed out".into(),
            N8nError::BadResponse { .. } => "bad answer".into(),
        }
    }
}

fn fmt_secs(d: &Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// n8n's `{"message": …}` (or the start of a non-JSON body), sanitised, one line, ≤ 200 chars.
pub(crate) fn message_of(body: &str) -> String {
    let m = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.to_string());
    let m = clean(&m).split_whitespace().collect::<Vec<_>>().join(" ");
    let m = if m.is_empty() {
        "(no message)".to_string()
    } else {
        m
    };
    if m.chars().count() > 200 {
        format!("{}…", m.chars().take(200).collect::<String>())
    } else {
        m
    }
}

/// The innermost cause of a transport error ("Connection refused (os error 111)").
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let s = cur.to_string();
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() { e.to_string() } else { s }
}
