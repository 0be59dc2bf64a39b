//! Timing the console's reads and the seeds' monitoring SQL on the filled database.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Result;
use chrono::{Duration, Utc};

use crate::api::Store;
use crate::api::db::Val;
use crate::api::refresh;
use crate::domain::mode::Mode;
use crate::domain::refresh::{LoadKind, LoadReq, ViewId};
use crate::state::App;

/// Seed 000 Phase 8's dashboard query, on this schema (execution_time_ms is duration_ms,
/// workflow_name is the workflow id).
pub const SEED_DASHBOARD: &str = "SELECT workflow_id, status, COUNT(*) AS count, \
     AVG(duration_ms) AS avg_time, MAX(duration_ms) AS max_time, MIN(duration_ms) AS min_time, \
     PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_time \
     FROM workflow_executions WHERE started_at >= $1 GROUP BY workflow_id, status";

/// Seed 000 Phase 3's per-sale capacity check.
pub const SEED_CAPACITY: &str =
    "SELECT COUNT(*) AS n FROM tickets WHERE event_id = $1 AND status = 'sold'";

pub struct Timing {
    pub name: String,
    /// milliseconds, sorted
    pub ms: Vec<f64>,
}

impl Timing {
    /// Nearest-rank percentile.
    pub fn p(&self, q: f64) -> f64 {
        pct(&self.ms, q)
    }
}

/// Nearest-rank percentile of sorted values (0 for none).
pub fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub struct Report {
    pub rows: Vec<Timing>,
}

impl Report {
    fn get(&self, name: &str) -> f64 {
        self.rows
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.p(0.95))
            .unwrap_or(0.0)
    }
    pub fn refresh_p95_ms(&self) -> f64 {
        self.get("overview refresh")
    }
    pub fn seeds_p95_ms(&self) -> f64 {
        self.get("seeds' SQL (dashboard + capacity)")
    }
}

/// The table's header line.
pub fn header() -> String {
    format!(
        "{:<40} {:>10} {:>10} {:>6}\n",
        "read", "p50 ms", "p95 ms", "n"
    )
}

impl Timing {
    /// One table line (with its newline).
    pub fn line(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<40} {:>10.2} {:>10.2} {:>6}",
            self.name,
            self.p(0.5),
            self.p(0.95),
            self.ms.len()
        );
        s
    }
}

/// Times `f` `n` times after two untimed warm-up calls.
async fn time<F, Fut>(name: &str, n: usize, mut f: F) -> Result<Timing>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    f().await?;
    f().await?;
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f().await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    Ok(Timing {
        name: name.to_string(),
        ms,
    })
}

/// Times every read; `done` is called with each timing as soon as it is measured (the bench
/// prints it at once, so a run cut short still shows what it measured).
pub async fn measure(
    store: &Store,
    n: usize,
    views: bool,
    mut done: impl FnMut(&Timing),
) -> Result<Report> {
    let mut rows = Vec::new();
    let mut push = |rows: &mut Vec<Timing>, t: Timing| {
        done(&t);
        rows.push(t);
    };
    push(
        &mut rows,
        time("overview refresh", n, || async {
            store.overview(Utc::now()).await?;
            Ok(())
        })
        .await?,
    );
    let busiest = store
        .db
        .fetch_one(
            "SELECT event_id FROM tickets GROUP BY event_id ORDER BY count(*) DESC LIMIT 1",
            &[],
        )
        .await
        .ok()
        .and_then(|r| r.uuid("event_id"))
        .unwrap_or_default();
    push(
        &mut rows,
        time("seeds' dashboard (Phase 8)", n, || async {
            store
                .db
                .fetch_all(SEED_DASHBOARD, &[Val::Ts(Utc::now() - Duration::hours(24))])
                .await?;
            Ok(())
        })
        .await?,
    );
    push(
        &mut rows,
        time("seeds' per-sale capacity (Phase 3)", n, || async {
            store
                .db
                .fetch_one(SEED_CAPACITY, &[Val::Uuid(busiest)])
                .await?;
            Ok(())
        })
        .await?,
    );
    push(
        &mut rows,
        time("seeds' SQL (dashboard + capacity)", n, || async {
            store
                .db
                .fetch_all(SEED_DASHBOARD, &[Val::Ts(Utc::now() - Duration::hours(24))])
                .await?;
            store
                .db
                .fetch_one(SEED_CAPACITY, &[Val::Uuid(busiest)])
                .await?;
            Ok(())
        })
        .await?,
    );
    let app = App::new(
        Mode::ReadOnly,
        crate::theme::Theme::builtin("default").ok_or_else(|| anyhow::anyhow!("theme"))?,
        crate::keymap::Keymap::default_map(),
        "bench".into(),
        "bench".into(),
        Utc::now(),
    );
    for v in ViewId::ALL.into_iter().filter(|_| views) {
        let filter = app.base_filter(v);
        push(
            &mut rows,
            time(&format!("{} first page", v.title()), n, || {
                let req = LoadReq {
                    view: v,
                    kind: LoadKind::Main,
                    filter: filter.clone(),
                    id: None,
                    now: Utc::now(),
                    seq: 0,
                };
                async move {
                    refresh::load(store, &req).await?;
                    Ok(())
                }
            })
            .await?,
        );
    }
    Ok(Report { rows })
}
