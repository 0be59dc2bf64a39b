//! What the operator sees before anything is sent (the CLI's `--dry-run`, the compose screen).

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use super::{Channel, Level, Person, Plan, Scope, Segments, channel_counts_label, segments};
use crate::domain::idem::IdemKey;

/// The state of the Emergency Broadcast System workflow (the engine claims no job of a paused
/// workflow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkflowState {
    Active,
    Paused,
    Missing,
}

/// A broadcast ready to be sent: validated, its audience planned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    pub level: Level,
    pub scope: Scope,
    /// Venue of the event, or the venue itself.
    pub venue_name: String,
    /// The events the audience was read from.
    pub events: Vec<String>,
    pub message: String,
    pub channels: Option<Vec<Channel>>,
    pub test: bool,
    pub idempotency_key: IdemKey,
    pub follow_up_of: Option<Uuid>,
    pub plan: Plan,
    pub segments: Segments,
    pub workflow: WorkflowState,
    /// Live and the level is in `second_operator_for`: waits for a second operator.
    pub needs_approval: bool,
    /// Test recipients that are not people rows yet (created with the broadcast).
    #[serde(skip)]
    pub new_people: Vec<Person>,
}

impl Preview {
    pub fn new_segments(message: &str) -> Segments {
        segments(message)
    }

    pub fn by_channel(&self) -> &BTreeMap<Channel, usize> {
        &self.plan.by_channel
    }

    /// Warnings the operator must see before sending.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        match self.workflow {
            WorkflowState::Active => {}
            WorkflowState::Paused => w.push(
                "the Emergency Broadcast System workflow is PAUSED: deliveries wait until it is resumed"
                    .into(),
            ),
            WorkflowState::Missing => w.push(
                "no Emergency Broadcast System workflow: deliveries are queued without one".into(),
            ),
        }
        if self.plan.deliveries.is_empty() {
            w.push("nobody can be reached: nothing would be sent".into());
        }
        if !self.plan.unreachable.is_empty() {
            w.push(format!(
                "{} people have no reachable phone or e-mail",
                self.plan.unreachable.len()
            ));
        }
        if self.needs_approval {
            w.push(format!(
                "{} broadcasts need a second operator's approval before anything is sent",
                self.level
            ));
        }
        w
    }

    /// Lines for the CLI and the compose screen's preview pane.
    pub fn lines(&self) -> Vec<String> {
        let mode = if self.test { "TEST" } else { "LIVE" };
        let mut out = vec![
            format!(
                "{mode} {} broadcast to {} '{}'{}",
                self.level.as_str().to_uppercase(),
                self.scope.kind(),
                self.scope.label(),
                if self.events.len() > 1 {
                    format!(" ({} events today)", self.events.len())
                } else {
                    String::new()
                }
            ),
            format!(
                "people {} · reached {} · unreachable {} · duplicates skipped {}",
                self.plan.people,
                self.plan.reached,
                self.plan.unreachable.len(),
                self.plan.duplicates
            ),
            format!(
                "deliveries {}: {}",
                self.plan.deliveries.len(),
                channel_counts_label(&self.plan.by_channel)
            ),
            format!("message: {}", self.segments.label()),
        ];
        out.extend(self.warnings().into_iter().map(|w| format!("warning: {w}")));
        out
    }
}
