//! `opsdeck timeline [--since 2h] [--format md|csv|json] [-o PATH]`: the post-incident record —
//! operator actions, broadcasts and their milestones, alerts raised, acked, silenced and
//! cleared (connection losses among them), workflow pauses and error bursts, in time order.

use std::process::ExitCode;

use super::{Fail, Globals, finish, load_config, need_store};
use crate::domain::timeline::{parse_since, rows, to_markdown};

#[derive(clap::Args, Debug)]
pub struct TimelineArgs {
    /// How far back: 30m, 2h, 1d (default 2h).
    #[arg(long, default_value = "2h")]
    pub since: String,
    /// md (Markdown, for the incident report), csv or json.
    #[arg(long, default_value = "md")]
    pub format: String,
    /// A new file to write (never overwritten); stdout without it.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
}

pub async fn run(g: &Globals, a: TimelineArgs) -> ExitCode {
    finish(timeline(g, a).await)
}

async fn timeline(g: &Globals, a: TimelineArgs) -> Result<(), Fail> {
    let back = parse_since(&a.since).ok_or_else(|| {
        Fail::new(
            2,
            format!("--since {}: say how far back as 30m, 2h or 1d", a.since),
        )
    })?;
    let format = a.format.to_ascii_lowercase();
    if !matches!(format.as_str(), "md" | "csv" | "json") {
        return Err(Fail::new(
            2,
            format!("--format {}: md, csv or json", a.format),
        ));
    }
    let file = load_config(g)?;
    let (t, store) = need_store(g, &file, "the timeline needs", 1).await?;
    // the database must answer at all (a dead one is an error, not an empty record)
    store.ping().await.map_err(|e| {
        Fail::new(
            2,
            format!(
                "{}: {}",
                t.display_addr(),
                crate::api::db::describe_sqlx(&e)
            ),
        )
    })?;
    let to = chrono::Utc::now();
    let from = to - back;
    let (entries, missing) = store.timeline(from, to).await;
    store.db.close().await;
    for m in &missing {
        eprintln!("opsdeck: not in this record: {m}");
    }
    let content = match format.as_str() {
        "md" => to_markdown(&entries, from, to, &t.short_name(), &missing),
        "csv" => crate::domain::export::to_csv(&rows(&entries)),
        _ => serde_json::to_string_pretty(&serde_json::json!({
            "from": from.to_rfc3339(),
            "to": to.to_rfc3339(),
            "missing": missing,
            "entries": rows(&entries),
        }))
        .unwrap_or_default(),
    };
    super::export::emit(
        a.output.as_deref(),
        &content,
        &format!("{} entries", entries.len()),
    )
}
