//! The event loop: terminal events, background read results, NOTIFYs, the poll and clock ticks
//! and signals become [`Msg`]s; `App::update` changes the state and returns [`Effect`]s, which
//! are run here as spawned tasks; the screen is drawn only when something changed.
//!
//! Wake-ups when idle: the poll interval (2 s; with LISTEN up a 10 s heartbeat instead) and a
//! 1 s clock that moves the ages on screen ("updated 3s ago", the reconnect countdown, toast
//! expiry). Each clock redraw costs only the changed cells (ratatui diffs the frame), inside a
//! synchronized update. There is no frame timer.

use std::collections::BTreeSet;
use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use crossterm::{cursor, execute, queue, terminal};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

pub mod effects;
pub mod export;

use crate::api::Store;
use crate::api::actions::ActionCtx;
use crate::api::notify::{self, Note};
use crate::domain::action::Actor;
use crate::domain::mode::Mode;
use crate::domain::n8n::N8nPolled;
use crate::domain::refresh::Listen;
use crate::keymap::Keymap;
use crate::state::{App, Effect, LaterMsg, Msg};
use crate::theme::Theme;

pub struct AppOptions {
    /// Connected and migrated.
    pub store: Store,
    pub mode: Mode,
    pub theme: Theme,
    pub keymap: Keymap,
    /// Poll interval (default 2 s).
    pub refresh: Duration,
    pub operator: String,
    /// "host/dbname" or the demo file name — never a password.
    pub db_label: String,
    /// `[broadcast]` from the config file.
    pub broadcast: crate::config::BroadcastConfig,
    /// Shown once at start (e.g. why the console is read-only).
    pub notice: Option<String>,
    /// n8n beside the database: a poller runs only when this is set.
    pub n8n: Option<N8nPoll>,
    /// n8n's queue in Redis (queue mode): its poller runs only when this is set.
    pub n8n_queue: Option<crate::config::QueueSettings>,
    /// Where LISTEN goes.
    pub listen: ListenOn,
    /// The contract's tables an adopted database does not have.
    pub absent: Vec<String>,
    /// A read replica (`read_url`): the views read there.
    pub replica: Option<Store>,
    /// The currency amounts are shown in (the config's `currency`).
    pub currency: crate::domain::money::Currency,
    /// Who the login is and what its role lets it do (the demo: everything).
    pub access: crate::domain::role::Access,
    /// The alert rules (`[alerts]` in the config; the seeds' lines by default).
    pub alerts: crate::domain::alert::AlertRules,
    /// The context in use (name, production) and the config's contexts (`:ctx NAME`).
    pub context: Option<(String, bool)>,
    pub contexts: crate::api::contexts::Probes,
}

/// Where the console LISTENs.
pub enum ListenOn {
    /// On a connection of `store` (the default; not through a transaction pooler, where the
    /// console polls).
    Database,
    /// On a direct connection of its own (`listen_url`).
    Own(Store),
    /// Through a shared listener (`listen_url = "opsdeck-relay://host:port"`): its address.
    Relay(String),
    /// Nowhere: `listen_url` is set but could not be reached; the console polls.
    Nowhere,
}

/// The console's connection pools, (database URL, `read_url`): the overview reads with up to
/// three statements at once, and LISTEN holds one connection of the database URL's pool unless
/// it goes elsewhere (`listen_url`, a relay). With a replica the views read there; the
/// database URL keeps one connection for the actions, the broadcast screens and the bulk-retry
/// count (and LISTEN, if it is there).
pub fn pool_sizes(replica: bool, listen_here: bool) -> (u32, u32) {
    let listen = u32::from(listen_here);
    if replica {
        (1 + listen, 4)
    } else {
        (3 + listen, 0)
    }
}

/// The configured n8n and how often the console polls it.
#[derive(Debug, Clone)]
pub struct N8nPoll {
    pub client: crate::api::n8n::N8nClient,
    pub every: Duration,
}

/// Changes refresh at once (the leading edge), then at most once per this while they keep
/// coming: under a burst a change waits at most this long before its read starts. 5 reads a
/// second per console; `opsdeck bench consoles` measures what that costs.
pub const MIN_GAP: Duration = Duration::from_millis(200);
/// A table that has not notified for this long is quiet: its change is read at once, even
/// while another table's burst holds the refreshes to one per [`MIN_GAP`]. A burst's table
/// notifies every quarter second (the database's gate), so it is never quiet; a quiet table
/// adds at most one read a second.
const QUIET: Duration = Duration::from_secs(1);
/// How long a quiet table's read waits for the other notifications of the same commit.
const QUIET_WAIT: Duration = Duration::from_millis(5);
/// The least time between two reads a quiet table's change starts.
const QUIET_GAP: Duration = Duration::from_millis(50);
/// After the refresh a notification caused, one more: the database notifies at most once per
/// quarter second per table (the first transaction of each slot to commit, migration 0010; the
/// adopted schema's gate is alike), so changes whose commit skipped the notification, all
/// within that slot, land by this one.
const TRAILING: Duration = Duration::from_millis(300);
use crate::state::HEARTBEAT_FACTOR;

type Term = Terminal<CrosstermBackend<Stdout>>;

static RAW: AtomicBool = AtomicBool::new(false);

/// Leaves the alternate screen, disables raw mode and shows the cursor. Safe to call twice.
pub fn restore_terminal() {
    if RAW.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(
            out,
            EndSynchronizedUpdate,
            terminal::LeaveAlternateScreen,
            cursor::Show
        );
        let _ = terminal::disable_raw_mode();
        let _ = out.flush();
    }
}

fn setup_terminal() -> anyhow::Result<Term> {
    // A panic on the console's own thread restores the terminal first, so the message lands on
    // a sane screen. A panic in a background read (another worker thread) must not tear the
    // console down: it goes to the log, and the read lands as an error (see `spawn_load`).
    let ui_thread = std::thread::current().id();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui_thread || !RAW.load(Ordering::SeqCst) {
            restore_terminal();
            prev(info);
        } else {
            tracing::error!("panic in a background task: {info}");
        }
    }));
    // themes decide about colour (NO_COLOR picks the mono theme); crossterm's own NO_COLOR
    // handling would turn every colour change into a reset that also wipes reverse video
    crossterm::style::force_color_output(true);
    terminal::enable_raw_mode()?;
    RAW.store(true, Ordering::SeqCst);
    execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide)?;
    Ok(Terminal::new(CrosstermBackend::new(io::stdout()))?)
}

/// Sets up the terminal, runs until quit (or the terminal / session goes away), and always
/// restores the terminal. Await it from the thread that drives the runtime (`block_on`).
/// Runs the console until it quits: Ok(Some(name)) when `:ctx NAME` asked to open it again on
/// another context.
pub async fn run(opts: AppOptions) -> anyhow::Result<Option<String>> {
    let mut term = match setup_terminal() {
        Ok(t) => t,
        Err(e) => {
            restore_terminal();
            return Err(e);
        }
    };
    // restores on unwind too (a panic of the loop on another thread than the set-up one)
    let _restore = RestoreOnDrop;
    let mut hup = signal(SignalKind::hangup())?;
    let mut term_sig = signal(SignalKind::terminate())?;
    let mut int_sig = signal(SignalKind::interrupt())?;
    let signals = async move {
        tokio::select! {
            _ = hup.recv() => tracing::info!("SIGHUP: the session is gone; exiting"),
            _ = term_sig.recv() => {}
            _ = int_sig.recv() => {}
        }
    };
    let size = term.size()?;
    drive(
        opts,
        (size.width, size.height),
        EventStream::new(),
        {
            let mut shown = ratatui::buffer::Buffer::empty(Default::default());
            move |app| draw(&mut term, app, &mut shown)
        },
        signals,
    )
    .await
}

/// The console without a terminal, for `opsdeck bench consoles`: the same loop, state and
/// reads, no key ever pressed; `frame` sees the state wherever the terminal would be drawn
/// (and may fail to end the loop, as a gone terminal does); it ends when `stop` completes.
pub async fn run_headless(
    opts: AppOptions,
    size: (u16, u16),
    frame: impl FnMut(&App) -> io::Result<()>,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    drive(opts, size, futures::stream::pending(), frame, stop)
        .await
        .map(|_| ())
}

struct RestoreOnDrop;

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Draws a frame, and writes it only when it differs from what the terminal shows (`shown`):
/// a state change that changes no cell (a refresh that read the same rows, the clock moving
/// under a screen with no per-second figure) writes not one byte — no synchronized-update
/// markers, no cursor hiding (hidden once at set-up; no view shows the terminal's cursor).
/// Over a weak SSH link the idle console is as quiet as `watch`.
fn draw(term: &mut Term, app: &App, shown: &mut ratatui::buffer::Buffer) -> io::Result<()> {
    // a resize clears the screen: that clear goes inside the frame's synchronized update too
    let size = term.size()?;
    let resized = (size.width, size.height) != (shown.area.width, shown.area.height);
    if resized {
        queue!(term.backend_mut(), BeginSynchronizedUpdate)?;
    }
    term.autoresize()?;
    let mut frame = term.get_frame();
    crate::views::draw(&mut frame, app);
    if !resized && term.current_buffer_mut() == shown {
        // the same screen: nothing to write (the next frame diffs against this one)
        term.swap_buffers();
        return Ok(());
    }
    // one frame = one synchronized update: no tearing on slow links
    if !resized {
        queue!(term.backend_mut(), BeginSynchronizedUpdate)?;
    }
    term.flush()?;
    *shown = term.current_buffer_mut().clone();
    term.swap_buffers();
    execute!(term.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}

fn poll_timer(every: Duration) -> tokio::time::Interval {
    let mut t = interval(every.max(Duration::from_millis(200)));
    t.set_missed_tick_behavior(MissedTickBehavior::Delay);
    t.reset(); // first tick one period from now (start-up already reads)
    t
}

/// The loop itself: `input` gives the terminal's events, `frame` draws (called only when the
/// state changed), `stop` ends it (the signals).
async fn drive<I>(
    opts: AppOptions,
    size: (u16, u16),
    mut events: I,
    mut frame: impl FnMut(&App) -> io::Result<()>,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<Option<String>>
where
    I: futures::Stream<Item = io::Result<Event>> + Unpin,
{
    let store = opts.store;
    let mut app = App::new(
        opts.mode,
        opts.theme,
        opts.keymap,
        opts.operator,
        opts.db_label,
        chrono::Utc::now(),
    );
    app.poll_every = opts.refresh;
    app.currency = opts.currency.clone();
    app.access = opts.access.clone();
    app.alerts.rules = opts.alerts.clone();
    app.context = opts.context.clone();
    app.contexts = opts.contexts.names();
    app.absent = opts.absent.clone();
    app.broadcast_templates = opts.broadcast.templates();
    let bctx = crate::api::broadcast::BroadcastCtx::new(
        crate::domain::action::Actor {
            operator: app.operator.clone(),
            origin: crate::config::origin(),
        },
        opts.broadcast.clone(),
    );
    app.size = size;

    let (tx, mut rx) = mpsc::channel::<Msg>(256);
    let n8n_client = opts.n8n.as_ref().map(|n| n.client.clone());
    // the n8n poller sends domain values; they become messages here
    let (ptx, mut prx) = mpsc::channel::<N8nPolled>(4);
    // the loop's own tasks, ended with it
    let mut tasks: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    if let Some(n) = opts.n8n {
        // its own task: a slow or dead n8n never holds up the loop (requests time out)
        app.n8n.configured = true;
        app.runs.with_source_column();
        tasks.push(tokio::spawn(crate::api::n8n::poll::run(
            n.client, n.every, ptx,
        )));
    }
    let (qtx, mut qrx) = mpsc::channel::<crate::domain::n8n_queue::QueuePolled>(4);
    if let Some(q) = opts.n8n_queue {
        let target = crate::api::n8n::queue::QueueReader::new(&q)
            .map(|r| r.target)
            .unwrap_or_default();
        app.n8n_queue = crate::state::N8nQueueState::new(&q.prefix, &target, q.not_moving_after);
        // its own task, like n8n's REST poller: a dead Redis never holds up the loop
        tasks.push(tokio::spawn(crate::api::n8n::queue::run(q, qtx)));
    }
    let (ntx, mut nrx) = mpsc::channel::<Note>(1024);
    // LISTEN goes on listen_url when there is one; through a transaction pooler it cannot work
    let pooled = store.db.pooling() == crate::api::db::Pooling::Transaction;
    let listener = match &opts.listen {
        // a shared listener (`opsdeck relay`) instead of a LISTEN of our own
        ListenOn::Relay(_) | ListenOn::Nowhere => None,
        ListenOn::Own(l) => l.db.pg_pool().cloned(),
        ListenOn::Database if pooled => {
            tracing::info!(
                "a transaction pooler is in front of the database and no listen_url is set: LISTEN cannot work there, the console polls"
            );
            app.listen = Listen::Pooled;
            None
        }
        ListenOn::Database => store.db.pg_pool().cloned(),
    };
    let relay = match &opts.listen {
        ListenOn::Relay(a) => Some(a.clone()),
        _ => None,
    };
    let listening = match (listener, relay) {
        (_, Some(addr)) => {
            tasks.push(tokio::spawn(crate::api::relay::follow(
                addr,
                store.clone(),
                ntx,
            )));
            true
        }
        (Some(pool), None) => {
            tasks.push(tokio::spawn(notify::listen(pool, store.clone(), ntx)));
            true
        }
        (None, None) => false,
    };
    tokio::pin!(stop);
    let mut clock = interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut poll = poll_timer(app.poll_every);
    let mut changed: BTreeSet<String> = BTreeSet::new();
    // when each table last notified: a quiet table's change is read at once (see QUIET)
    let mut heard: std::collections::HashMap<String, Instant> = Default::default();
    let mut last_fire: Option<Instant> = None;
    let mut deadline: Option<Instant> = None;
    let mut trailing: Option<(Instant, Vec<String>)> = None;

    let mut actions = ActionCtx::new(Actor {
        operator: app.operator.clone(),
        origin: crate::config::origin(),
    });
    if n8n_client.is_some() {
        actions = actions.with_n8n(n8n_client);
    }
    if let Some(n) = &opts.notice {
        app.toast_for(n.clone(), true, 10);
    }
    let io = std::sync::Arc::new(effects::Io {
        store: store.clone(),
        reader: crate::api::replica::Reader::new(store.clone(), opts.replica.clone()),
        actions,
        broadcast: bctx,
        contexts: opts.contexts.clone(),
    });
    let mut fx = app.start();
    loop {
        if app.needs_key() {
            // the state makes no keys of its own: it always holds one for the next submission
            fx.extend(app.update(Msg::FreshKey(crate::api::broadcast::new_key())));
        }
        for e in fx.drain(..) {
            match e {
                Effect::Later(after, LaterMsg::FilterSettled(v, seq)) => {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(after).await;
                        let _ = tx.send(Msg::FilterSettled(v, seq)).await;
                    });
                }
                Effect::Quit => app.quit = true,
                Effect::Bell => {
                    // only on a real terminal (BEL between frames, never inside one)
                    if RAW.load(Ordering::SeqCst) {
                        let mut out = io::stdout();
                        let _ = out.write_all(b"\x07").and_then(|_| out.flush());
                    }
                }
                e => {
                    let (io, tx) = (io.clone(), tx.clone());
                    // a task that panics must still land, or its screen would wait forever
                    let fallback = effects::failed(&e);
                    tokio::spawn(async move {
                        let msg =
                            match tokio::spawn(async move { effects::run(&io, e).await }).await {
                                Ok(m) => m,
                                Err(err) => {
                                    tracing::error!(error = %err, "an effect's task failed");
                                    fallback
                                }
                            };
                        if let Some(m) = msg {
                            let _ = tx.send(m).await;
                        }
                    });
                }
            }
        }
        if app.quit {
            break;
        }
        if app.dirty {
            app.dirty = false;
            if let Err(e) = frame(&app) {
                // the terminal is gone (SSH dropped): leave rather than spin
                tracing::info!(error = %e, "cannot draw; exiting");
                break;
            }
        }
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => Msg::Key(k),
                Some(Ok(Event::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    tracing::info!(error = %e, "terminal input failed (session gone?); exiting");
                    break;
                }
                None => {
                    tracing::info!("terminal input ended; exiting");
                    break;
                }
            },
            Some(m) = rx.recv() => m,
            Some(p) = prx.recv() => Msg::N8n(Box::new(p)),
            Some(p) = qrx.recv() => Msg::N8nQueue(Box::new(p)),
            Some(n) = nrx.recv(), if listening => match n {
                Note::Changed(t) => {
                    let now = Instant::now();
                    let quiet = heard.get(&t).is_none_or(|l| now.duration_since(*l) >= QUIET);
                    heard.insert(t.clone(), now);
                    changed.insert(t);
                    if quiet {
                        // a table that was quiet (a workflow paused, an approval decided while
                        // jobs pour in): read at once, not behind the gap a burst holds open.
                        // "At once" is QUIET_WAIT, so the other notes of the same commit join
                        // this read, and never sooner than QUIET_GAP after the last one.
                        let at = (now + QUIET_WAIT).max(last_fire.map_or(now, |l| l + QUIET_GAP));
                        deadline = Some(deadline.map_or(at, |d| d.min(at)));
                    } else if deadline.is_none() {
                        deadline = Some(last_fire.map_or(now, |l| (l + MIN_GAP).max(now)));
                    }
                    continue;
                }
                Note::State(s) => {
                    // the poll's pace changes with the state; a listener that keeps reporting
                    // Down while it retries must not keep pushing the next poll away
                    if s != app.listen {
                        let every = if s == Listen::Up {
                            app.poll_every * HEARTBEAT_FACTOR
                        } else {
                            app.poll_every
                        };
                        poll = poll_timer(every);
                    }
                    Msg::Listen(s)
                }
            },
            _ = async { sleep_until(deadline.unwrap_or_else(Instant::now)).await }, if deadline.is_some() => {
                deadline = None;
                last_fire = Some(Instant::now());
                let tables: Vec<String> = std::mem::take(&mut changed).into_iter().collect();
                // one trailing read for every table notified since the last one
                let mut after = trailing.take().map(|t| t.1).unwrap_or_default();
                after.extend(tables.iter().cloned());
                after.sort();
                after.dedup();
                trailing = Some((Instant::now() + TRAILING, after));
                Msg::Changed(tables)
            }
            _ = async { sleep_until(trailing.as_ref().map(|t| t.0).unwrap_or_else(Instant::now)).await }, if trailing.is_some() && deadline.is_none() => {
                let tables = trailing.take().map(|t| t.1).unwrap_or_default();
                Msg::Changed(tables)
            }
            _ = clock.tick() => Msg::Clock(chrono::Utc::now()),
            _ = poll.tick() => Msg::Poll,
            _ = &mut stop => break,
        };
        fx = app.update(msg);
    }
    for t in tasks {
        t.abort();
    }
    Ok(app.switch_to.take())
}
