//! A list of rows with a selection kept by id (never by index), a local filter, a sort column,
//! marks, and keyset paging ("older than the last loaded row").

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::hash::Hash;

use crate::domain::model::{Cursor, Ts};

/// What the filter line asks for: `status:x`, `type:x` (or `kind:x`) and free words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Free text, lowercased and trimmed.
    pub text: String,
    pub status: Option<String>,
    pub kind: Option<String>,
}

impl Query {
    pub fn parse(s: &str) -> Query {
        let mut q = Query::default();
        let mut words = Vec::new();
        for w in s.split_whitespace() {
            let lw = w.to_lowercase();
            if let Some(v) = lw
                .strip_prefix("status:")
                .or_else(|| lw.strip_prefix("is:"))
            {
                q.status = (!v.is_empty()).then(|| v.to_string());
            } else if let Some(v) = lw
                .strip_prefix("type:")
                .or_else(|| lw.strip_prefix("kind:"))
            {
                q.kind = (!v.is_empty()).then(|| v.to_string());
            } else {
                words.push(lw);
            }
        }
        q.text = words.join(" ");
        q
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.status.is_none() && self.kind.is_none()
    }
}

/// A sortable value. Missing values sort last in either direction.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum SortKey {
    Int(i64),
    Float(f64),
    Text(String),
    Time(Ts),
    None,
}

/// One sort choice: its header name and whether it sorts descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortCol {
    pub name: &'static str,
    pub desc: bool,
}

pub const fn sc(name: &'static str, desc: bool) -> SortCol {
    SortCol { name, desc }
}

/// How wide a column is: a fixed number of cells, its content's width, or a share of the width
/// left over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    Fixed(u16),
    /// As wide as its widest visible cell (the header included), at least `min` and at most
    /// `max` cells: a name column takes what its names need, and the rest goes to the `Fill`
    /// column that holds the longest useful text (an error, a message).
    Fit(u16, u16),
    Fill(u16),
}

/// One column of a list: its header, its width and the sort choice it offers, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub header: &'static str,
    pub width: Width,
    /// `(n, choice)`: the n-th press of `s` sorts by this column (n is also the `col` that
    /// [`Row::sort_key`] gets; 0 is the list's natural order, which no column offers).
    pub sort: Option<(usize, SortCol)>,
}

/// A column without a sort choice.
pub const fn col(header: &'static str, width: Width) -> Column {
    Column {
        header,
        width,
        sort: None,
    }
}

impl Column {
    /// The column is the `n`-th sort choice, named by its header.
    pub const fn sort(self, n: usize, desc: bool) -> Column {
        self.sort_named(n, self.header, desc)
    }
    /// The column is the `n`-th sort choice, under another name than its header (the header
    /// then shows no sort arrow).
    pub const fn sort_named(mut self, n: usize, name: &'static str, desc: bool) -> Column {
        self.sort = Some((n, sc(name, desc)));
        self
    }
}

/// A list's columns and its natural order (sort choice 0: the order the store returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    pub natural: SortCol,
    pub cols: &'static [Column],
}

impl Columns {
    /// Sort choice `n` (0: the natural order).
    pub fn sort(&self, n: usize) -> Option<SortCol> {
        if n == 0 {
            return Some(self.natural);
        }
        self.cols
            .iter()
            .find_map(|c| c.sort.filter(|&(k, _)| k == n).map(|(_, s)| s))
    }
    /// How many sort choices `s` cycles through (the natural order included).
    pub fn sorts(&self) -> usize {
        1 + self.cols.iter().filter(|c| c.sort.is_some()).count()
    }
}

/// A row the console lists.
pub trait Row {
    type Key: Clone + Eq + Hash + std::fmt::Debug;
    fn key(&self) -> Self::Key;
    /// The keyset position of the row in a newest-first list (None: the list is not paged).
    fn cursor(&self) -> Option<Cursor> {
        None
    }
    /// Whether the row matches the filter (the same fields the store searches).
    fn matches(&self, q: &Query) -> bool;
    /// The value of sort choice `col` (index into the view's sort list; 0 = natural order).
    fn sort_key(&self, col: usize) -> SortKey;
}

/// `needle` (lowercase) in any of `hay`, case-insensitive.
pub fn contains_any(needle: &str, hay: &[&str]) -> bool {
    needle.is_empty() || hay.iter().any(|h| h.to_lowercase().contains(needle))
}

pub fn eq_opt(want: &Option<String>, have: &str) -> bool {
    want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have))
}

#[derive(Debug)]
pub struct Table<T: Row> {
    /// Rows in the order the store returned them (newest first).
    rows: Vec<T>,
    /// Indices into `rows` after filter and sort: what is shown.
    order: Vec<usize>,
    /// The selected row's key and position in `order`.
    sel: Option<T::Key>,
    pos: usize,
    pub marked: HashSet<T::Key>,
    /// The columns (with the sort choices they offer); `sort` is the chosen one (0: natural).
    columns: &'static Columns,
    pub sort: usize,
    query: Query,
    /// More rows exist beyond the last loaded one.
    pub has_more: bool,
    /// When the shown rows were read (None: never loaded).
    pub loaded_at: Option<Ts>,
    /// Render bookkeeping: the first visible row and the rows that fit (written while drawing).
    pub offset: Cell<usize>,
    pub height: Cell<usize>,
}

impl<T: Row> Table<T> {
    pub fn new(columns: &'static Columns) -> Self {
        Table {
            rows: Vec::new(),
            order: Vec::new(),
            sel: None,
            pos: 0,
            marked: HashSet::new(),
            columns,
            sort: 0,
            query: Query::default(),
            has_more: false,
            loaded_at: None,
            offset: Cell::new(0),
            height: Cell::new(10),
        }
    }

    pub fn loaded(&self) -> bool {
        self.loaded_at.is_some()
    }
    /// Rows shown (after the local filter).
    pub fn len(&self) -> usize {
        self.order.len()
    }
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
    /// Rows loaded (before the local filter).
    pub fn loaded_len(&self) -> usize {
        self.rows.len()
    }
    pub fn position(&self) -> usize {
        self.pos
    }
    pub fn query(&self) -> &Query {
        &self.query
    }
    pub fn selected(&self) -> Option<&T> {
        self.order.get(self.pos).map(|&i| &self.rows[i])
    }
    pub fn selected_key(&self) -> Option<&T::Key> {
        self.sel.as_ref()
    }
    pub fn get(&self, key: &T::Key) -> Option<&T> {
        self.rows.iter().find(|r| &r.key() == key)
    }
    /// The shown row at position `i`.
    pub fn nth(&self, i: usize) -> Option<&T> {
        self.order.get(i).map(|&r| &self.rows[r])
    }
    /// Shown rows `from..from+n` with their positions.
    pub fn window(&self, from: usize, n: usize) -> impl Iterator<Item = (usize, &T)> {
        self.order
            .iter()
            .enumerate()
            .skip(from)
            .take(n)
            .map(|(p, &i)| (p, &self.rows[i]))
    }
    /// The cursor of the oldest loaded row: where the next page starts.
    pub fn next_cursor(&self) -> Option<Cursor> {
        self.rows.last().and_then(Row::cursor)
    }
    pub fn sort_col(&self) -> SortCol {
        self.columns.sort(self.sort).unwrap_or(sc("", false))
    }
    /// The list's columns, in the order they are shown.
    pub fn columns(&self) -> &'static [Column] {
        self.columns.cols
    }

    /// Replaces the rows (a refresh of the first page); the selection stays on the same row.
    pub fn set_rows(&mut self, rows: Vec<T>, has_more: bool, at: Ts) {
        self.rows = rows;
        self.has_more = has_more;
        self.loaded_at = Some(at);
        let keys: HashSet<T::Key> = self.rows.iter().map(Row::key).collect();
        self.marked.retain(|k| keys.contains(k));
        self.rebuild();
    }

    /// Appends an older page (rows already shown are skipped).
    pub fn append(&mut self, rows: Vec<T>, has_more: bool) {
        let have: HashSet<T::Key> = self.rows.iter().map(Row::key).collect();
        self.rows
            .extend(rows.into_iter().filter(|r| !have.contains(&r.key())));
        self.has_more = has_more;
        self.rebuild();
    }

    pub fn set_query(&mut self, q: Query) {
        if q != self.query {
            self.query = q;
            self.rebuild();
        }
    }

    /// Next sort choice (wrapping to the natural order).
    pub fn cycle_sort(&mut self) {
        self.sort = (self.sort + 1) % self.columns.sorts();
        self.rebuild();
    }

    fn rebuild(&mut self) {
        let q = &self.query;
        self.order = (0..self.rows.len())
            .filter(|&i| self.rows[i].matches(q))
            .collect();
        if self.sort > 0 {
            let col = self.sort;
            let desc = self.sort_col().desc;
            let rows = &self.rows;
            // stable: ties keep the store's (newest first) order
            self.order
                .sort_by(|&a, &b| cmp_keys(&rows[a].sort_key(col), &rows[b].sort_key(col), desc));
        }
        let found = self
            .sel
            .as_ref()
            .and_then(|k| self.order.iter().position(|&i| &self.rows[i].key() == k));
        match found {
            Some(p) => self.pos = p,
            None => {
                // the row is gone (or nothing was selected): stay at the same place
                self.pos = self.pos.min(self.order.len().saturating_sub(1));
                self.sel = self.selected().map(Row::key);
            }
        }
    }

    fn select_pos(&mut self, p: usize) {
        if self.order.is_empty() {
            self.pos = 0;
            self.sel = None;
            return;
        }
        self.pos = p.min(self.order.len() - 1);
        self.sel = self.selected().map(Row::key);
    }

    /// Moves the selection by `delta` rows; returns true when it now sits on the last loaded
    /// row and more rows exist (the caller fetches the next page).
    pub fn move_by(&mut self, delta: isize) -> bool {
        let p = (self.pos as isize + delta).max(0) as usize;
        self.select_pos(p);
        self.at_end()
    }
    pub fn page(&mut self, down: bool) -> bool {
        let h = self.height.get().max(1) as isize;
        self.move_by(if down { h } else { -h })
    }
    pub fn top(&mut self) {
        self.select_pos(0);
    }
    pub fn bottom(&mut self) -> bool {
        self.select_pos(usize::MAX);
        self.at_end()
    }
    pub fn at_end(&self) -> bool {
        self.has_more && !self.order.is_empty() && self.pos + 1 >= self.order.len()
    }
    pub fn select_key(&mut self, key: &T::Key) {
        if let Some(p) = self.order.iter().position(|&i| &self.rows[i].key() == key) {
            self.select_pos(p);
        }
    }

    /// Where a row is shown (for ordering marked rows); rows not shown sort last.
    pub fn rows_index(&self, key: &T::Key) -> usize {
        self.order
            .iter()
            .position(|&i| &self.rows[i].key() == key)
            .unwrap_or(usize::MAX)
    }

    pub fn toggle_mark(&mut self) {
        if let Some(k) = self.sel.clone()
            && !self.marked.remove(&k)
        {
            self.marked.insert(k);
        }
    }

    /// The first visible row for a viewport of `h` rows, keeping the selection in view.
    pub fn scroll_for(&self, h: usize) -> usize {
        self.height.set(h.max(1));
        let mut off = self.offset.get();
        if self.pos < off {
            off = self.pos;
        } else if h > 0 && self.pos >= off + h {
            off = self.pos + 1 - h;
        }
        off = off.min(self.order.len().saturating_sub(h.max(1)));
        self.offset.set(off);
        off
    }
}

fn cmp_keys(a: &SortKey, b: &SortKey, desc: bool) -> Ordering {
    match (a, b) {
        (SortKey::None, SortKey::None) => Ordering::Equal,
        (SortKey::None, _) => Ordering::Greater,
        (_, SortKey::None) => Ordering::Less,
        _ => {
            let o = a.partial_cmp(b).unwrap_or(Ordering::Equal);
            if desc { o.reverse() } else { o }
        }
    }
}
