//! Dev tool until `opsdeck` is wired to the console: `cargo run --example console -- URL
//! [--read-only] [--theme NAME]`. Migrates the database, then runs the console on it.

use std::time::Duration;

use opsdeck::api::Store;
use opsdeck::app::{AppOptions, run};
use opsdeck::config::DbTarget;
use opsdeck::domain::mode::Mode;
use opsdeck::keymap::Keymap;
use opsdeck::theme::Theme;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "sqlite:///tmp/ui.db".into());
    let read_only = args.iter().any(|a| a == "--read-only");
    let theme = args
        .iter()
        .position(|a| a == "--theme")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    if let Ok(path) = std::env::var("OPSDECK_LOG") {
        let file = std::fs::File::create(path)?;
        tracing_subscriber::fmt()
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .init();
    }
    let target = DbTarget::parse(&url).map_err(anyhow::Error::msg)?;
    let store = Store::open(&target, 4).await?;
    store.migrate().await?;
    let no_color = std::env::var("NO_COLOR").is_ok_and(|v| !v.is_empty());
    // dev checks of the panic paths: `--ui-panic` panics on the console's thread after 1 s
    // (the terminal must be restored and the message readable); `--bg-panic` panics in a
    // background task (the console must keep running, the message goes to the log)
    if args.iter().any(|a| a == "--bg-panic") {
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            panic!("background test panic");
        });
    }
    let ui_panic = args.iter().any(|a| a == "--ui-panic");
    let console = run(AppOptions {
        store,
        mode: if read_only {
            Mode::ReadOnly
        } else {
            Mode::Live
        },
        theme: Theme::resolve(theme, None, no_color)?,
        keymap: Keymap::default_map(),
        refresh: Duration::from_secs(2),
        operator: "dev".into(),
        db_label: target.short_name(),
        notice: None,
        n8n: None,
        n8n_queue: None,
        listen: opsdeck::app::ListenOn::Database,
        absent: Vec::new(),
        replica: None,
        currency: Default::default(),
        access: opsdeck::domain::role::Access::demo(),
        alerts: Default::default(),
        context: None,
        contexts: Default::default(),
        broadcast: Default::default(),
    });
    tokio::select! {
        r = console => r.map(|_| ()),
        _ = tokio::time::sleep(Duration::from_secs(1)), if ui_panic => panic!("console test panic"),
    }
}
