//! Small helpers shared by the seeder and the engine: multi-row INSERTs, `IN (…)` lists,
//! deterministic ids and random picks.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::rngs::SmallRng;
use uuid::Uuid;

use crate::api::db::{Tx, Val};

/// Bind parameters per statement. Far below SQLite's 32,766 and Postgres' 65,535 limits on
/// purpose: binding `$n` placeholders costs time quadratic in their number on SQLite (the seed
/// took 1.9 s with 30,000 per statement, 60 ms with 500).
const MAX_PARAMS: usize = 500;

/// Rows for one table, inserted with as few multi-row `INSERT … VALUES (…), (…)` as fit.
pub struct Rows {
    table: &'static str,
    cols: &'static [&'static str],
    vals: Vec<Val>,
}

impl Rows {
    pub fn new(table: &'static str, cols: &'static [&'static str]) -> Self {
        Rows {
            table,
            cols,
            vals: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Val>) {
        debug_assert_eq!(row.len(), self.cols.len(), "{}: row width", self.table);
        self.vals.extend(row);
    }

    pub fn len(&self) -> usize {
        self.vals.len() / self.cols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vals.is_empty()
    }

    /// Inserts every row (in chunks) inside the caller's transaction and empties the buffer.
    pub async fn insert(&mut self, tx: &mut Tx) -> Result<u64, sqlx::Error> {
        let width = self.cols.len();
        let per_stmt = (MAX_PARAMS / width).max(1);
        let mut n = 0;
        let vals = std::mem::take(&mut self.vals);
        for chunk in vals.chunks(per_stmt * width) {
            let rows = chunk.len() / width;
            let sql = insert_sql(self.table, self.cols, rows);
            n += tx.execute(&sql, chunk).await?;
        }
        Ok(n)
    }
}

/// `INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) …`
pub fn insert_sql(table: &str, cols: &[&str], rows: usize) -> String {
    let w = cols.len();
    let mut sql = String::with_capacity(40 + rows * w * 5);
    sql.push_str("INSERT INTO ");
    sql.push_str(table);
    sql.push_str(" (");
    sql.push_str(&cols.join(", "));
    sql.push_str(") VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..w {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * w + c + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// `$first, $first+1, … ` for `IN (…)` lists of `n` binds.
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A version-4 uuid drawn from the seeded generator (same seed, same ids).
pub fn uuid(rng: &mut SmallRng) -> Uuid {
    let bytes: [u8; 16] = rng.random();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// An index drawn with the given weights (all zero → 0).
pub fn weighted<T>(rng: &mut SmallRng, items: &[T], w: impl Fn(&T) -> u32) -> usize {
    let total: u64 = items.iter().map(|i| w(i) as u64).sum();
    if total == 0 {
        return 0;
    }
    let mut x = rng.random_range(0..total);
    for (i, it) in items.iter().enumerate() {
        let wi = w(it) as u64;
        if x < wi {
            return i;
        }
        x -= wi;
    }
    items.len() - 1
}

pub fn pick<'a, T>(rng: &mut SmallRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A duration in ms drawn from `lo..=hi`.
pub fn ms_between(rng: &mut SmallRng, (lo, hi): (u32, u32)) -> u64 {
    if hi <= lo {
        lo as u64
    } else {
        rng.random_range(lo as u64..=hi as u64)
    }
}

/// Simulated time compressed by `speed` into real time.
pub fn scaled(sim: std::time::Duration, speed: f64) -> std::time::Duration {
    let s = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    sim.div_f64(s)
}

pub fn chrono_ms(ms: u64) -> Duration {
    Duration::milliseconds(ms as i64)
}

pub fn add_std(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    t + Duration::from_std(d).unwrap_or(Duration::zero())
}

/// A Poisson-distributed count with mean `lambda` (Knuth; fine for small means, normal
/// approximation above 30).
pub fn poisson(rng: &mut SmallRng, lambda: f64) -> u64 {
    if lambda <= 0.0 || !lambda.is_finite() {
        return 0;
    }
    if lambda > 30.0 {
        // Box–Muller normal approximation
        let u1: f64 = rng.random::<f64>().max(1e-12);
        let u2: f64 = rng.random();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        return (lambda + z * lambda.sqrt()).round().max(0.0) as u64;
    }
    let l = (-lambda).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.random::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn insert_sql_numbers_placeholders_row_major() {
        assert_eq!(
            insert_sql("t", &["a", "b"], 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
    }

    #[test]
    fn seeded_ids_repeat() {
        let mut a = SmallRng::seed_from_u64(7);
        let mut b = SmallRng::seed_from_u64(7);
        assert_eq!(uuid(&mut a), uuid(&mut b));
        assert_eq!(uuid(&mut a).get_version_num(), 4);
    }

    #[test]
    fn poisson_mean_is_about_right() {
        let mut r = SmallRng::seed_from_u64(1);
        let n = 20_000;
        let sum: u64 = (0..n).map(|_| poisson(&mut r, 2.5)).sum();
        let mean = sum as f64 / n as f64;
        assert!((mean - 2.5).abs() < 0.1, "{mean}");
    }
}
