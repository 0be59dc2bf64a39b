//! The states the render benchmark draws (shared by `benches/render.rs` and
//! `examples/render_frames.rs`): every view's reads answered with N rows, the fixture rows
//! repeated with fresh ids.

use opsdeck::domain::mode::Mode;
use opsdeck::domain::model::Overview;
use opsdeck::domain::refresh::{Listen, LoadKind, Loaded, Payload, ViewId};
use opsdeck::keymap::Keymap;
use opsdeck::state::{App, Effect, Msg};

#[path = "../../tests/fixtures/mod.rs"]
mod fixtures;
use opsdeck::theme::Theme;
use uuid::Uuid;

/// `v` repeated to `n` items, each with a fresh id.
fn scale<T: Clone>(v: Vec<T>, n: usize, mut fresh: impl FnMut(&mut T, usize)) -> Vec<T> {
    (0..n)
        .map(|i| {
            let mut x = v[i % v.len()].clone();
            fresh(&mut x, i);
            x
        })
        .collect()
}

fn uid(i: usize) -> Uuid {
    Uuid::from_u128(0xbe00_0000_0000 + i as u128)
}

fn payload(view: ViewId, kind: LoadKind, n: usize) -> Payload {
    match (view, kind) {
        (ViewId::Overview, _) => {
            let mut o: Overview = fixtures::overview();
            o.capacity = scale(o.capacity, n.min(500), |e, i| e.id = uid(i));
            Payload::Overview(Box::new(o))
        }
        (ViewId::Workflows, _) => Payload::Workflows(scale(fixtures::workflows(), n, |w, i| {
            w.workflow.id = uid(i);
            w.workflow.name = format!("{}-{i}", w.workflow.name);
        })),
        (ViewId::Runs, LoadKind::Detail) => Payload::RunDetail(
            Some(Box::new(fixtures::runs()[2].clone())),
            fixtures::steps(),
        ),
        (ViewId::Runs, _) => Payload::Runs(scale(fixtures::runs(), n, |r, i| r.id = uid(i))),
        (ViewId::Queue, _) => Payload::Queue(
            Some(Box::new(fixtures::depth())),
            scale(fixtures::jobs(), n, |j, i| j.id = uid(i)),
        ),
        (ViewId::Errors, _) => Payload::Errors(scale(fixtures::patterns(), n, |p, i| {
            p.error_type = format!("{}-{i}", p.error_type);
        })),
        (ViewId::Capacity, _) => Payload::Capacity(
            scale(fixtures::events(), n, |e, i| e.id = uid(i)),
            fixtures::alerts(),
        ),
        (ViewId::Reconciliation, LoadKind::Detail) => {
            Payload::Discrepancies(scale(fixtures::discrepancies(), n, |d, i| d.id = uid(i)))
        }
        (ViewId::Reconciliation, _) => {
            Payload::Recon(scale(fixtures::recon_runs(), n, |r, i| r.id = uid(i)))
        }
        (ViewId::Approvals, _) => {
            Payload::Approvals(scale(fixtures::approvals(), n, |a, i| a.id = uid(i)))
        }
        (ViewId::Audit, _) => Payload::Audit(scale(fixtures::audit(), n, |a, i| a.id = uid(i))),
    }
}

/// An app on `view` whose every read returned `n` rows.
pub fn app_at(view: ViewId, n: usize) -> App {
    let mut a = App::new(
        Mode::Live,
        Theme::builtin("default").expect("theme"),
        Keymap::default_map(),
        "bench".into(),
        "bench/db".into(),
        fixtures::now(),
    );
    a.listen = Listen::Up;
    a.size = (240, 70);
    let mut fx = a.switch(view);
    if view == ViewId::Overview {
        fx.extend(a.refresh_view());
    }
    while let Some(e) = fx.pop() {
        if let Effect::Load(req) = e {
            let result = Ok(payload(req.view, req.kind, n));
            fx.extend(a.update(Msg::Loaded(Box::new(Loaded {
                req,
                result,
                from: None,
            }))));
        }
    }
    a.update(Msg::Clock(fixtures::now() + chrono::Duration::seconds(3)));
    a
}
