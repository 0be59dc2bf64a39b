//! Fast drawing straight into the frame's buffer: the list table (header and the visible rows,
//! with [`ListCell`]s the views format) and plain lines. Each draws exactly the cells ratatui's
//! `Table` / `Paragraph` would (the tests below compare them), without their per-cell overhead.

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::widgets::{block, pad, status_style};
use crate::domain::sanitize;
use crate::state::table::{Column, Row, Table, Width};
use crate::theme::Theme;

/// A column width as ratatui's layout constraint.
pub fn constraint(w: Width) -> Constraint {
    match w {
        Width::Fixed(n) => Constraint::Length(n),
        // without the rows to measure: its widest
        Width::Fit(_, max) => Constraint::Length(max),
        Width::Fill(n) => Constraint::Fill(n),
    }
}

/// The columns' constraints for these rows in `width` cells: a `Fit` column as wide as its
/// widest cell or header, within its bounds; when that would leave the `Fill` columns (the
/// errors, the messages) less than a third of the room, the `Fit` columns give back towards
/// their minimum, in proportion.
pub fn fitted(columns: &[Column], rows: &[&[ListCell]], width: u16) -> Vec<Constraint> {
    let want: Vec<Option<(u16, u16)>> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| match c.width {
            Width::Fit(min, max) => {
                let widest = rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|cell| sanitize::width(cell.text.lines().next().unwrap_or("")))
                    .chain(std::iter::once(sanitize::width(c.header) + 1))
                    .max()
                    .unwrap_or(0);
                Some((min, (widest.min(u16::MAX as usize) as u16).clamp(min, max)))
            }
            _ => None,
        })
        .collect();
    let fixed: u16 = columns
        .iter()
        .map(|c| match c.width {
            Width::Fixed(n) => n,
            _ => 0,
        })
        .sum();
    let room = width
        .saturating_sub(columns.len().saturating_sub(1) as u16)
        .saturating_sub(fixed);
    let fills = columns.iter().any(|c| matches!(c.width, Width::Fill(_)));
    let budget = if fills {
        room.saturating_sub((room / 3).max(16))
    } else {
        room
    };
    let (mins, wants): (u32, u32) = want
        .iter()
        .flatten()
        .fold((0, 0), |(a, b), (m, w)| (a + *m as u32, b + *w as u32));
    // the share of each Fit column's extra (above its minimum) that fits the budget
    let (num, den) = if wants <= budget as u32 || wants == mins {
        (1, 1)
    } else {
        ((budget as u32).saturating_sub(mins), wants - mins)
    };
    columns
        .iter()
        .zip(&want)
        .map(|(c, w)| match w {
            Some((min, want)) => {
                Constraint::Length(min + ((*want - min) as u32 * num / den) as u16)
            }
            None => constraint(c.width),
        })
        .collect()
}

/// One cell of a list row: its text (one line; formatted and sanitised by the view) and style.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListCell {
    text: Cow<'static, str>,
    style: Style,
}

impl<T: Into<Cow<'static, str>>> From<T> for ListCell {
    fn from(text: T) -> Self {
        ListCell {
            text: text.into(),
            style: Style::default(),
        }
    }
}

impl ListCell {
    pub fn style(mut self, style: impl Into<Style>) -> Self {
        self.style = style.into();
        self
    }
}

/// A status cell: the sanitised word in its style.
pub fn status_cell(t: &Theme, status: &str) -> ListCell {
    ListCell::from(sanitize::clean_trunc(status, 24)).style(status_style(t, status))
}

/// Draws a list: header, then only the rows that fit (formatted here, nothing else is). The
/// header and widths are `columns`' (the list's columns, or the first of them on narrow screens).
///
/// The output is what ratatui's `Table` (column spacing 1, `Flex::Start`, no selection column)
/// draws for the same rows, cell by cell, but without its per-frame overhead: `Table` styles
/// every cell of its area five times (table, row, cell, text and line style, four of them the
/// empty style here) and builds a `Text` per cell; here the row style is set once per row, a
/// cell's style only when it has one, and the cell text is rendered as the single span it is.
#[allow(clippy::too_many_arguments)]
pub fn draw_list<T: Row>(
    f: &mut Frame,
    area: Rect,
    th: &Theme,
    title: String,
    table: &Table<T>,
    columns: &[Column],
    empty: &str,
    mut row: impl FnMut(&T) -> Vec<ListCell>,
) {
    let blk = block(th, title, true);
    let inner = blk.inner(area);
    f.render_widget(blk, area);
    if table.is_empty() {
        let msg = if !table.loaded() { "loading…" } else { empty };
        f.render_widget(Paragraph::new(Line::styled(msg, th.dim)), pad(inner));
        return;
    }
    let h = inner.height.saturating_sub(1) as usize;
    let off = table.scroll_for(h);
    let sel = table.position();
    let buf = f.buffer_mut();
    let inner = inner.intersection(buf.area);
    if inner.is_empty() {
        return;
    }
    // the visible rows, formatted once: their cells size the `Fit` columns, then are drawn
    let visible: Vec<(usize, &T, Vec<ListCell>)> =
        table.window(off, h).map(|(p, r)| (p, r, row(r))).collect();
    let cells: Vec<&[ListCell]> = visible.iter().map(|(_, _, c)| c.as_slice()).collect();
    let widths = fitted(columns, &cells, inner.width);
    let cols = column_areas(inner, &widths);
    // header: one line in the header style
    let head = Rect { height: 1, ..inner };
    set_style(buf, head, th.header);
    let sort_name = (table.sort > 0).then(|| table.sort_col());
    for (col, h) in cols.iter().zip(columns.iter().map(|c| c.header)) {
        let text: Cow<str> = match sort_name {
            Some(sc) if sc.name.eq_ignore_ascii_case(h) => {
                format!("{h}{}", if sc.desc { "▼" } else { "▲" }).into()
            }
            _ => Cow::Borrowed(h),
        };
        cell_text(buf, col.offset(inner.x, head.y), &text);
    }
    // the rows that fit below it
    let mut y = inner.y + 1;
    for (p, r, cells) in &visible {
        if y >= inner.bottom() {
            break;
        }
        let mut style = th.base;
        if table.marked.contains(&r.key()) {
            style = style.patch(th.marked);
        }
        if *p == sel {
            style = style.patch(th.selected);
        }
        draw_row(buf, inner, y, &cols, style, cells);
        y += 1;
    }
    if table.has_more && off + h >= table.len() && y < inner.bottom() {
        let more = [ListCell::from("… more below (loading on scroll)")];
        draw_row(buf, inner, y, &cols, th.dim, &more);
    }
}

/// A column's x offset (from the table's left edge) and width.
#[derive(Debug, Clone, Copy)]
struct Col {
    x: u16,
    width: u16,
}

impl Col {
    fn offset(self, left: u16, y: u16) -> Rect {
        Rect::new(left + self.x, y, self.width, 1)
    }
}

/// The columns of a table `area.width` wide: the same layout ratatui's `Table` computes
/// (`Flex::Start`, spacing 1; the layout cache makes it cheap after the first frame).
fn column_areas(area: Rect, widths: &[Constraint]) -> Vec<Col> {
    Layout::horizontal(widths.iter().copied())
        .flex(Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, area.width, 1))
        .iter()
        .map(|r| Col {
            x: r.x,
            width: r.width,
        })
        .collect()
}

/// One table row at `y`: the row style across the table's width, then each cell.
fn draw_row(buf: &mut Buffer, area: Rect, y: u16, cols: &[Col], style: Style, cells: &[ListCell]) {
    set_style(
        buf,
        Rect {
            y,
            height: 1,
            ..area
        },
        style,
    );
    for (col, cell) in cols.iter().zip(cells) {
        let r = col.offset(area.x, y);
        set_style(buf, r, cell.style);
        cell_text(buf, r, &cell.text);
    }
}

/// A cell's text as ratatui renders an unstyled one-line `Text` into `r`: its first line,
/// cut at the cell's right edge (a wide character that does not fit is left out).
fn cell_text(buf: &mut Buffer, r: Rect, text: &str) {
    let line = text.lines().next().unwrap_or("");
    let r = r.intersection(buf.area);
    if r.is_empty() || line.is_empty() {
        return;
    }
    let ascii = line.bytes().all(|b| (b' '..=b'~').contains(&b));
    if ascii || line.chars().all(one_cell_grapheme) {
        // Every char is a grapheme of its own, one column wide (most cells): this is exactly
        // what `Span::render` does, without segmenting graphemes or measuring widths.
        let start = buf.index_of(r.x, r.y);
        let cells = &mut buf.content[start..start + r.width as usize];
        if ascii {
            for (i, c) in cells.iter_mut().take(line.len()).enumerate() {
                c.set_symbol(&line[i..=i]);
            }
        } else {
            for (c, (i, ch)) in cells.iter_mut().zip(line.char_indices()) {
                c.set_symbol(&line[i..i + ch.len_utf8()]);
            }
        }
        return;
    }
    // `Line` draws nothing for a line of width 0 (not even its zero-width characters)
    if sanitize::width(line) == 0 {
        return;
    }
    Span::raw(line).render(r, buf);
}

/// A char that is always a grapheme cluster of its own and one column wide: printable ASCII
/// and the Latin, punctuation, currency, arrow, box-drawing, block and shape characters the
/// views draw (`·`, `—`, `…`, `€`, `█`, `░`, `▶`, `●`, `▲`…). None of these ranges holds a
/// combining mark, joiner, prepend or control character (U+00AD, a format character, is left
/// out), so no char can join its neighbour into one grapheme.
fn one_cell_grapheme(c: char) -> bool {
    matches!(
        c,
        ' '..='~'
            | '\u{a0}'..='\u{ac}'
            | '\u{ae}'..='\u{24f}'
            | '\u{2010}'..='\u{2027}'
            | '\u{2030}'..='\u{205e}'
            | '\u{20a0}'..='\u{20c0}'
            | '\u{2190}'..='\u{21ff}'
            | '\u{2500}'..='\u{25ff}'
    ) && sanitize::width_char(c) == 1
}

/// Lines of text, one per row of `area`, exactly as `Paragraph::new(lines)` (no wrap, no
/// scroll, no block) draws them: each line cut at the area's width. Lines whose chars are all
/// one-column graphemes (nearly all) are written directly; any other line is drawn by a
/// one-line `Paragraph` in its row (the lines of an unwrapped paragraph do not affect each
/// other). `Paragraph` itself first styles its whole area with its (empty) style and
/// segments every line into graphemes.
pub fn draw_lines(f: &mut Frame, area: Rect, lines: &[Line]) {
    let buf = f.buffer_mut();
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    for (line, y) in lines.iter().zip(area.top()..area.bottom()) {
        let simple = line
            .alignment
            .is_none_or(|a| a == ratatui::layout::Alignment::Left)
            && line
                .spans
                .iter()
                .all(|s| s.content.chars().all(one_cell_grapheme));
        if !simple {
            let row = Rect {
                y,
                height: 1,
                ..area
            };
            Paragraph::new(line.clone()).render(row, buf);
            mark_cut(buf, row, line);
            continue;
        }
        let start = buf.index_of(area.x, y);
        let width = area.width as usize;
        let mut cells = buf.content[start..start + width].iter_mut();
        let mut cut = false;
        'line: for span in &line.spans {
            let style = line.style.patch(span.style);
            for (i, ch) in span.content.char_indices() {
                let Some(c) = cells.next() else {
                    // more text than the row holds: say so (never a silently cut word)
                    cut = !ch.is_whitespace();
                    break 'line;
                };
                c.set_symbol(&span.content[i..i + ch.len_utf8()])
                    .set_style(style);
            }
        }
        if cut {
            buf.content[start + width - 1].set_symbol("…");
        }
    }
}

/// A left-aligned line with more text than its row holds ends in `…` (the first character
/// that did not fit is not a space): never a silently cut word. The fast path does the same.
pub fn mark_cut(buf: &mut Buffer, row: Rect, line: &Line) {
    if row.width == 0
        || line
            .alignment
            .is_some_and(|a| a != ratatui::layout::Alignment::Left)
    {
        return;
    }
    let mut used = 0usize;
    for ch in line.spans.iter().flat_map(|s| s.content.chars()) {
        let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if used + w > row.width as usize {
            if !ch.is_whitespace() {
                buf[(row.right() - 1, row.y)].set_symbol("…");
            }
            return;
        }
        used += w;
    }
}

/// `Buffer::set_style` (same result), a row slice at a time: no per-cell bounds check, and
/// nothing to do for the empty style.
pub fn set_style(buf: &mut Buffer, area: Rect, style: Style) {
    let area = buf.area.intersection(area);
    if area.is_empty() || style == Style::default() {
        return;
    }
    for y in area.top()..area.bottom() {
        let start = buf.index_of(area.x, y);
        for c in &mut buf.content[start..start + area.width as usize] {
            c.set_style(style);
        }
    }
}

#[cfg(test)]
mod tests {
    use ratatui::style::{Color, Modifier};
    use ratatui::widgets::{Cell as TCell, Row as TRow, Table as TTable};

    use super::*;

    /// Texts that take every path of `cell_text`: ASCII, one-cell symbols, wide, combining,
    /// zero-width, emoji, empty, multi-line, and longer than any column.
    const TEXTS: &[&str] = &[
        "plain ascii text",
        "",
        " ",
        "a · b — c… €1,234.50",
        "██████░░░░ 60%",
        "▶ active",
        "⏸ paused",
        "‼ critical",
        "日本語のワークフロー名前",
        "ab日本",
        "e\u{301}te\u{301}",
        "\u{301}",
        "👍🏽 ok 👨‍👩‍👧",
        "ｱﾞｲﾟ halfwidth",
        "two\nlines",
        "tab\there",
        "a very long cell text that is wider than every column of the table, by far, really",
    ];

    /// The list table drawn here must be exactly what ratatui's `Table` draws for the same
    /// header, rows, widths and styles (text and styles of every cell).
    #[test]
    fn rows_match_ratatui_table() {
        let widths = [
            Constraint::Length(3),
            Constraint::Fill(2),
            Constraint::Length(7),
            Constraint::Fill(1),
            Constraint::Length(1),
        ];
        let header = ["a", "second", "third▼", "日本", "e"];
        let head_style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
        let row_style = Style::new().fg(Color::Gray).bg(Color::Black);
        let cell_style = Style::new().fg(Color::Red).remove_modifier(Modifier::BOLD);
        for width in [5u16, 17, 40, 80] {
            for (k, start) in (0..TEXTS.len()).step_by(3).enumerate() {
                let rows: Vec<Vec<(&str, Style)>> = (0..4)
                    .map(|r| {
                        (0..widths.len())
                            .map(|c| {
                                let t = TEXTS[(start + r * 5 + c) % TEXTS.len()];
                                let s = if (r + c + k) % 3 == 0 {
                                    cell_style
                                } else {
                                    Style::default()
                                };
                                (t, s)
                            })
                            .collect()
                    })
                    .collect();
                let area = Rect::new(2, 1, width, 4);
                let full = Rect::new(0, 0, width + 4, 6);
                let mut want = Buffer::empty(full);
                let table = TTable::new(
                    rows.iter().map(|r| {
                        TRow::new(
                            r.iter()
                                .map(|(t, s)| TCell::from(t.to_string()).style(*s))
                                .collect::<Vec<_>>(),
                        )
                        .style(row_style)
                    }),
                    widths,
                )
                .header(TRow::new(header.iter().map(|h| TCell::from(*h))).style(head_style))
                .column_spacing(1);
                Widget::render(table, area, &mut want);

                let mut got = Buffer::empty(full);
                let cols = column_areas(area, &widths);
                set_style(&mut got, Rect { height: 1, ..area }, head_style);
                for (col, h) in cols.iter().zip(header) {
                    cell_text(&mut got, col.offset(area.x, area.y), h);
                }
                for (i, r) in rows.iter().take(area.height as usize - 1).enumerate() {
                    let cells: Vec<ListCell> = r
                        .iter()
                        .map(|(t, s)| ListCell::from(t.to_string()).style(*s))
                        .collect();
                    draw_row(
                        &mut got,
                        area,
                        area.y + 1 + i as u16,
                        &cols,
                        row_style,
                        &cells,
                    );
                }
                assert_eq!(got, want, "width {width}, texts from {start}");
            }
        }
    }

    /// `draw_lines` must draw exactly what an unwrapped `Paragraph` draws, with the `…` both
    /// put on a cut line.
    #[test]
    fn lines_match_ratatui_paragraph() {
        use ratatui::Terminal;
        use ratatui::backend::TestBackend;
        use ratatui::layout::Alignment;

        let styles = [
            Style::default(),
            Style::new().fg(Color::Yellow),
            Style::new().bg(Color::Blue).add_modifier(Modifier::BOLD),
        ];
        let lines: Vec<Line> = (0..TEXTS.len() * 2)
            .map(|i| {
                let t = TEXTS[i % TEXTS.len()];
                let u = TEXTS[(i * 7 + 3) % TEXTS.len()];
                let line = Line::from(vec![
                    Span::styled(t.to_string(), styles[i % 3]),
                    Span::raw(" · "),
                    Span::styled(u.to_string(), styles[(i + 1) % 3]),
                ])
                .style(styles[(i + 2) % 3]);
                match i % 7 {
                    5 => line.alignment(Alignment::Right),
                    6 => line.alignment(Alignment::Left),
                    _ => line,
                }
            })
            .collect();
        for width in [1u16, 6, 23, 70] {
            let area = Rect::new(1, 1, width, lines.len() as u16 - 3);
            let mut t = Terminal::new(TestBackend::new(width + 3, lines.len() as u16)).unwrap();
            let want = t
                .draw(|f| {
                    f.render_widget(Paragraph::new(lines.clone()), area);
                    // with the same "…" on a cut line (both paths mark it)
                    for (line, y) in lines.iter().zip(area.top()..area.bottom()) {
                        let row = Rect {
                            y,
                            height: 1,
                            ..area
                        };
                        mark_cut(f.buffer_mut(), row, line);
                    }
                })
                .unwrap()
                .buffer
                .clone();
            let mut t = Terminal::new(TestBackend::new(width + 3, lines.len() as u16)).unwrap();
            let got = t
                .draw(|f| draw_lines(f, area, &lines))
                .unwrap()
                .buffer
                .clone();
            assert_eq!(got, want, "width {width}");
        }
    }

    #[test]
    fn set_style_matches_buffer_set_style() {
        let full = Rect::new(0, 0, 12, 5);
        for style in [
            Style::default(),
            Style::new().fg(Color::Red),
            Style::new()
                .bg(Color::Blue)
                .add_modifier(Modifier::REVERSED),
            Style::new().remove_modifier(Modifier::BOLD),
        ] {
            for area in [
                Rect::new(0, 0, 12, 5),
                Rect::new(3, 1, 20, 2),
                Rect::new(11, 4, 0, 3),
            ] {
                let mut want = Buffer::empty(full);
                want.set_style(full, Style::new().add_modifier(Modifier::BOLD));
                let mut got = want.clone();
                want.set_style(area, style);
                set_style(&mut got, area, style);
                assert_eq!(got, want);
            }
        }
    }
}
