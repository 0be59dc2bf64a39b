//! `opsdeck alerts`: the control room's alerts from a shell — the list (`--json` for scripts),
//! `alerts ack ID [--comment]` and `alerts silence ID --for 2h --comment TEXT`, through the
//! same action code as the console's `A` / `X` in the Alerts list.

use std::process::ExitCode;

use chrono::Utc;

use super::actions::{ActOpts, Request};
use super::{Fail, Globals, finish, load_config, need_store};
use crate::domain::alert::{Alert, Standing};

#[derive(clap::Subcommand, Debug)]
pub enum AlertsCmd {
    /// Acknowledge an open alert, with a comment every console shows.
    Ack {
        /// The alert's id (or its first characters, as the list shows them).
        #[arg(value_name = "ALERT")]
        alert: String,
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        opts: ActOpts,
    },
    /// Silence an open alert for a while (off the bar, no bell; back when it ends).
    Silence {
        #[arg(value_name = "ALERT")]
        alert: String,
        /// How long: 30m, 2h, 1d (at most 7 days).
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        /// Why (required).
        #[arg(long)]
        comment: String,
        #[command(flatten)]
        opts: ActOpts,
    },
}

#[derive(clap::Args, Debug)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub cmd: Option<AlertsCmd>,
    /// Print JSON: {"alerts": [{id, rule, key, level, message, raised_at, standing, …}]}.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(g: &Globals, a: AlertsArgs) -> ExitCode {
    match a.cmd {
        None => finish(list(g, a.json).await),
        Some(AlertsCmd::Ack {
            alert,
            comment,
            opts,
        }) => {
            super::actions::run(
                g,
                Request::Alert {
                    alert,
                    minutes: None,
                    comment,
                },
                opts,
            )
            .await
        }
        Some(AlertsCmd::Silence {
            alert,
            duration,
            comment,
            opts,
        }) => {
            let Some(m) = crate::domain::action::parse_minutes(&duration) else {
                eprintln!("opsdeck: --for {duration}: say how long as 30m, 2h or 1d");
                return ExitCode::from(2);
            };
            super::actions::run(
                g,
                Request::Alert {
                    alert,
                    minutes: Some(m),
                    comment: Some(comment),
                },
                opts,
            )
            .await
        }
    }
}

fn standing_word(s: Standing) -> &'static str {
    match s {
        Standing::Firing => "firing",
        Standing::Acked => "acked",
        Standing::Silenced => "silenced",
        Standing::Cleared => "cleared",
    }
}

async fn list(g: &Globals, json: bool) -> Result<(), Fail> {
    let file = load_config(g)?;
    let (t, store) = need_store(g, &file, "alerts need", 1).await?;
    let now = Utc::now();
    let alerts = store
        .alerts(now - chrono::Duration::hours(24))
        .await
        .map_err(|e| {
            Fail::new(
                2,
                format!(
                    "{}: cannot read the alerts ({}); run `opsdeck migrate` if this database predates them",
                    t.display_addr(),
                    crate::api::db::describe_sqlx(&e)
                ),
            )
        })?;
    store.db.close().await;
    if json {
        let v: Vec<serde_json::Value> = alerts
            .iter()
            .map(|a| {
                let mut v = serde_json::to_value(a).unwrap_or_default();
                v["standing"] = standing_word(a.standing(now)).into();
                v
            })
            .collect();
        println!("{}", serde_json::json!({ "alerts": v }));
        return Ok(());
    }
    if alerts.is_empty() {
        println!("no alert in the last 24 hours");
        return Ok(());
    }
    let mut rows: Vec<&Alert> = alerts.iter().collect();
    rows.sort_by_key(|a| (a.standing(now), std::cmp::Reverse(a.raised_at)));
    for a in rows {
        let st = a.standing(now);
        let note = match st {
            Standing::Firing => String::new(),
            _ => format!("  [{}]", a.note(now)),
        };
        println!(
            "{}  {:<8} {:<9} {} UTC  {}{}",
            &a.id.to_string()[..8],
            standing_word(st),
            a.level.word(),
            a.raised_at.format("%H:%M"),
            crate::domain::sanitize::clean(&a.message),
            note
        );
    }
    Ok(())
}
