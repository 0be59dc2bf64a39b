//! n8n's queue (queue mode) as the console follows it: the last sample, the flow between
//! samples (added vs taken, for the sparkline), since when waiting jobs have seen nothing
//! taken, the health lines, and whether Redis answers. Pure: the poller
//! (api::n8n::queue::run) sends [`QueuePolled`] values, which app.rs wraps in `Msg::N8nQueue`.

use std::collections::VecDeque;
use std::time::Duration;

use crate::domain::model::Ts;
use crate::domain::n8n::N8nDown;
use crate::domain::n8n_queue::{
    Flow, HealthLine, QueuePolled, QueueRules, QueueSample, Seen, Verdict, flow, judge,
};

/// Flows kept for the sparkline (one per poll).
pub const HISTORY: usize = 120;

#[derive(Debug, Clone, Default)]
pub struct N8nQueueState {
    /// The queue is configured (the poller runs); when false nothing of it shows anywhere.
    pub configured: bool,
    pub prefix: String,
    /// Where Redis is (`host:port/db`), for the screen.
    pub target: String,
    pub rules: QueueRules,
    /// The last good sample and when it was read (kept while Redis is down, with its age).
    pub last: Option<(Ts, QueueSample)>,
    /// Added vs taken per poll, oldest first.
    pub history: VecDeque<Flow>,
    /// Since when waiting jobs have seen nothing taken (None: nothing waits, or it moves).
    pub stuck_since: Option<Ts>,
    /// None until the first poll lands.
    pub up: Option<bool>,
    pub down_since: Option<Ts>,
    pub error: Option<N8nDown>,
    pub health: Vec<HealthLine>,
    /// Since when each failing health line has failed (component → first failure).
    pub failing_since: Vec<(String, Ts)>,
}

impl N8nQueueState {
    pub fn new(prefix: &str, target: &str, not_moving_after: Duration) -> Self {
        N8nQueueState {
            configured: true,
            prefix: prefix.to_string(),
            target: target.to_string(),
            rules: QueueRules {
                not_moving_after,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    pub fn apply(&mut self, p: QueuePolled) {
        self.failing_since
            .retain(|(c, _)| p.health.iter().any(|h| !h.ok && &h.component == c));
        for h in p.health.iter().filter(|h| !h.ok) {
            if !self.failing_since.iter().any(|(c, _)| c == &h.component) {
                self.failing_since.push((h.component.clone(), p.at));
            }
        }
        self.health = p.health;
        match p.redis {
            Ok(s) => {
                let f = self
                    .last
                    .as_ref()
                    .and_then(|(at, prev)| flow(prev, *at, &s, p.at).map(|f| (*at, f)));
                match f {
                    Some((prev_at, f)) => {
                        if self.history.len() == HISTORY {
                            self.history.pop_front();
                        }
                        self.history.push_back(f);
                        if s.counts.waiting == 0 || f.dequeued > 0 {
                            self.stuck_since = None;
                        } else if self.stuck_since.is_none() {
                            self.stuck_since = Some(prev_at);
                        }
                    }
                    // the first sample (or the counter went back): start watching from now
                    None => {
                        self.stuck_since = (s.counts.waiting > 0).then_some(p.at);
                    }
                }
                self.last = Some((p.at, s));
                self.up = Some(true);
                self.down_since = None;
                self.error = None;
            }
            Err(e) => {
                if self.up != Some(false) {
                    self.down_since = Some(p.at);
                }
                self.up = Some(false);
                self.error = Some(e);
            }
        }
    }

    /// The sample to show, if Redis answers (a stale one is shown with its age by the view).
    pub fn sample(&self) -> Option<&QueueSample> {
        self.last.as_ref().map(|(_, s)| s)
    }

    /// Waiting jobs have seen nothing taken for this long (at `now`).
    pub fn stuck_for(&self, now: Ts) -> Option<Duration> {
        self.stuck_since
            .map(|t| (now - t).to_std().unwrap_or_default())
    }

    /// The verdict now (None until the first poll).
    pub fn verdict(&self, now: Ts) -> Option<Verdict> {
        self.up?;
        let redis = match (&self.error, self.sample()) {
            (Some(e), _) => Err(e),
            (None, Some(s)) => Ok(s),
            (None, None) => return None,
        };
        Some(judge(
            &Seen {
                prefix: &self.prefix,
                redis,
                health: &self.health,
                stuck_for: self.stuck_for(now),
                stuck_how: None,
            },
            &self.rules,
        ))
    }

    /// Jobs added and taken per minute over the last `n` polls (None: no flow yet).
    pub fn rates(&self, n: usize) -> Option<(f64, f64)> {
        let from = self.history.len().saturating_sub(n);
        let (e, d, s) = self
            .history
            .iter()
            .skip(from)
            .fold((0u64, 0u64, 0f64), |(e, d, s), f| {
                (e + f.enqueued, d + f.dequeued, s + f.secs)
            });
        (s > 0.0).then(|| (e as f64 * 60.0 / s, d as f64 * 60.0 / s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::n8n_queue::{BullCounts, Level, WorkerConn};
    use chrono::TimeZone;

    fn at(s: i64) -> Ts {
        chrono::Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }
    fn polled(t: i64, waiting: u64, id: u64) -> QueuePolled {
        QueuePolled {
            at: at(t),
            redis: Ok(QueueSample {
                counts: BullCounts {
                    waiting,
                    ..Default::default()
                },
                last_id: Some(id),
                workers: vec![WorkerConn {
                    addr: "w".into(),
                    age_secs: 1,
                    idle_secs: 0,
                }],
                ..Default::default()
            }),
            health: vec![],
        }
    }

    #[test]
    fn not_moving_is_seen_over_polls_and_clears_when_a_job_is_taken() {
        let mut s = N8nQueueState::new("bull", "r:6379", Duration::from_secs(30));
        s.apply(polled(0, 5, 10));
        assert_eq!(s.stuck_since, Some(at(0)));
        s.apply(polled(20, 5, 10));
        assert_eq!(s.verdict(at(20)).unwrap().level, Level::Ok);
        s.apply(polled(40, 6, 11));
        let v = s.verdict(at(40)).unwrap();
        assert_eq!(v.level, Level::Critical, "{v:?}");
        assert!(v.reasons[0].contains("not moving: 6 waiting"), "{v:?}");
        // one taken: it moves again
        s.apply(polled(42, 5, 11));
        assert_eq!(s.stuck_since, None);
        assert_eq!(s.verdict(at(42)).unwrap().level, Level::Ok);
        let (e, d) = s.rates(10).unwrap();
        assert!(e > 0.0 && d > 0.0, "{e} {d}");
    }

    #[test]
    fn down_keeps_the_last_sample_and_says_so() {
        let mut s = N8nQueueState::new("bull", "r:6379", Duration::from_secs(30));
        s.apply(polled(0, 0, 1));
        s.apply(QueuePolled {
            at: at(2),
            redis: Err(N8nDown {
                short: "cannot connect".into(),
                full: "Redis at r:6379: cannot connect".into(),
            }),
            health: vec![],
        });
        assert_eq!(s.up, Some(false));
        assert_eq!(s.down_since, Some(at(2)));
        assert!(s.sample().is_some());
        let v = s.verdict(at(3)).unwrap();
        assert_eq!(v.level, Level::Critical);
        assert!(v.reasons[0].contains("cannot connect"), "{v:?}");
    }
}
