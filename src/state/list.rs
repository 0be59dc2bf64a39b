//! What every list view shares: a table, its filter line, an open detail and its scroll.

use std::cell::Cell;

use super::table::{Query, Row, Table};
use crate::domain::model::{Cursor, ListFilter};

/// The `/` filter line of a view.
#[derive(Debug, Clone, Default)]
pub struct FilterLine {
    pub text: String,
    pub editing: bool,
    /// Bumped on every edit: a debounced refetch only runs for the latest edit.
    pub seq: u64,
}

impl FilterLine {
    pub fn query(&self) -> Query {
        Query::parse(&self.text)
    }
}

/// A list view: rows, filter, and the key of the row whose detail is open.
#[derive(Debug)]
pub struct ListView<T: Row> {
    pub table: Table<T>,
    pub filter: FilterLine,
    pub detail: Option<T::Key>,
    /// Detail document scroll (lines); the drawing clamps it to the document's end.
    pub scroll: Cell<usize>,
    /// The filter of the last first-page request (without cursor and limit): a refresh with
    /// the same filter reloads as many rows as are shown, a new filter starts at one page.
    pub requested: Option<ListFilter>,
}

impl<T: Row> ListView<T> {
    pub fn new(table: Table<T>) -> Self {
        ListView {
            table,
            filter: FilterLine::default(),
            detail: None,
            scroll: Cell::new(0),
            requested: None,
        }
    }

    /// The row whose detail is open (None when closed or the row is gone).
    pub fn detail_row(&self) -> Option<&T> {
        self.detail.as_ref().and_then(|k| self.table.get(k))
    }
}

/// The list operations the key handling needs, object-safe so that `update` can reach the
/// active view's list without knowing its row type.
pub trait ListOps {
    fn filter_mut(&mut self) -> &mut FilterLine;
    fn filter(&self) -> &FilterLine;
    /// Applies the filter text to the loaded rows (instant narrowing).
    fn apply_query(&mut self);
    /// Moves the selection (or scrolls the open detail); true = fetch the next page.
    fn nav(&mut self, nav: Nav) -> bool;
    fn cycle_sort(&mut self);
    fn toggle_mark(&mut self);
    /// Opens the selected row's detail; false when there is nothing to open.
    fn open(&mut self) -> bool;
    fn close(&mut self) -> bool;
    fn detail_open(&self) -> bool;
    fn next_cursor(&self) -> Option<Cursor>;
    fn loaded_len(&self) -> usize;
    /// The rows the list shows, with its filter, in its order, as their serde form (export).
    fn export(&self) -> Vec<serde_json::Value>;
    /// The database holds more rows than are loaded (a next page).
    fn has_more(&self) -> bool;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
}

impl<T: Row + serde::Serialize> ListOps for ListView<T> {
    fn export(&self) -> Vec<serde_json::Value> {
        self.table
            .window(0, self.table.len())
            .map(|(_, r)| serde_json::to_value(r).unwrap_or_default())
            .collect()
    }
    fn has_more(&self) -> bool {
        self.table.has_more
    }
    fn filter_mut(&mut self) -> &mut FilterLine {
        &mut self.filter
    }
    fn filter(&self) -> &FilterLine {
        &self.filter
    }
    fn apply_query(&mut self) {
        let q = self.filter.query();
        self.table.set_query(q);
    }
    fn nav(&mut self, nav: Nav) -> bool {
        if self.detail.is_some() {
            let page = self.table.height.get().max(1);
            let s = self.scroll.get();
            self.scroll.set(match nav {
                Nav::Up => s.saturating_sub(1),
                Nav::Down => s + 1,
                Nav::PageUp => s.saturating_sub(page),
                Nav::PageDown => s + page,
                Nav::Top => 0,
                Nav::Bottom => usize::MAX / 2,
            });
            return false;
        }
        match nav {
            Nav::Up => self.table.move_by(-1),
            Nav::Down => self.table.move_by(1),
            Nav::PageUp => self.table.page(false),
            Nav::PageDown => self.table.page(true),
            Nav::Top => {
                self.table.top();
                false
            }
            Nav::Bottom => self.table.bottom(),
        }
    }
    fn cycle_sort(&mut self) {
        if self.detail.is_none() {
            self.table.cycle_sort();
        }
    }
    fn toggle_mark(&mut self) {
        if self.detail.is_none() {
            self.table.toggle_mark();
        }
    }
    fn open(&mut self) -> bool {
        match self.table.selected_key() {
            Some(k) if self.detail.is_none() => {
                self.detail = Some(k.clone());
                self.scroll.set(0);
                true
            }
            _ => false,
        }
    }
    fn close(&mut self) -> bool {
        self.detail.take().is_some()
    }
    fn detail_open(&self) -> bool {
        self.detail.is_some()
    }
    fn next_cursor(&self) -> Option<Cursor> {
        self.table.next_cursor()
    }
    fn loaded_len(&self) -> usize {
        self.table.loaded_len()
    }
}
