//! Draws one view's benchmark state N times (the state of `benches/render.rs`), for counting
//! instructions per frame with callgrind:
//!
//! ```text
//! cargo build --release --example render_frames
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*draw_frames*' \
//!     target/release/examples/render_frames Workflows 10000 20
//! ```
//!
//! Instructions per frame = the collected total ÷ N. View `Empty` draws an empty frame (only the
//! buffer reset and the TestBackend diff: the floor of every frame). N = 0 prints the drawn
//! buffers (text and styles) at a few sizes instead, to compare two builds' output.

use std::hint::black_box;

use opsdeck::domain::refresh::ViewId;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[path = "../benches/support/render_state.rs"]
mod render_state;

#[inline(never)]
fn draw_frames(t: &mut Terminal<TestBackend>, app: Option<&opsdeck::state::App>, n: usize) {
    for _ in 0..n {
        t.draw(|f| {
            if let Some(a) = app {
                opsdeck::views::draw(f, black_box(a));
            }
        })
        .expect("draw");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("Workflows", String::as_str);
    let rows: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20);
    let app = ViewId::ALL
        .into_iter()
        .find(|v| format!("{v:?}") == name)
        .map(|v| render_state::app_at(v, rows));
    if app.is_none() && name != "Empty" {
        eprintln!("unknown view {name}");
        std::process::exit(2);
    }
    if n == 0 {
        // N = 0: print the drawn buffers (text and styles) at a few sizes, to compare the
        // output of two builds
        for (w, h) in [(240, 70), (160, 48), (119, 30), (80, 24)] {
            let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
            draw_frames(&mut t, app.as_ref(), 1);
            println!("{w}x{h}\n{:?}", t.backend().buffer());
        }
        return;
    }
    let mut t = Terminal::new(TestBackend::new(240, 70)).expect("terminal");
    // one frame outside the count: the first draw fills the layout cache
    draw_frames(&mut t, app.as_ref(), 1);
    let start = std::time::Instant::now();
    draw_frames(&mut t, app.as_ref(), n);
    eprintln!(
        "{name} {rows}: {n} frames, {:?} per frame",
        start.elapsed() / n as u32
    );
}
