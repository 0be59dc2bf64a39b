//! What the broadcast IO takes and gives back: a draft as typed, what a send, an approval or a
//! cancel did, where a broadcast stands, the broadcasts awaiting a second operator, and the
//! events the compose screen offers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::Channel;
use crate::domain::idem::IdemKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SendOutcome {
    /// Written and queued for delivery.
    Sent,
    /// Written, waiting for a second operator.
    AwaitingApproval,
    /// The same key and the same broadcast again: nothing new was sent.
    Replay,
    /// The key was already used for a different broadcast: nothing was sent.
    KeyConflict,
}

impl SendOutcome {
    /// CLI exit code: a replay is fine (0), a key reused for something else is a conflict (1).
    pub fn exit_code(self) -> u8 {
        match self {
            SendOutcome::KeyConflict => 1,
            _ => 0,
        }
    }
}

/// What a send did.
#[derive(Debug, Clone, Serialize)]
pub struct SendReport {
    pub outcome: SendOutcome,
    pub broadcast_id: Uuid,
    pub status: String,
    pub test: bool,
    pub deliveries: usize,
    pub by_channel: BTreeMap<Channel, usize>,
    pub unreachable: usize,
    pub duplicates: usize,
    pub message: String,
    pub webhook: Option<WebhookResult>,
    pub audit_id: Option<Uuid>,
}

/// What an approve/cancel did.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub outcome: &'static str,
    pub broadcast_id: Uuid,
    pub message: String,
    /// Deliveries the decision moved (queued by an approval, stopped by a cancel).
    pub deliveries: usize,
    /// A cancel: deliveries that will not go out (held or queued, their jobs cancelled).
    pub stopped: usize,
    /// A cancel: deliveries already out (sent, delivered or failed): untouched.
    pub already_out: usize,
    /// A cancel: deliveries a worker had already claimed (they may still go out).
    pub in_flight: usize,
    pub webhook: Option<WebhookResult>,
}

impl Decision {
    /// The decision was carried out.
    pub fn is_ok(&self) -> bool {
        self.outcome == "ok"
    }

    pub fn exit_code(&self) -> u8 {
        match self.outcome {
            "ok" => 0,
            "conflict" => 1,
            _ => 2,
        }
    }

    pub fn new(outcome: &'static str, id: Uuid, message: String) -> Decision {
        Decision {
            outcome,
            broadcast_id: id,
            message,
            deliveries: 0,
            stopped: 0,
            already_out: 0,
            in_flight: 0,
            webhook: None,
        }
    }
}

/// Counts of one channel's deliveries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChannelProgress {
    pub queued: i64,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    /// held (awaiting approval) or cancelled
    pub other: i64,
}

impl ChannelProgress {
    pub fn total(&self) -> i64 {
        self.queued + self.sent + self.delivered + self.failed + self.other
    }
    /// Delivered or failed: nothing more will happen to them.
    pub fn done(&self) -> i64 {
        self.delivered + self.failed
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedDelivery {
    pub delivery_id: Uuid,
    pub channel: String,
    pub person: String,
    pub address: String,
    pub error: String,
}

/// Where a broadcast stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    pub broadcast_id: Uuid,
    pub level: String,
    pub scope: String,
    pub target: String,
    pub message: String,
    pub status: String,
    pub test: bool,
    pub triggered_by: String,
    pub created_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
    pub webhook_status: Option<String>,
    pub webhook_error: Option<String>,
    pub by_channel: BTreeMap<String, ChannelProgress>,
    /// The first failures (at most 200), with reasons.
    pub failed: Vec<FailedDelivery>,
}

impl Progress {
    pub fn totals(&self) -> ChannelProgress {
        let mut t = ChannelProgress::default();
        for c in self.by_channel.values() {
            t.queued += c.queued;
            t.sent += c.sent;
            t.delivered += c.delivered;
            t.failed += c.failed;
            t.other += c.other;
        }
        t
    }
    /// Percent of deliveries that reached an end (delivered or failed).
    pub fn percent_done(&self) -> u32 {
        let t = self.totals();
        let live = t.total() - t.other;
        if live <= 0 {
            return 0;
        }
        (t.done() * 100 / live) as u32
    }
}

/// A follow-up message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUp {
    AllClear,
    Correction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookResult {
    pub ok: bool,
    /// HTTP status, when n8n answered.
    pub status: Option<u16>,
    /// What happened, for the operator.
    pub message: String,
}

/// Where a broadcast goes, as the operator named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Target {
    /// An event id or its exact name.
    Event(String),
    Venue(String),
}

/// A broadcast as typed (CLI flags or the compose screen), not yet validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub level: String,
    pub target: Target,
    pub message: String,
    /// `sms,voice`; None = preferences / the critical override.
    pub channels: Option<String>,
    pub idempotency_key: IdemKey,
    pub test: bool,
}

/// A broadcast waiting for a second operator (four-eyes rule): the console's badge and its
/// approval screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting {
    pub id: Uuid,
    pub level: String,
    /// event or venue
    pub scope: String,
    /// The event's or the venue's name (what a critical approval types).
    pub target: String,
    pub message: String,
    pub triggered_by: String,
    pub created_at: Option<DateTime<Utc>>,
    /// Held deliveries per channel (they go out on approval).
    pub by_channel: BTreeMap<String, i64>,
    pub unreachable: i64,
    pub duplicates: i64,
}

impl Waiting {
    pub fn deliveries(&self) -> i64 {
        self.by_channel.values().sum()
    }

    /// `operator` triggered it: the four-eyes rule needs someone else to approve it.
    pub fn is_own(&self, operator: &str) -> bool {
        self.triggered_by == operator
    }
}

/// An event the compose screen offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventChoice {
    pub id: Uuid,
    pub name: String,
    pub venue: String,
    /// Today (or running now): the venue scope's events.
    pub today: bool,
}
