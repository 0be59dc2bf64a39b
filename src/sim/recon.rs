//! Seed 000 phase 6 (payment reconciliation: Stripe against the ledger, three kinds of
//! discrepancy) and phase 8 (the hourly error analysis over workflow_errors).

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::batch::{Rows, uuid};
use crate::api::db::{Db, Tx, Val};

pub(crate) const KINDS: [&str; 3] = ["missing_in_db", "amount_mismatch", "missing_in_stripe"];

/// One discrepancy: kind, stripe id, db id, stripe amount, db amount (cents).
pub(crate) type Disc = (
    &'static str,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

#[derive(Debug, Clone)]
pub(crate) struct Recon {
    pub id: Uuid,
    pub date: chrono::NaiveDate,
    pub stripe_count: i64,
    pub db_count: i64,
    pub status: &'static str,
    pub discrepancies: Vec<Disc>,
}

fn alnum(rng: &mut SmallRng, n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| A[rng.random_range(0..A.len())] as char)
        .collect()
}

pub(crate) fn stripe_id(rng: &mut SmallRng) -> String {
    let p = if rng.random_bool(0.6) { "pi_" } else { "ch_" };
    format!("{p}{}", alnum(rng, 24))
}

pub(crate) fn discrepancy(rng: &mut SmallRng, kind: &'static str) -> Disc {
    let amount = rng.random_range(50..2_500) * 100;
    let sid = stripe_id(rng);
    let did = format!("pay_{}", alnum(rng, 12).to_lowercase());
    match kind {
        "missing_in_db" => (kind, Some(sid), None, Some(amount), None),
        "missing_in_stripe" => (kind, None, Some(did), None, Some(amount)),
        _ => {
            let off = rng.random_range(1..50) * 100 * if rng.random_bool(0.5) { 1 } else { -1 };
            (
                kind,
                Some(sid),
                Some(did),
                Some(amount),
                Some((amount + off).max(100)),
            )
        }
    }
}

/// A reconciliation: usually a few discrepancies, sometimes of every kind, sometimes none.
pub(crate) fn generate(rng: &mut SmallRng, now: DateTime<Utc>) -> Recon {
    let charges = rng.random_range(80..400);
    let mut ds = Vec::new();
    let all_three = rng.random_bool(0.35);
    for k in KINDS {
        let n = if all_three {
            rng.random_range(1..=2)
        } else if rng.random_bool(0.3) {
            1
        } else {
            0
        };
        for _ in 0..n {
            ds.push(discrepancy(rng, k));
        }
    }
    Recon::new(rng, now, charges, ds)
}

impl Recon {
    pub(crate) fn new(rng: &mut SmallRng, now: DateTime<Utc>, stripe: i64, ds: Vec<Disc>) -> Self {
        let missing_db = ds.iter().filter(|d| d.0 == "missing_in_db").count() as i64;
        let missing_stripe = ds.iter().filter(|d| d.0 == "missing_in_stripe").count() as i64;
        Recon {
            id: uuid(rng),
            date: now.date_naive(),
            stripe_count: stripe,
            db_count: stripe - missing_db + missing_stripe,
            status: "success",
            discrepancies: ds,
        }
    }

    /// Stripe did not answer: the run is logged failed, nothing compared.
    pub(crate) fn failed(rng: &mut SmallRng, now: DateTime<Utc>) -> Self {
        Recon {
            id: uuid(rng),
            date: now.date_naive(),
            stripe_count: 0,
            db_count: 0,
            status: "failed",
            discrepancies: Vec::new(),
        }
    }

    pub(crate) fn summary(&self) -> Json {
        let count = |k: &str| self.discrepancies.iter().filter(|d| d.0 == k).count();
        json!({
            "reconciliation_run_id": self.id.to_string(),
            "stripe_count": self.stripe_count,
            "db_count": self.db_count,
            "discrepancies": self.discrepancies.len(),
            "missing_in_db": count("missing_in_db"),
            "amount_mismatch": count("amount_mismatch"),
            "missing_in_stripe": count("missing_in_stripe"),
        })
    }

    pub(crate) async fn insert(&self, tx: &mut Tx, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        tx.execute(
            "INSERT INTO reconciliation_runs (id, reconciliation_date, stripe_count, db_count, \
               discrepancy_count, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                Val::Uuid(self.id),
                Val::Date(self.date),
                Val::I64(self.stripe_count),
                Val::I64(self.db_count),
                Val::I64(self.discrepancies.len() as i64),
                Val::Text(self.status.into()),
                Val::Ts(now),
            ],
        )
        .await?;
        let mut rows = Rows::new(
            "reconciliation_discrepancies",
            &[
                "id",
                "run_id",
                "kind",
                "stripe_id",
                "db_id",
                "stripe_amount",
                "db_amount",
                "status",
                "created_at",
            ],
        );
        let mut rng: SmallRng = rand::SeedableRng::seed_from_u64(self.id.as_u128() as u64 ^ 0xD15C);
        for (kind, sid, did, sa, da) in &self.discrepancies {
            rows.push(vec![
                Val::Uuid(uuid(&mut rng)),
                Val::Uuid(self.id),
                Val::Text((*kind).into()),
                Val::OptText(sid.clone()),
                Val::OptText(did.clone()),
                Val::OptI64(*sa),
                Val::OptI64(*da),
                Val::Text("open".into()),
                Val::Ts(now),
            ]);
        }
        rows.insert(tx).await?;
        Ok(())
    }
}

/// Seed 000's error analysis: errors since `since` grouped by (workflow, type); critical when a
/// pattern has more than 10, or is a timeout or an authentication failure.
pub(crate) async fn error_analysis(db: &Db, since: DateTime<Utc>) -> Result<Json, sqlx::Error> {
    let rows = db
        .fetch_all(
            "SELECT COALESCE(w.name, '(no workflow)') AS wf, x.error_type, count(*) AS n \
             FROM workflow_errors x LEFT JOIN workflows w ON w.id = x.workflow_id \
             WHERE x.created_at >= $1 GROUP BY w.name, x.error_type ORDER BY n DESC LIMIT 20",
            &[Val::Ts(since)],
        )
        .await?;
    let mut total = 0;
    let mut patterns = Vec::new();
    let mut critical = Vec::new();
    let mut retriable = Vec::new();
    for r in &rows {
        let (wf, et, n) = (r.s("wf"), r.s("error_type"), r.n("n"));
        total += n;
        let p = json!({ "workflow": wf, "error_type": et, "count": n });
        if n > 10 || et == "timeout" || et == "authentication_failed" {
            critical.push(p.clone());
        }
        if et == "network" || et == "rate_limit" {
            retriable.push(p.clone());
        }
        patterns.push(p);
    }
    Ok(json!({
        "window_start": since.to_rfc3339(),
        "total_errors": total,
        "unique_patterns": patterns.len(),
        "critical_patterns": critical,
        "retriable": retriable,
        "patterns": patterns,
    }))
}
