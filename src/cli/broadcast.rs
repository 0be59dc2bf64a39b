//! `opsdeck broadcast …`: send an emergency broadcast, preview it (`--dry-run`), approve or
//! cancel one waiting under the four-eyes rule, follow its progress, retry its failures, send a
//! follow-up. Exit codes: 0 done (also: the same idempotency key again), 1 conflict, 2 error.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use uuid::Uuid;

use super::{Fail, Globals, finish, load_config, need_store};
use crate::api::Store;
use crate::api::broadcast::{self as bc, BroadcastCtx};
use crate::config::{self, FileConfig};
use crate::domain::action::Actor;
use crate::domain::broadcast::{
    Decision, Draft, Level, Preview, SendReport, Target, channel_counts_label,
};
use crate::domain::idem::IdemKey;

#[derive(clap::Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BroadcastArgs {
    #[command(subcommand)]
    pub cmd: Option<BroadcastCmd>,
    #[command(flatten)]
    pub send: SendArgs,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct SendArgs {
    /// info, warning, urgent or critical (critical: SMS and a voice call to everyone).
    #[arg(long)]
    pub level: Option<String>,
    /// Everyone at this event (id or exact name).
    #[arg(long, conflicts_with = "venue")]
    pub event: Option<String>,
    /// Everyone at any event at this venue today.
    #[arg(long)]
    pub venue: Option<String>,
    /// The message text.
    #[arg(long, conflicts_with = "template")]
    pub message: Option<String>,
    /// A template from the config (evacuation, delay, all_clear, correction, …).
    #[arg(long)]
    pub template: Option<String>,
    /// Force channels, e.g. sms,voice (default: preferences; critical: sms + voice).
    #[arg(long)]
    pub channels: Option<String>,
    /// Same key again = the same broadcast, nothing sent twice (default: a new key).
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Send only to your test recipients from the config.
    #[arg(long)]
    pub test: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
    /// Print the preview only; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum BroadcastCmd {
    /// Approve a broadcast waiting for a second operator (four-eyes rule).
    Approve {
        id: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a broadcast: one waiting for approval (nothing goes out), or a queued one (its
    /// deliveries still pending are stopped; those already out are counted, not undone).
    Cancel {
        id: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Progress per channel and the failed deliveries.
    Status {
        id: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Queue the failed deliveries again.
    Retry {
        id: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// The levels the database holds for a second operator (four-eyes rule), whatever a
    /// console's configuration says; `--second-operator-for LEVELS` sets them (admin).
    Rules {
        /// Comma-separated levels (info, warning, urgent, critical); "" for none.
        #[arg(long)]
        second_operator_for: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The test recipients the database holds (a login short of opsdeck_broadcaster may send
    /// a test only to them); `--add`, `--remove`, `--clear` change them (admin).
    TestRecipients {
        /// NAME=CONTACT[,CONTACT]: a phone, an e-mail (has an @) or both. Repeatable.
        #[arg(long, value_name = "NAME=CONTACT")]
        add: Vec<String>,
        /// A phone or e-mail to take off the list. Repeatable.
        #[arg(long, value_name = "CONTACT")]
        remove: Vec<String>,
        /// Empty the list first.
        #[arg(long)]
        clear: bool,
        #[arg(long)]
        json: bool,
    },
    /// All-clear or correction to the same people.
    FollowUp {
        id: Uuid,
        #[arg(long, conflicts_with_all = ["correction", "message"])]
        all_clear: bool,
        #[arg(long, conflicts_with = "message")]
        correction: bool,
        #[arg(long)]
        message: Option<String>,
        #[arg(long)]
        idempotency_key: Option<String>,
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(g: &Globals, a: BroadcastArgs) -> ExitCode {
    super::init_stderr_logging();
    finish(body(g, a).await)
}

async fn body(g: &Globals, a: BroadcastArgs) -> Result<(), Fail> {
    let file = load_config(g)?;
    let (_, store) = need_store(g, &file, "broadcast needs", 2).await?;
    let ctx = BroadcastCtx::new(
        Actor {
            operator: config::resolve_operator(g.operator.as_deref(), &file),
            origin: config::origin(),
        },
        config::resolve_broadcast(&file).map_err(err2)?,
    );
    let read_only = g.read_only || file.read_only.unwrap_or(false);
    let mutating = !matches!(
        a.cmd,
        Some(BroadcastCmd::Status { .. })
            | Some(BroadcastCmd::Rules {
                second_operator_for: None,
                ..
            })
    ) && !matches!(&a.cmd, Some(BroadcastCmd::TestRecipients { add, remove, clear: false, .. })
        if add.is_empty() && remove.is_empty())
        && !a.send.dry_run;
    if read_only && mutating {
        return Err(Fail::new(2, "read-only: nothing was sent"));
    }
    let r = match a.cmd {
        None => send_cmd(&store, &ctx, &file, a.send).await,
        Some(BroadcastCmd::Approve { id, json }) => {
            let d = bc::approve(&store, &ctx, id).await.map_err(err2)?;
            decision(d, json)
        }
        Some(BroadcastCmd::Cancel { id, json }) => {
            let d = bc::cancel(&store, &ctx, id).await.map_err(err2)?;
            decision(d, json)
        }
        Some(BroadcastCmd::Status { id, json }) => status(&store, id, json).await,
        Some(BroadcastCmd::Rules {
            second_operator_for,
            json,
        }) => {
            let levels = match second_operator_for {
                Some(list) => {
                    let v: Vec<String> = list
                        .split(',')
                        .map(|l| l.trim().to_lowercase())
                        .filter(|l| !l.is_empty())
                        .collect();
                    bc::set_rules(&store, &ctx, &v).await.map_err(err2)?
                }
                None => bc::rules(&store).await.map_err(err2)?.ok_or_else(|| {
                    Fail::new(2, "this database has no broadcast rules (the config's second_operator_for decides)")
                })?,
            };
            if json {
                println!("{}", serde_json::json!({"second_operator_for": levels}));
            } else if levels.is_empty() {
                println!("no level waits for a second operator by the database's rule");
            } else {
                println!(
                    "live broadcasts at {} wait for a second operator (the database's rule)",
                    levels.join(", ")
                );
            }
            Ok(())
        }
        Some(BroadcastCmd::TestRecipients {
            add,
            remove,
            clear,
            json,
        }) => test_recipients(&store, &ctx, add, remove, clear, json).await,
        Some(BroadcastCmd::Retry { id, json }) => {
            let n = bc::retry_failed(&store, &ctx, id).await.map_err(err2)?;
            if json {
                println!("{}", serde_json::json!({"broadcast_id": id, "retried": n}));
            } else if n > 0 {
                println!("broadcast {id}: {n} failed deliveries queued again");
            }
            if n == 0 {
                Err(Fail::new(
                    1,
                    format!("broadcast {id}: no failed delivery to retry"),
                ))
            } else {
                Ok(())
            }
        }
        Some(BroadcastCmd::FollowUp {
            id,
            all_clear,
            correction,
            message,
            idempotency_key,
            yes,
            json,
        }) => {
            let cfg = &ctx.cfg;
            let tpl = |name: &str| {
                cfg.templates()
                    .into_iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v)
                    .unwrap_or_default()
            };
            let raw = match (all_clear, correction, message) {
                (_, _, Some(m)) => m,
                (true, _, _) => tpl("all_clear"),
                (_, true, _) => tpl("correction"),
                _ => {
                    return Err(Fail::new(
                        2,
                        "follow-up needs --all-clear, --correction or --message",
                    ));
                }
            };
            let key = idempotency_key
                .map(IdemKey::from)
                .unwrap_or_else(bc::new_key);
            let mut p = bc::follow_up(&store, id, &raw, &key).await.map_err(err2)?;
            p.message = crate::domain::broadcast::expand_template(
                &p.message,
                Some(p.scope.label()),
                &p.venue_name,
                p.level,
            )
            .map_err(err2)?;
            confirm(&p, yes)?;
            let r = bc::send(&store, &ctx, &p).await.map_err(err2)?;
            report(&r, json)
        }
    };
    store.db.close().await;
    r
}

fn err2(e: String) -> Fail {
    Fail::new(2, e)
}

async fn send_cmd(
    store: &Store,
    ctx: &BroadcastCtx,
    file: &FileConfig,
    a: SendArgs,
) -> Result<(), Fail> {
    let level = a
        .level
        .clone()
        .ok_or_else(|| Fail::new(2, "--level is required (info, warning, urgent, critical)"))?;
    let target = match (&a.event, &a.venue) {
        (Some(e), None) => Target::Event(e.clone()),
        (None, Some(v)) => Target::Venue(v.clone()),
        _ => return Err(Fail::new(2, "give --event EVENT or --venue VENUE")),
    };
    let raw = match (&a.message, &a.template) {
        (Some(m), _) => m.clone(),
        (None, Some(t)) => {
            let cfg = file.broadcast.clone().unwrap_or_default();
            cfg.templates()
                .into_iter()
                .find(|(k, _)| k == t)
                .map(|(_, v)| v)
                .ok_or_else(|| {
                    Fail::new(
                        2,
                        format!(
                            "unknown template '{t}' (have: {})",
                            cfg.templates()
                                .iter()
                                .map(|(k, _)| k.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?
        }
        (None, None) => return Err(Fail::new(2, "give --message TEXT or --template NAME")),
    };
    let draft = Draft {
        level,
        target,
        message: raw,
        channels: a.channels.clone(),
        idempotency_key: a
            .idempotency_key
            .clone()
            .map(IdemKey::from)
            .unwrap_or_else(bc::new_key),
        test: a.test,
    };
    let mut p = bc::prepare(store, &ctx.cfg, &draft, chrono::Utc::now())
        .await
        .map_err(err2)?;
    if a.template.is_some() {
        let event = match &p.scope {
            crate::domain::broadcast::Scope::Event { name, .. } => Some(name.clone()),
            _ => None,
        };
        p.message = crate::domain::broadcast::expand_template(
            &p.message,
            event.as_deref(),
            &p.venue_name,
            p.level,
        )
        .map_err(err2)?;
        p.segments = crate::domain::broadcast::segments(&p.message);
    }
    if a.dry_run {
        if a.json {
            println!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
        } else {
            print_preview(&p);
        }
        return Ok(());
    }
    confirm(&p, a.yes)?;
    let r = bc::send(store, ctx, &p).await.map_err(err2)?;
    report(&r, a.json)
}

fn print_preview(p: &Preview) {
    for l in p.lines() {
        println!("{l}");
    }
    println!("text: {}", p.message);
    for u in p.plan.unreachable.iter().take(20) {
        println!(
            "unreachable: {} (phone {}, e-mail {})",
            u.name,
            u.phone.as_deref().unwrap_or("-"),
            u.email.as_deref().unwrap_or("-")
        );
    }
    if p.plan.unreachable.len() > 20 {
        println!(
            "unreachable: … and {} more (--json lists all)",
            p.plan.unreachable.len() - 20
        );
    }
}

/// Without --yes: a terminal prompt (live urgent/critical: the event or venue name typed);
/// without a terminal: refuse.
fn confirm(p: &Preview, yes: bool) -> Result<(), Fail> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Fail::new(
            2,
            "not a terminal: pass --yes to send (or --dry-run to preview); nothing was sent",
        ));
    }
    print_preview(p);
    let typed = !p.test && p.level >= Level::Urgent;
    if typed {
        eprint!(
            "LIVE {} broadcast. Type the {} name ({}) to send: ",
            p.level.as_str().to_uppercase(),
            p.scope.kind(),
            p.scope.label()
        );
    } else {
        eprint!(
            "{} broadcast: send? [y/N] ",
            if p.test { "TEST" } else { "LIVE" }
        );
    }
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Fail::new(2, e.to_string()))?;
    let ok = if typed {
        line.trim() == p.scope.label()
    } else {
        matches!(line.trim(), "y" | "Y" | "yes")
    };
    if ok {
        Ok(())
    } else {
        Err(Fail::new(2, "not confirmed: nothing was sent"))
    }
}

fn report(r: &SendReport, json: bool) -> Result<(), Fail> {
    if json {
        println!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
    } else {
        println!("{}", r.broadcast_id);
        println!(
            "{}{}: {} deliveries ({}); unreachable {}; duplicates skipped {}",
            if r.test { "TEST " } else { "" },
            r.status,
            r.deliveries,
            channel_counts_label(&r.by_channel),
            r.unreachable,
            r.duplicates
        );
        println!("{}", r.message);
    }
    if let Some(w) = &r.webhook
        && !w.ok
    {
        eprintln!("opsdeck: webhook failed (audited): {}", w.message);
    } else if let Some(w) = &r.webhook
        && !json
    {
        println!("webhook: {}", w.message);
    }
    match r.outcome.exit_code() {
        0 => Ok(()),
        c => Err(Fail::new(c, r.message.clone())),
    }
}

fn decision(d: Decision, json: bool) -> Result<(), Fail> {
    if json {
        println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
    } else if d.is_ok() {
        println!("{}", d.message);
    }
    if let Some(w) = &d.webhook
        && !w.ok
    {
        eprintln!("opsdeck: webhook failed (audited): {}", w.message);
    }
    match d.exit_code() {
        0 => Ok(()),
        c => Err(Fail::new(c, d.message)),
    }
}

async fn status(store: &Store, id: Uuid, json: bool) -> Result<(), Fail> {
    let p = bc::progress(store, id).await.map_err(err2)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
        return Ok(());
    }
    println!(
        "{}{} {} to {} '{}': {} ({}% done)",
        if p.test { "TEST " } else { "" },
        p.level.to_uppercase(),
        p.broadcast_id,
        p.scope,
        p.target,
        p.status,
        p.percent_done()
    );
    for (ch, c) in &p.by_channel {
        println!(
            "  {ch:<9} queued {:>6}  sent {:>6}  delivered {:>6}  failed {:>6}",
            c.queued, c.sent, c.delivered, c.failed
        );
    }
    for f in &p.failed {
        println!(
            "  failed {} {} {}: {}",
            f.channel, f.person, f.address, f.error
        );
    }
    if let Some(e) = &p.webhook_error {
        println!("  webhook: {e}");
    }
    Ok(())
}

/// `NAME=CONTACT[,CONTACT]`: the name, the phone and the e-mail (the one with an @).
fn parse_recipient(a: &str) -> Result<(String, Option<String>, Option<String>), Fail> {
    let bad = || {
        Fail::new(
            2,
            format!("--add {a:?}: expected NAME=CONTACT[,CONTACT], a phone and/or an e-mail"),
        )
    };
    let (name, contacts) = a.split_once('=').ok_or_else(bad)?;
    let (mut phone, mut email) = (None, None);
    for c in contacts.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let slot = if c.contains('@') {
            &mut email
        } else {
            &mut phone
        };
        if slot.replace(c.to_string()).is_some() {
            return Err(bad());
        }
    }
    if name.trim().is_empty() || (phone.is_none() && email.is_none()) {
        return Err(bad());
    }
    Ok((name.trim().to_string(), phone, email))
}

async fn test_recipients(
    store: &Store,
    ctx: &BroadcastCtx,
    add: Vec<String>,
    remove: Vec<String>,
    clear: bool,
    json: bool,
) -> Result<(), Fail> {
    let add = add
        .iter()
        .map(|a| parse_recipient(a))
        .collect::<Result<Vec<_>, _>>()?;
    let list = if add.is_empty() && remove.is_empty() && !clear {
        bc::test_recipients(store).await.map_err(err2)?.ok_or_else(|| {
            Fail::new(
                2,
                "this database holds no test recipients (the config's [[broadcast.test_recipients]] decide)",
            )
        })?
    } else {
        bc::set_test_recipients(store, ctx, &add, &remove, clear)
            .await
            .map_err(err2)?
    };
    if json {
        println!("{}", serde_json::json!({ "test_recipients": list }));
    } else if list.is_empty() {
        println!(
            "the database holds no test recipients: a login short of opsdeck_broadcaster cannot send a test"
        );
    } else {
        for r in &list {
            let contact = [r.phone.as_deref(), r.email.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            let by = r
                .added_by
                .as_deref()
                .map(|b| format!(" · added by {b}"))
                .unwrap_or_default();
            println!("{} · {contact}{by}", r.name);
        }
    }
    Ok(())
}
