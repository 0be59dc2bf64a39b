//! `opsdeck export VIEW [--filter TEXT] [--format csv|json] [--output PATH]`: a list as the
//! console shows it with that filter, every matching row, to stdout or to a new file.

use std::io::Write;
use std::process::ExitCode;

use super::{Fail, Globals, finish, load_config, need_store};
use crate::domain::export::Format;
use crate::domain::refresh::ViewId;

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// workflows, runs, queue, errors, capacity, reconciliation, approvals or audit.
    #[arg(value_name = "VIEW")]
    pub view: String,
    /// What the console's `/` takes: words, status:x, type:x.
    #[arg(long, default_value = "")]
    pub filter: String,
    /// csv or json (default: by the --output extension, else csv).
    #[arg(long)]
    pub format: Option<String>,
    /// A new file to write (never overwritten); stdout without it.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
}

pub async fn run(g: &Globals, a: ExportArgs) -> ExitCode {
    finish(export(g, a).await)
}

async fn export(g: &Globals, a: ExportArgs) -> Result<(), Fail> {
    let view = ViewId::ALL
        .into_iter()
        .find(|v| v.command() == a.view.to_ascii_lowercase())
        .filter(|v| *v != ViewId::Overview)
        .ok_or_else(|| {
            Fail::new(
                2,
                format!(
                    "no list called {}: workflows, runs, queue, errors, capacity, reconciliation, approvals or audit",
                    a.view
                ),
            )
        })?;
    let format = match (&a.format, &a.output) {
        (Some(f), _) => {
            Format::parse(f).ok_or_else(|| Fail::new(2, format!("--format {f}: csv or json")))?
        }
        (None, Some(o)) => Format::of_path(o).unwrap_or(Format::Csv),
        (None, None) => Format::Csv,
    };
    let file = load_config(g)?;
    let (t, store) = need_store(g, &file, "export needs", 2).await?;
    let r = crate::app::export::export(&store, view, &a.filter, format).await;
    store.db.close().await;
    let r = r.map_err(|e| Fail::new(2, format!("{}: {e}", t.display_addr())))?;
    if r.capped {
        eprintln!(
            "opsdeck: export stopped at {} rows: narrow it with --filter",
            r.rows
        );
    }
    emit(a.output.as_deref(), &r.content, &format!("{} rows", r.rows))
}

/// Writes `content` to a new file `output` (saying so on stderr: "exported WHAT to PATH"),
/// or to stdout without one.
pub(super) fn emit(output: Option<&str>, content: &str, what: &str) -> Result<(), Fail> {
    match output {
        Some(path) => {
            let p = crate::api::export::write_new(path, content).map_err(|e| Fail::new(2, e))?;
            eprintln!("exported {what} to {p}");
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(content.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| Fail::new(2, e.to_string()))?;
        }
    }
    Ok(())
}
