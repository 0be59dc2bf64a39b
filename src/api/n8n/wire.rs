//! n8n's wire details that stay in the client: a page of a list, and the executions filter
//! with its query parameters.

use serde::Deserialize;

/// One page of a list: `{data, nextCursor}`; `nextCursor` is null on the last page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// `GET /executions` filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecFilter {
    /// One of n8n's statuses: error, success, running, waiting, canceled.
    pub status: Option<String>,
    pub workflow_id: Option<String>,
    /// Page size; n8n allows 1..=250 (default 100).
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl ExecFilter {
    pub fn status(s: &str) -> Self {
        ExecFilter {
            status: Some(s.into()),
            ..Default::default()
        }
    }
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }
    pub(super) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(s) = &self.status {
            q.push(("status", s.clone()));
        }
        if let Some(w) = &self.workflow_id {
            q.push(("workflowId", w.clone()));
        }
        if let Some(l) = self.limit {
            q.push(("limit", l.clamp(1, 250).to_string()));
        }
        if let Some(c) = &self.cursor {
            q.push(("cursor", c.clone()));
        }
        q
    }
}
