//! A client for n8n's public API v1 (`/api/v1`, `X-N8N-API-KEY`): workflows (list, activate,
//! deactivate), executions (list, get, retry) and `/healthz`. Every failure is an [`N8nError`]
//! whose Display is one line an operator can act on; the API key never appears in any output.

pub mod action;
mod error;
pub mod poll;
pub mod queue;
mod wire;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};

pub use error::N8nError;

use crate::config::{ApiKey, N8nSettings, redact_url};
use crate::domain::n8n::{N8nExecution, N8nWorkflow, N8nWorkflows};
pub use wire::{ExecFilter, Page};

/// Pages of 250 (n8n's maximum) fetched at most by [`N8nClient::list_workflows`].
pub const MAX_WORKFLOW_PAGES: usize = 40;
const PAGE: u32 = 250;

/// What a request does: names the endpoint in messages and the scope a 403 lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ListWorkflows,
    GetWorkflow,
    Activate,
    Deactivate,
    ListExecutions,
    GetExecution,
    Retry,
}

impl Op {
    /// The API key scope the endpoint needs.
    pub fn scope(self) -> &'static str {
        match self {
            Op::ListWorkflows => "workflow:list",
            Op::GetWorkflow => "workflow:read",
            Op::Activate => "workflow:activate",
            Op::Deactivate => "workflow:deactivate",
            Op::ListExecutions => "execution:list",
            Op::GetExecution => "execution:read",
            Op::Retry => "execution:retry",
        }
    }
    /// The endpoint, as messages name it.
    pub fn endpoint(self) -> &'static str {
        match self {
            Op::ListWorkflows => "GET /api/v1/workflows",
            Op::GetWorkflow => "GET /api/v1/workflows/{id}",
            Op::Activate => "POST /api/v1/workflows/{id}/activate",
            Op::Deactivate => "POST /api/v1/workflows/{id}/deactivate",
            Op::ListExecutions => "GET /api/v1/executions",
            Op::GetExecution => "GET /api/v1/executions/{id}",
            Op::Retry => "POST /api/v1/executions/{id}/retry",
        }
    }
    /// The thing an id names, for "no such …" messages.
    fn target(self) -> Option<&'static str> {
        match self {
            Op::GetWorkflow | Op::Activate | Op::Deactivate => Some("workflow"),
            Op::GetExecution | Op::Retry => Some("execution"),
            Op::ListWorkflows | Op::ListExecutions => None,
        }
    }
}

/// A configured n8n. Cheap to clone (the HTTP pool is shared).
#[derive(Clone)]
pub struct N8nClient {
    base: String,
    key: ApiKey,
    timeout: Duration,
    http: reqwest::Client,
}

impl std::fmt::Debug for N8nClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("N8nClient")
            .field("base", &redact_url(&self.base))
            .field("key", &self.key)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl N8nClient {
    /// `base` is the n8n URL without `/api/v1` (a trailing `/api/v1` or `/` is dropped).
    pub fn new(base: &str, key: ApiKey, timeout: Duration) -> Self {
        let base = base.trim().trim_end_matches('/');
        let base = base.strip_suffix("/api/v1").unwrap_or(base).to_string();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        N8nClient {
            base,
            key,
            timeout,
            http,
        }
    }

    pub fn from_settings(s: &N8nSettings) -> Self {
        Self::new(&s.url, s.api_key.clone(), s.timeout)
    }

    /// The base URL (never holds the key; a password in it is redacted).
    pub fn base_url(&self) -> String {
        redact_url(&self.base)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `GET /healthz`: n8n's process answers (no key needed).
    pub async fn health(&self) -> Result<(), N8nError> {
        let url = format!("{}/healthz", self.base);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            let body = resp.text().await.unwrap_or_default();
            Err(N8nError::Status {
                status: status.as_u16(),
                message: error::message_of(&body),
                endpoint: "GET /healthz",
            })
        }
    }

    /// Every workflow, following `nextCursor` over all pages (at most [`MAX_WORKFLOW_PAGES`]).
    pub async fn list_workflows(&self) -> Result<N8nWorkflows, N8nError> {
        let mut out = N8nWorkflows::default();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_WORKFLOW_PAGES {
            let mut q = vec![("limit", PAGE.to_string())];
            if let Some(c) = &cursor {
                q.push(("cursor", c.clone()));
            }
            let page: Page<N8nWorkflow> = self
                .call(Op::ListWorkflows, Method::GET, "/workflows", &q, None, None)
                .await?;
            out.items.extend(page.data);
            match page.next_cursor.filter(|c| !c.is_empty()) {
                // a server that hands back the same cursor would loop forever
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(out),
            }
        }
        out.truncated = true;
        tracing::warn!(
            "n8n: more than {} workflows; listing the first {}",
            out.items.len(),
            out.items.len()
        );
        Ok(out)
    }

    /// `POST /workflows/{id}/activate` or `/deactivate`; answers the workflow after the change.
    pub async fn set_active(&self, id: &str, active: bool) -> Result<N8nWorkflow, N8nError> {
        let (op, verb) = if active {
            (Op::Activate, "activate")
        } else {
            (Op::Deactivate, "deactivate")
        };
        let path = format!("/workflows/{}/{verb}", seg(id));
        self.call(op, Method::POST, &path, &[], None, Some(id))
            .await
    }

    /// `GET /workflows/{id}` (without nodes).
    pub async fn get_workflow(&self, id: &str) -> Result<N8nWorkflow, N8nError> {
        let path = format!("/workflows/{}", seg(id));
        self.call(
            Op::GetWorkflow,
            Method::GET,
            &path,
            &[("excludePinnedData", "true".into())],
            None,
            Some(id),
        )
        .await
    }

    /// One page of executions, newest first.
    pub async fn list_executions(&self, f: &ExecFilter) -> Result<Page<N8nExecution>, N8nError> {
        self.call(
            Op::ListExecutions,
            Method::GET,
            "/executions",
            &f.query(),
            None,
            None,
        )
        .await
    }

    /// `GET /executions/{id}` (without run data).
    pub async fn get_execution(&self, id: &str) -> Result<N8nExecution, N8nError> {
        let path = format!("/executions/{}", seg(id));
        self.call(
            Op::GetExecution,
            Method::GET,
            &path,
            &[("includeData", "false".into())],
            None,
            Some(id),
        )
        .await
    }

    /// `POST /executions/{id}/retry` with the workflow as it was (`loadWorkflow: false`);
    /// answers the new execution (its `retry_of` is `id`).
    pub async fn retry(&self, id: &str) -> Result<N8nExecution, N8nError> {
        let path = format!("/executions/{}/retry", seg(id));
        let body = json!({"loadWorkflow": false});
        self.call(Op::Retry, Method::POST, &path, &[], Some(body), Some(id))
            .await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        op: Op,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Json>,
        id: Option<&str>,
    ) -> Result<T, N8nError> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut req = self
            .http
            .request(method, &url)
            .header("X-N8N-API-KEY", self.key.expose())
            .header("Accept", "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| self.transport(e))?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| N8nError::BadResponse {
                endpoint: op.endpoint(),
                detail: e.to_string(),
            });
        }
        Err(self.classify(op, status, &text, id).await)
    }

    /// Maps an error status to what it means for this endpoint.
    async fn classify(&self, op: Op, status: StatusCode, body: &str, id: Option<&str>) -> N8nError {
        let message = error::message_of(body);
        match status.as_u16() {
            401 => N8nError::Unauthorized,
            403 => N8nError::Forbidden {
                scope: op.scope(),
                endpoint: op.endpoint(),
            },
            405 => N8nError::Missing {
                endpoint: op.endpoint(),
            },
            404 => match (op.target(), id) {
                (Some(what), Some(id)) => {
                    // an unknown id, or an endpoint this server does not have? The id decides.
                    if op != Op::GetWorkflow && op != Op::GetExecution && self.exists(op, id).await
                    {
                        N8nError::Missing {
                            endpoint: op.endpoint(),
                        }
                    } else {
                        N8nError::NotFound {
                            what,
                            id: id.to_string(),
                        }
                    }
                }
                _ => N8nError::Missing {
                    endpoint: op.endpoint(),
                },
            },
            code => N8nError::Status {
                status: code,
                message,
                endpoint: op.endpoint(),
            },
        }
    }

    /// Whether the target of a 404 exists (then the endpoint is what is missing). False when
    /// the probe itself fails.
    async fn exists(&self, op: Op, id: &str) -> bool {
        let kind = match op.target() {
            Some("workflow") => "workflows",
            Some(_) => "executions",
            None => return false,
        };
        let url = format!("{}/api/v1/{kind}/{}", self.base, seg(id));
        matches!(
            self.http
                .get(&url)
                .header("X-N8N-API-KEY", self.key.expose())
                .send()
                .await,
            Ok(r) if r.status().is_success()
        )
    }

    fn transport(&self, e: reqwest::Error) -> N8nError {
        let url = self.base_url();
        if e.is_timeout() {
            N8nError::Timeout {
                url,
                after: self.timeout,
            }
        } else if e.is_connect() {
            N8nError::Unreachable {
                url,
                detail: error::root_cause(&e),
            }
        } else {
            N8nError::Unreachable {
                url,
                detail: crate::config::redact_in(&error::root_cause(&e)),
            }
        }
    }
}

/// An id as one path segment (ids are digits or short strings; anything else is escaped).
fn seg(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.trim().as_bytes()).collect()
}
