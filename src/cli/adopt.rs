//! The words of adoption on the command line: `opsdeck migrate --plan` as a DBA reads it, and
//! what `migrate`, `status` and the console say on a database opsdeck has not adopted.

use std::fmt::Write as _;

use crate::domain::adopt::{CONTRACT_TABLES, Catalog, Group, Kind, Plan, SEED_TABLES};

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
        Kind::Existing => {
            let _ = writeln!(
                o,
                "An existing automation database (the platform's tables, written by others; no \
                 opsdeck schema). How opsdeck would adopt it:"
            );
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
                }
            }
            let _ = writeln!(
                o,
                "\nThis version of opsdeck plans the adoption but does not apply it yet: \
                 `opsdeck migrate` leaves this database as it is, and the console and `status` \
                 cannot read it until it is adopted."
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

/// Why `migrate` leaves an existing database alone.
pub fn refusal(addr: &str, c: &Catalog) -> String {
    format!(
        "{addr}: this database already has the platform's tables ({}), written by others. \
         opsdeck does not create its own over them, and this version cannot adopt them yet: \
         nothing was changed. `opsdeck migrate --plan` shows how it would adopt them.",
        found(c)
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
