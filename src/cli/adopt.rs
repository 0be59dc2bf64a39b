//! The words of adoption on the command line: `opsdeck migrate --plan` as a DBA reads it, and
//! what `migrate`, `status` and the console say on a database opsdeck has not adopted.

use std::fmt::Write as _;

use crate::api::store::AdoptReport;
use crate::api::store::adopt::script::Options;
use crate::domain::adopt::{Adoption, CONTRACT_TABLES, Catalog, Group, Kind, Plan, SEED_TABLES};

/// The plan as text: what kind of database it is, then each group with its steps.
pub fn render_plan(addr: &str, p: &Plan, pending: &[String]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "opsdeck migrate --plan: {addr}");
    match p.kind {
        Kind::Fresh => {
            let _ = writeln!(
                o,
                "A database without the platform's tables: `opsdeck migrate` creates opsdeck's \
                 contract ({} migrations):",
                pending.len()
            );
            for m in pending {
                let _ = writeln!(o, "  {m}");
            }
        }
        Kind::Opsdeck if pending.is_empty() => {
            let _ = writeln!(
                o,
                "opsdeck's schema, up to date: `opsdeck migrate` does nothing."
            );
        }
        Kind::Opsdeck => {
            let _ = writeln!(
                o,
                "opsdeck's schema: `opsdeck migrate` applies {} migration(s):",
                pending.len()
            );
            for m in pending {
                let _ = writeln!(o, "  {m}");
            }
        }
        Kind::Existing | Kind::Adopted => {
            let head = match p.kind {
                Kind::Adopted => {
                    "An adopted automation database (the platform's tables, read \
                     through opsdeck's views in the schema opsdeck). `opsdeck migrate` brings the \
                     adoption up to date with the tables as they are now; unchanged, it does nothing:"
                }
                _ => {
                    "An existing automation database (the platform's tables, written by others; no \
                     opsdeck schema). How `opsdeck migrate` adopts it: it keeps every table, column, \
                     index and row of yours, and runs exactly the SQL under add:"
                }
            };
            let _ = writeln!(o, "{head}");
            for g in [Group::Adopt, Group::Add, Group::Skip, Group::Warn] {
                let steps: Vec<_> = p.group(g).collect();
                if steps.is_empty() {
                    continue;
                }
                let _ = writeln!(o, "\n{}:", g.label());
                let w = steps
                    .iter()
                    .map(|s| s.subject.len())
                    .max()
                    .unwrap_or(0)
                    .min(40);
                for s in steps {
                    let _ = writeln!(o, "  {:<w$}  {}", s.subject, s.what);
                    if let Some(c) = &s.cost {
                        let _ = writeln!(o, "  {:<w$}  cost: {c}", "");
                    }
                    if let Some(sql) = &s.sql {
                        for line in sql.lines() {
                            let _ = writeln!(o, "      | {line}");
                        }
                    }
                }
            }
            let _ = writeln!(
                o,
                "\nEach add statement runs in a transaction of its own, except the CONCURRENTLY index \
                 builds; an adoption that stops half-way resumes where it stopped. \
                 `opsdeck migrate --plan --sql` prints the same as one script for psql; \
                 `--no-triggers` adopts without the rollup and NOTIFY triggers (the console polls)."
            );
        }
    }
    let _ = writeln!(o, "Nothing was changed.");
    o
}

/// The platform's tables found, for the messages.
fn found(c: &Catalog) -> String {
    let t: Vec<&str> = CONTRACT_TABLES
        .iter()
        .chain(SEED_TABLES)
        .copied()
        .filter(|t| c.has(t))
        .collect();
    t.join(", ")
}

/// What `migrate` says when it adopted (or found adopted) a database.
pub fn adopted(addr: &str, r: &AdoptReport, o: &Options) -> String {
    let how = if o.triggers {
        "with rollup and NOTIFY triggers"
    } else {
        "without triggers: the console polls"
    };
    match (r.ran, r.resumed_at) {
        (0, _) => format!("{addr}: adopted already, as it is now: nothing to do"),
        (n, Some(at)) if at > 0 => format!(
            "{addr}: adoption resumed at statement {} and finished ({n} of {} run now, {how}). Your tables and rows are as they were.",
            at + 1,
            r.total
        ),
        (n, _) => format!(
            "{addr}: adopted ({n} statements, {how}). Your tables and rows are as they were; opsdeck reads them through its views in the schema opsdeck."
        ),
    }
}

/// An adoption that stopped half-way.
pub fn half_adopted(addr: &str, a: &Adoption) -> String {
    format!(
        "{addr}: the adoption stopped half-way ({} of {} statements applied): run `opsdeck migrate` to finish it",
        a.done, a.total
    )
}

/// What `status` and the console say on a database that is not opsdeck's (yet).
pub fn not_adopted(addr: &str, c: &Catalog) -> String {
    format!(
        "{addr}: not an opsdeck database yet: it has the platform's tables ({}) without \
         opsdeck's schema. `opsdeck migrate --plan` shows how opsdeck would adopt it.",
        found(c)
    )
}
