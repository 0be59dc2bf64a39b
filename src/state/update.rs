//! `App::update`: every state change, and the reads it asks for.

use std::time::Duration;

use super::table::{Row, Table};
use super::*;

/// How long a filter edit must rest before a database-backed list is read again.
pub const FILTER_DEBOUNCE: Duration = Duration::from_millis(250);

impl App {
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(k) => self.on_key(k),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.dirty = true;
                vec![]
            }
            Msg::Clock(now) => self.on_clock(now),
            Msg::Poll => {
                if self.conn.is_lost() {
                    vec![] // the backoff decides when to try again
                } else {
                    // frozen: nothing moves on screen until Z again (alerts still watch)
                    let mut fx = if self.frozen.is_some() {
                        vec![]
                    } else {
                        self.refresh_view()
                    };
                    fx.extend(self.broadcast_refresh());
                    fx.extend(self.awaiting_refresh());
                    fx.extend(self.watch());
                    fx
                }
            }
            Msg::Changed(tables) => {
                let mut fx = vec![];
                if tables
                    .iter()
                    .any(|t| t == "emergency_broadcasts" || t == "job_queue")
                {
                    fx = self.broadcast_refresh();
                }
                if tables.iter().any(|t| t == "emergency_broadcasts") {
                    fx.extend(self.awaiting_refresh());
                }
                if tables
                    .iter()
                    .any(|t| alerts::WATCH_TABLES.contains(&t.as_str()))
                {
                    fx.extend(self.watch_changed());
                }
                let mine = self.view.tables();
                if !self.conn.is_lost()
                    && self.frozen.is_none()
                    && tables.iter().any(|t| mine.contains(&t.as_str()))
                {
                    fx.extend(self.refresh_view());
                }
                fx
            }
            Msg::Listen(l) => {
                self.dirty |= self.listen != l;
                let back = self.listen == Listen::Down && l == Listen::Up;
                self.listen = l;
                // notifications sent while the listener was away are lost: read once more
                if back && !self.conn.is_lost() {
                    self.refresh_view()
                } else {
                    vec![]
                }
            }
            Msg::Loaded(l) => self.on_loaded(*l),
            Msg::ActionDone(r) => self.on_action_done(*r),
            Msg::Counted(sel, r) => self.on_counted(&sel, r),
            Msg::Broadcast(m) => self.on_broadcast(*m),
            Msg::FreshKey(k) => {
                self.spare_key = Some(k);
                vec![]
            }
            Msg::FilterSettled(v, seq) => {
                let latest = self.list(v).is_some_and(|l| l.filter().seq == seq);
                let changed = Some(self.base_filter(v)) != self.requested(v);
                if latest && changed && v == self.view {
                    self.request(v, LoadKind::Main)
                } else {
                    vec![]
                }
            }
            Msg::N8n(p) => {
                let ok = p.result.is_ok();
                self.n8n.apply(*p);
                self.dirty = true;
                // which of these executions the database's runs link (listed there, not twice)
                let ids = self.n8n.execution_ids();
                if ok && !ids.is_empty() {
                    vec![Effect::LinkN8n(ids)]
                } else {
                    vec![]
                }
            }
            Msg::N8nLinked(ids) => {
                self.n8n.set_linked(ids);
                self.dirty = true;
                vec![]
            }
            Msg::Watched(w) => self.on_watched(*w),
            Msg::Exported(r) => self.on_exported(r),
            Msg::Timeline(r) => self.on_timeline(r),
            Msg::ContextRead(l) => self.on_context_read(*l),
            Msg::AlertsRead(r, left) => self.on_alerts_read(r, left),
            Msg::N8nQueue(p) => {
                self.n8n_queue.apply(*p);
                self.dirty = true;
                vec![]
            }
        }
    }

    /// A read failed: the connection is lost (the room hears it once, when it goes).
    pub(super) fn conn_failed(&mut self, e: String) -> Vec<Effect> {
        let was_lost = self.conn.is_lost();
        self.conn.failed(self.now, e);
        self.dirty = true;
        if !was_lost && self.alerts.rules.database_down && self.alerts.rules.bell {
            vec![Effect::Bell]
        } else {
            vec![]
        }
    }

    /// A read succeeded: the connection is up (and an outage, if there was one, is recorded).
    pub(super) fn conn_back(&mut self) {
        if let Conn::Lost { since, .. } = self.conn {
            self.toast("reconnected", false);
            self.alerts_reconnected(since);
        }
        self.conn = Conn::Connected;
    }

    fn on_clock(&mut self, now: Ts) -> Vec<Effect> {
        self.now = now;
        // ages and countdowns on screen move with the clock
        self.dirty = true;
        if self.toast.as_ref().is_some_and(|t| t.until <= now) {
            self.toast = None;
        }
        let mut fx = self.broadcast_tick();
        fx.extend(self.alerts_tick());
        fx.extend(self.contexts_tick());
        match &self.conn {
            // frozen: the retry is the watch's, so the screen stays as it was
            Conn::Lost { retry_at, .. }
                if *retry_at <= now
                    && self.frozen.is_some()
                    && !self.inflight.busy(Busy::Watch) =>
            {
                fx.extend(self.watch_now())
            }
            Conn::Lost { .. } if self.frozen.is_some() => {}
            Conn::Lost { retry_at, .. }
                if *retry_at <= now && !self.inflight.reading(self.view) =>
            {
                fx.extend(self.refresh_view())
            }
            _ => {}
        }
        fx
    }

    // ---- reads -------------------------------------------------------------------------

    /// Reads what the active view shows: its open detail, or its first page.
    pub fn refresh_view(&mut self) -> Vec<Effect> {
        let v = self.view;
        let detail = match v {
            ViewId::Runs => self.runs.list.detail.is_some(),
            ViewId::Queue => self.queue.list.detail.is_some(),
            ViewId::Reconciliation => self.recon.list.detail.is_some(),
            _ => false,
        };
        self.request(
            v,
            if detail {
                LoadKind::Detail
            } else {
                LoadKind::Main
            },
        )
    }

    /// The database filter of a list view, from its filter line (without cursor and limit).
    pub fn base_filter(&self, v: ViewId) -> ListFilter {
        let q = self.list(v).map(|l| l.filter().query()).unwrap_or_default();
        let text = (!q.text.is_empty()).then(|| q.text.clone());
        match v {
            ViewId::Runs => ListFilter {
                status: q.status,
                workflow_id: self.runs.workflow.as_ref().map(|w| w.0),
                text,
                ..Default::default()
            },
            ViewId::Queue => ListFilter {
                status: q.status,
                job_type: q.kind,
                text,
                ..Default::default()
            },
            ViewId::Reconciliation => ListFilter {
                status: q.status,
                ..Default::default()
            },
            // approvals: the pending ones unless asked otherwise (`status:all` for every one)
            ViewId::Approvals => ListFilter {
                status: match q.status.as_deref() {
                    None => Some("open".into()),
                    Some("all" | "any") => None,
                    Some(_) => q.status,
                },
                kind: q.kind,
                text,
                ..Default::default()
            },
            ViewId::Audit => ListFilter {
                status: q.status,
                kind: q.kind,
                text,
                ..Default::default()
            },
            _ => ListFilter::default(),
        }
    }

    fn requested(&self, v: ViewId) -> Option<ListFilter> {
        match v {
            ViewId::Runs => self.runs.list.requested.clone(),
            ViewId::Queue => self.queue.list.requested.clone(),
            ViewId::Reconciliation => self.recon.list.requested.clone(),
            ViewId::Approvals => self.approvals.requested.clone(),
            ViewId::Audit => self.audit.requested.clone(),
            _ => None,
        }
    }

    fn set_requested(&mut self, v: ViewId, f: ListFilter) {
        let slot = match v {
            ViewId::Runs => &mut self.runs.list.requested,
            ViewId::Queue => &mut self.queue.list.requested,
            ViewId::Reconciliation => &mut self.recon.list.requested,
            ViewId::Approvals => &mut self.approvals.requested,
            ViewId::Audit => &mut self.audit.requested,
            _ => return,
        };
        *slot = Some(f);
    }

    /// Starts a read unless one of the same kind is in flight (then it runs again on landing).
    pub fn request(&mut self, v: ViewId, kind: LoadKind) -> Vec<Effect> {
        let base = self.base_filter(v);
        let (filter, id) = match kind {
            LoadKind::Main => {
                // a refresh with the same filter reloads as many rows as are loaded, so the
                // selection (kept by id) survives; a new filter starts at one page
                let same = self.requested(v).as_ref() == Some(&base);
                let loaded = self.list(v).map_or(0, |l| l.loaded_len()) as u32;
                let limit = if same {
                    loaded.clamp(PAGE, MAX_ROWS)
                } else {
                    PAGE
                };
                self.set_requested(v, base.clone());
                (ListFilter { limit, ..base }, None)
            }
            LoadKind::More => {
                let Some(c) = self.list(v).and_then(|l| l.next_cursor()) else {
                    return vec![];
                };
                (
                    ListFilter {
                        before: Some(c),
                        limit: PAGE,
                        ..base
                    },
                    None,
                )
            }
            LoadKind::Detail => {
                let id = match v {
                    ViewId::Runs => self.runs.list.detail,
                    ViewId::Queue => self.queue.list.detail,
                    ViewId::Reconciliation => self.recon.list.detail,
                    _ => None,
                };
                if id.is_none() {
                    return vec![];
                }
                (ListFilter::page(500), id)
            }
        };
        match self.inflight.begin(Busy::Read(v, kind)) {
            Some(seq) => vec![Effect::Load(LoadReq {
                view: v,
                kind,
                filter,
                id,
                now: self.now,
                seq,
            })],
            None => vec![],
        }
    }

    fn on_loaded(&mut self, l: Loaded) -> Vec<Effect> {
        let req = l.req;
        let (current, again) = self.inflight.end(Busy::Read(req.view, req.kind), req.seq);
        if !current {
            return vec![];
        }
        self.dirty = true;
        if l.from.is_some() {
            self.read_from = l.from;
        }
        match l.result {
            Err(e) if e.conn => {
                tracing::warn!(view = ?req.view, error = %e, "refresh failed: connection");
                // the backoff decides when to try again
                return self.conn_failed(e.msg);
            }
            Err(e) => {
                // the connection stands: the view says why its read failed, keeps what it
                // had, and the next poll or change reads again
                tracing::warn!(view = ?req.view, error = %e, "refresh failed");
                self.conn_back();
                self.read_failed = Some((req.view, e.msg, self.now));
                return vec![];
            }
            Ok(p) => {
                self.conn_back();
                if self
                    .read_failed
                    .as_ref()
                    .is_some_and(|(v, ..)| *v == req.view)
                {
                    self.read_failed = None;
                }
                self.apply(&req, p);
            }
        }
        if again {
            self.request(req.view, req.kind)
        } else {
            vec![]
        }
    }

    /// Whether a list read still matches what the view asks for (a filter edit since makes it
    /// stale: the newer read follows).
    fn fresh(&self, req: &LoadReq) -> bool {
        let mut f = req.filter.clone();
        f.before = None;
        f.limit = 0;
        f == self.base_filter(req.view)
    }

    fn apply(&mut self, req: &LoadReq, p: Payload) {
        let at = req.now;
        let kind = req.kind;
        let fresh = self.fresh(req);
        let limit = req.filter.limit as usize;
        fn put<T: Row>(t: &mut Table<T>, kind: LoadKind, rows: Vec<T>, limit: usize, at: Ts) {
            let more = limit > 0 && rows.len() >= limit;
            match kind {
                LoadKind::More => t.append(rows, more),
                _ => t.set_rows(rows, more, at),
            }
        }
        match p {
            Payload::Overview(o) => {
                self.overview.data = Some(o);
                self.overview.loaded_at = Some(at);
            }
            Payload::Workflows(v) => self.workflows.table.set_rows(v, false, at),
            Payload::Errors(v) => self.errors.table.set_rows(v, false, at),
            Payload::Capacity(v, alerts) => {
                self.capacity.list.table.set_rows(v, false, at);
                self.capacity.alerts = alerts;
            }
            Payload::Runs(v) if fresh => put(&mut self.runs.list.table, kind, v, limit, at),
            Payload::Queue(depth, v) if fresh => {
                if let Some(d) = depth {
                    self.queue.depth = Some(*d);
                }
                put(&mut self.queue.list.table, kind, v, limit, at)
            }
            Payload::Recon(v) if fresh => put(&mut self.recon.list.table, kind, v, limit, at),
            Payload::Approvals(v) if fresh => put(&mut self.approvals.table, kind, v, limit, at),
            Payload::Audit(v) if fresh => put(&mut self.audit.table, kind, v, limit, at),
            Payload::RunDetail(run, steps) => {
                if req.id.is_some() && req.id == self.runs.list.detail {
                    self.runs.detail = Some(RunDetail {
                        id: req.id.unwrap_or_default(),
                        run: run.map(|r| *r),
                        steps,
                        loaded_at: Some(at),
                    });
                }
            }
            Payload::JobDetail(j) => {
                if req.id.is_some() && req.id == self.queue.list.detail {
                    self.queue.full = j.map(|j| *j);
                    self.queue.full_at = Some(at);
                }
            }
            Payload::Discrepancies(v) => {
                if req.id.is_some() && req.id == self.recon.list.detail {
                    self.recon.discrepancies.set_rows(v, false, at);
                }
            }
            _ => tracing::debug!(view = ?req.view, "dropped a read made for an older filter"),
        }
    }
}
