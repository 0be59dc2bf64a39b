//! Frame cost per view: a state holding N rows (the fixture rows repeated with fresh ids) drawn
//! at 240×70 on ratatui's TestBackend (draw + diff, no terminal IO). Only the visible rows may
//! cost: compare the 1,000- and 10,000-row groups (target ≤ 1 ms per frame at 10,000).
//!
//! `cargo bench --bench render` (criterion prints medians; results in the README, "Rendering").

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use opsdeck::domain::refresh::ViewId;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[path = "support/render_state.rs"]
mod render_state;
use render_state::app_at;

fn frames(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame_240x70");
    for view in ViewId::ALL {
        for n in [1_000usize, 10_000] {
            let a = app_at(view, n);
            let mut t = Terminal::new(TestBackend::new(240, 70)).expect("terminal");
            g.bench_with_input(BenchmarkId::new(format!("{view:?}"), n), &a, |b, a| {
                b.iter(|| {
                    t.draw(|f| opsdeck::views::draw(f, black_box(a)))
                        .expect("draw");
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);
