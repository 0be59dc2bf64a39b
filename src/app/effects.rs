//! The one translator between the pure state and the IO: an [`Effect`] becomes an api call, and
//! the api's result (a domain value) becomes the [`Msg`] the state expects. Every effect that
//! does IO goes through [`run`]; the event loop spawns it and sends the message back.

use chrono::Utc;

use crate::api::Store;
use crate::api::actions::{ActionCtx, execute};
use crate::api::broadcast::{
    BroadcastCtx, approve, awaiting, cancel, cancel_waiting, event_choices, follow_up, prepare,
    progress, retry_failed, send,
};
use crate::api::refresh;
use crate::api::replica::Reader;
use crate::api::store::actions::count_failed;
use crate::domain::action::ActionReport;
use crate::domain::refresh::{LoadReq, Loaded, ReadFrom};
use crate::state::broadcast::{BcEffect, BcMsg};
use crate::state::{Effect, Msg};

/// What the effects need: the store (the primary), where views read, and the contexts of
/// actions and broadcasts.
#[derive(Clone)]
pub struct Io {
    pub store: Store,
    pub reader: Reader,
    pub actions: ActionCtx,
    pub broadcast: BroadcastCtx,
    /// The config's contexts (the all-contexts overview reads them).
    pub contexts: crate::api::contexts::Probes,
}

/// Runs one IO effect and returns the message its result becomes. `Later` and `Quit` are the
/// event loop's own (None).
pub async fn run(io: &Io, e: Effect) -> Option<Msg> {
    Some(match e {
        Effect::Load(req) => load(&io.reader, req).await,
        Effect::Act(action) => {
            io.reader.writing();
            let r = execute(&io.store, &io.actions, &action).await;
            // the views read the primary until the replica has replayed this
            io.reader.written().await;
            Msg::ActionDone(Box::new(r))
        }
        Effect::CountFailed(select) => {
            let r = count_failed(&io.store, &select)
                .await
                .map_err(|e| crate::api::db::describe_sqlx(&e));
            Msg::Counted(select, r)
        }
        Effect::Broadcast(b) => {
            io.reader.writing();
            let m = broadcast(&io.store, &io.broadcast, b).await;
            io.reader.written().await;
            m.into()
        }
        Effect::LinkN8n(ids) => match io.store.linked_n8n(&ids).await {
            Ok(l) => Msg::N8nLinked(l),
            // unknown: the pane keeps listing everything (never hides without knowing)
            Err(e) => {
                tracing::info!(error = %e, "which n8n executions runs link: read failed");
                Msg::N8nLinked(Vec::new())
            }
        },
        Effect::Watch => Msg::Watched(Box::new(watch(io).await)),
        Effect::Timeline(from, to) => {
            let (store, _) = io.reader.pick().await;
            match store.ping().await {
                Ok(_) => Msg::Timeline(Ok(store.timeline(from, to).await)),
                Err(e) => Msg::Timeline(Err(crate::config::redact_in(
                    &crate::api::db::describe_sqlx(&e),
                ))),
            }
        }
        Effect::ReadContext(name) => Msg::ContextRead(Box::new(match io.contexts.get(&name) {
            Some(p) => p.read().await,
            None => {
                let mut l = crate::domain::context::ContextLine::unread(&name, false, false);
                l.error = Some("not in this config".into());
                l
            }
        })),
        Effect::Export {
            path,
            content,
            rows,
        } => Msg::Exported(
            tokio::task::spawn_blocking(move || {
                crate::api::export::write_new(&path, &content).map(|p| (p, rows))
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string())),
        ),
        Effect::AlertSync(plan, outage) => {
            let left = sync_alerts(&io.store, &io.actions.actor.operator, &plan, outage).await;
            Msg::AlertsRead(read_alerts(&io.store).await, left)
        }
        Effect::Later(..) | Effect::Quit | Effect::Bell => return None,
    })
}

/// How far back the Alerts list reaches (open alerts are always in it).
const ALERTS_BACK: chrono::Duration = chrono::Duration::hours(24);

/// The alerts, as the message says them: where the database keeps none, why.
async fn read_alerts(
    store: &Store,
) -> Result<Vec<crate::domain::alert::Alert>, crate::state::alerts::Unread> {
    use crate::state::alerts::Unread;
    match store.alerts(Utc::now() - ALERTS_BACK).await {
        Ok(v) => Ok(v),
        Err(e) => Err(match store.has_alerts().await {
            Ok(false) => Unread {
                missing: true,
                why: "this database keeps no alerts yet (run `opsdeck migrate`): each console judges on its own, without acks".to_string(),
            },
            _ => Unread {
                missing: false,
                why: crate::config::redact_in(&crate::api::db::describe_sqlx(&e)),
            },
        }),
    }
}

/// What the alert rules need: the overview's numbers and the hour's error patterns (where the
/// views read), and the alerts (on the primary: an ack just made must show).
async fn watch(io: &Io) -> crate::state::alerts::Watched {
    let now = Utc::now();
    let (mut store, from) = io.reader.pick().await;
    let text = |e: anyhow::Error| crate::config::redact_in(&format!("{e:#}"));
    let mut read = store.overview(now).await;
    if read.is_err() && matches!(from, Some(ReadFrom::Replica { .. })) {
        // the replica failed: the primary answers (as a view's read does), and the replica is
        // left alone a while; a replica restart is not the database gone
        tracing::warn!("the watch's read on the replica failed: reading the primary");
        io.reader.down();
        store = io.reader.primary();
        read = store.overview(now).await;
    }
    let overview = match read {
        Ok(o) => Ok(Box::new(o)),
        Err(e) => Err(judged(store, &e).await),
    };
    let since = now - chrono::Duration::hours(crate::domain::refresh::WINDOW_HOURS);
    let patterns = store.error_patterns(since).await.map_err(text);
    crate::state::alerts::Watched {
        overview,
        patterns,
        alerts: read_alerts(&io.store).await,
    }
}

/// Raises and clears what the plan says, and records an outage. A raise another console made
/// first is a no-op; a failed raise or clear is logged (the next watch plans it again); an
/// outage that could not be recorded is handed back (the next sync tries it again).
async fn sync_alerts(
    store: &Store,
    by: &str,
    plan: &crate::domain::alert::Plan,
    outage: Option<(chrono::DateTime<Utc>, chrono::DateTime<Utc>)>,
) -> Option<(chrono::DateTime<Utc>, chrono::DateTime<Utc>)> {
    for f in &plan.raise {
        if let Err(e) = store.alert_raise(f, by).await {
            tracing::warn!(error = %e, rule = f.rule.as_str(), "raising an alert failed");
        }
    }
    for id in &plan.clear {
        if let Err(e) = store.alert_clear(*id, by).await {
            tracing::warn!(error = %e, %id, "clearing an alert failed");
        }
    }
    if let Some((from, to)) = outage {
        let msg = format!(
            "database unreachable for {}",
            crate::domain::model::span_secs((to - from).num_seconds())
        );
        if let Err(e) = store.alert_outage("database", &msg, by, from, to).await {
            tracing::warn!(error = %e, "recording the database outage failed");
            return Some((from, to));
        }
    }
    None
}

/// The message for an effect whose task panicked: it must still land, or its screen would
/// wait forever. Says to look at the log (and, for an action, at the Audit view).
pub fn failed(e: &Effect) -> Option<Msg> {
    const INTERNAL: &str = "internal error (see the log)";
    Some(match e {
        Effect::Load(req) => Msg::Loaded(Box::new(Loaded {
            req: req.clone(),
            result: Err(crate::domain::refresh::ReadError::read(INTERNAL)),
            from: None,
        })),
        Effect::Act(action) => Msg::ActionDone(Box::new(ActionReport::error(
            action.name(),
            "internal error (see the log); check the Audit view before retrying",
        ))),
        Effect::CountFailed(select) => Msg::Counted(select.clone(), Err(INTERNAL.into())),
        Effect::Broadcast(b) => broadcast_failed(b, INTERNAL).into(),
        Effect::LinkN8n(_) => Msg::N8nLinked(Vec::new()),
        Effect::Watch => Msg::Watched(Box::new(crate::state::alerts::Watched {
            overview: Err(crate::domain::refresh::ReadError::read(INTERNAL)),
            patterns: Err(INTERNAL.into()),
            alerts: Err(crate::state::alerts::Unread {
                missing: false,
                why: INTERNAL.into(),
            }),
        })),
        Effect::AlertSync(_, outage) => Msg::AlertsRead(
            Err(crate::state::alerts::Unread {
                missing: false,
                why: INTERNAL.into(),
            }),
            *outage,
        ),
        Effect::Export { .. } => Msg::Exported(Err(INTERNAL.into())),
        Effect::Timeline(..) => Msg::Timeline(Err(INTERNAL.into())),
        Effect::ReadContext(name) => {
            let mut l = crate::domain::context::ContextLine::unread(name, false, false);
            l.error = Some(INTERNAL.into());
            Msg::ContextRead(Box::new(l))
        }
        Effect::Later(..) | Effect::Quit | Effect::Bell => return None,
    })
}

/// The answer each broadcast effect gets when it could not run: the one its screen waits for
/// (so a waiting read, a decision in flight or a send in progress ends, with the error).
fn broadcast_failed(e: &BcEffect, why: &str) -> BcMsg {
    fn no<T>(why: &str) -> Result<T, String> {
        Err(why.to_string())
    }
    match e {
        BcEffect::Choices => BcMsg::Choices(no(why)),
        BcEffect::Preview(d) => BcMsg::Previewed(Box::new(d.clone()), no(why)),
        BcEffect::Send(_) | BcEffect::FollowUp { .. } => BcMsg::Sent(no(why)),
        BcEffect::Progress(_) => BcMsg::Progress(no(why)),
        BcEffect::Awaiting => BcMsg::Awaiting(no(why)),
        BcEffect::Approve(id) => BcMsg::Decided(*id, true, no(why)),
        BcEffect::Cancel(id) | BcEffect::CancelWaiting(id) => BcMsg::Decided(*id, false, no(why)),
        BcEffect::Retry(_) => BcMsg::Done(no(why)),
    }
}

/// One view's read as the message the state expects (errors become text, passwords redacted):
/// on the replica when there is one and it is fresh (see [`Reader`]); a read that fails there
/// is read again on the primary at once, and the replica left alone a while.
pub async fn load(reader: &Reader, req: LoadReq) -> Msg {
    let (store, mut from) = reader.pick().await;
    let mut result = refresh::load(store, &req).await;
    if result.is_err() && matches!(from, Some(ReadFrom::Replica { .. })) {
        tracing::warn!("a read on the replica failed: reading the primary");
        reader.down();
        from = Some(ReadFrom::ReplicaDown);
        result = refresh::load(reader.primary(), &req).await;
    }
    let result = match result {
        Ok(p) => Ok(p),
        // a read that failed on the replica was made again on the primary: this is the primary's
        Err(e) => Err(judged(reader.primary(), &e).await),
    };
    Msg::Loaded(Box::new(Loaded { req, result, from }))
}

/// A failed read, judged: the connection's failure or the read's. A failure that does not say
/// it is the connection's is checked with `SELECT 1` on the same store: if that fails too, the
/// connection is what failed (whatever the first error's code).
pub async fn judged(store: &Store, e: &anyhow::Error) -> crate::domain::refresh::ReadError {
    let mut r = crate::api::db::read_error(e);
    if !r.conn && store.ping().await.is_err() {
        r.conn = true;
    }
    r
}

/// Runs one of the console's broadcast effects and says how it went.
pub async fn broadcast(store: &Store, ctx: &BroadcastCtx, e: BcEffect) -> BcMsg {
    use BcEffect as E;
    use BcMsg as M;
    match e {
        E::Choices => M::Choices(event_choices(store, Utc::now()).await),
        E::Preview(d) => {
            let r = prepare(store, &ctx.cfg, &d, Utc::now()).await.map(Box::new);
            M::Previewed(Box::new(d), r)
        }
        E::Send(p) => M::Sent(send(store, ctx, &p).await.map(Box::new)),
        E::Progress(id) => M::Progress(progress(store, id).await.map(Box::new)),
        E::Awaiting => M::Awaiting(awaiting(store).await),
        E::Approve(id) => M::Decided(id, true, approve(store, ctx, id).await.map(Box::new)),
        E::Cancel(id) => M::Decided(id, false, cancel(store, ctx, id).await.map(Box::new)),
        E::CancelWaiting(id) => M::Decided(
            id,
            false,
            cancel_waiting(store, ctx, id).await.map(Box::new),
        ),
        E::Retry(id) => M::Done(match retry_failed(store, ctx, id).await {
            Ok(0) => Err("nothing to retry: no failed delivery".into()),
            Ok(n) => Ok(format!("{n} failed deliveries queued again")),
            Err(e) => Err(e),
        }),
        E::FollowUp { id, message, key } => match follow_up(store, id, &message, &key).await {
            Ok(p) => M::Sent(send(store, ctx, &p).await.map(Box::new)),
            Err(e) => M::Sent(Err(e)),
        },
    }
}
