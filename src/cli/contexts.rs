//! `opsdeck contexts [--json]`: every automation stack the config names, one line each —
//! reachable or why not, queue depth, critical error patterns, pending approvals, open alerts —
//! read side by side, each within a few seconds: a dead context never holds up the others.

use std::process::ExitCode;

use super::{Fail, Globals, finish, load_config_file};
use crate::api::contexts::Probes;
use crate::domain::context::ContextLine;

pub async fn run(g: &Globals, json: bool) -> ExitCode {
    let mut down = false;
    let r = async {
        let file = load_config_file(g)?;
        let probes = Probes::of(&file).map_err(|e| Fail::new(2, e))?;
        if probes.is_empty() {
            return Err(Fail::new(
                2,
                "the config names no contexts: add [contexts.NAME] sections (see the README)",
            ));
        }
        let lines: Vec<ContextLine> =
            futures::future::join_all(probes.iter().map(|p| p.read())).await;
        down = lines.iter().any(|l| !l.reachable);
        if json {
            println!("{}", serde_json::json!({ "contexts": lines }));
        } else {
            print_lines(&lines);
        }
        Ok(())
    }
    .await;
    match r {
        Ok(()) if down => ExitCode::from(1),
        other => finish(other),
    }
}

fn print_lines(lines: &[ContextLine]) {
    println!(
        "  {:<18} {:<5} {:<28} {:>6} {:>9} {:>10} {:>7}",
        "context", "", "database", "depth", "critical", "approvals", "alerts"
    );
    for l in lines {
        let n = |v: Option<i64>| v.map_or("—".to_string(), |x| x.to_string());
        let mark = if l.default { "*" } else { " " };
        let prod = if l.production { "PROD" } else { "" };
        if l.reachable {
            println!(
                "{mark} {:<18} {:<5} {:<28} {:>6} {:>9} {:>10} {:>7}",
                l.name,
                prod,
                l.database,
                n(l.depth),
                n(l.critical_errors.map(|x| x as i64)),
                n(l.pending_approvals),
                n(l.open_alerts.map(|x| x as i64)),
            );
        } else {
            println!(
                "{mark} {:<18} {:<5} {:<28} unreachable: {}",
                l.name,
                prod,
                l.database,
                l.error.as_deref().unwrap_or("?")
            );
        }
    }
}
