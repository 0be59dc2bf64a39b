//! `opsdeck export VIEW`: a list as the console shows it, for scripts. It drives the console's
//! own state without a terminal — the same filter line (`--filter` is what `/` takes), the same
//! reads and the same rows — then follows the pages to the end, so the file holds every row
//! the filter matches (up to [`MAX_EXPORT`]), not only the first page.

use crate::api::Store;
use crate::api::replica::Reader;
use crate::domain::export::{Format, to_csv, to_json};
use crate::domain::refresh::{LoadKind, ViewId};
use crate::state::{App, Effect};

/// The most rows one export holds.
pub const MAX_EXPORT: usize = 100_000;

/// What an export made: the text, how many rows, and whether it stopped at the cap.
pub struct Exported {
    pub content: String,
    pub rows: usize,
    pub capped: bool,
}

/// Exports `view`'s list with `filter` (the console's `/` text) in `format`.
pub async fn export(
    store: &Store,
    view: ViewId,
    filter: &str,
    format: Format,
) -> Result<Exported, String> {
    let now = chrono::Utc::now();
    let mut app = App::new(
        crate::domain::mode::Mode::ReadOnly,
        crate::theme::Theme::builtin("mono").ok_or("the mono theme")?,
        crate::keymap::Keymap::default_map(),
        "export".into(),
        String::new(),
        now,
    );
    let Some(l) = app.list_mut(view) else {
        return Err("the overview is not a list: export workflows, runs, queue, errors, capacity, reconciliation, approvals or audit".into());
    };
    l.filter_mut().text = filter.to_string();
    l.apply_query();
    let reader = Reader::new(store.clone(), None);
    let mut fx = app.switch(view);
    if app.view != view {
        return Err("cannot open the view".into());
    }
    if fx.is_empty() {
        fx = app.request(view, LoadKind::Main);
    }
    loop {
        for e in fx.drain(..) {
            if let Effect::Load(req) = e {
                let m = super::effects::load(&reader, req).await;
                if let crate::state::Msg::Loaded(l) = &m
                    && let Err(e) = &l.result
                {
                    return Err(e.msg.clone());
                }
                app.update(m);
            }
        }
        let l = app.list(view).ok_or("no list")?;
        if !l.has_more() || l.loaded_len() >= MAX_EXPORT {
            break;
        }
        fx = app.request(view, LoadKind::More);
        if fx.is_empty() {
            break;
        }
    }
    let l = app.list(view).ok_or("no list")?;
    let rows = l.export();
    let capped = l.has_more();
    let content = match format {
        Format::Csv => to_csv(&rows),
        Format::Json => to_json(view.command(), filter, &now.to_rfc3339(), &rows),
    };
    Ok(Exported {
        content,
        rows: rows.len(),
        capped,
    })
}
