//! Sanitising untrusted text. TEMPORARY SHIM on branch `ui` with the signatures of the `infra`
//! module (the lead takes the `infra` version on merge): control characters, escape sequences
//! and bidi controls are removed; widths are display widths.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// One display line: escapes and control characters removed, whitespace runs become one space.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI / OSC / other escape: skip to its end
            match chars.peek() {
                Some('[') => {
                    chars.next();
                    for d in chars.by_ref() {
                        if ('@'..='~').contains(&d) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    chars.next();
                    while let Some(d) = chars.next() {
                        if d == '\u{7}' || (d == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {
                    chars.next();
                }
            }
            continue;
        }
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if c.is_control() || is_bidi(c) {
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

/// `clean`, cut to `max_width` display columns with "…" when cut.
pub fn clean_trunc(s: &str, max_width: usize) -> String {
    let c = clean(s);
    if width(&c) <= max_width {
        return c;
    }
    let mut out = String::new();
    let mut w = 0;
    for ch in c.chars() {
        let cw = ch.width().unwrap_or(0);
        if w + cw + 1 > max_width {
            break;
        }
        w += cw;
        out.push(ch);
    }
    if max_width > 0 {
        out.push('…');
    }
    out
}

/// Up to `max_lines` cleaned lines (each cut to `max_width`).
pub fn clean_lines(s: &str, max_lines: usize, max_width: usize) -> Vec<String> {
    s.lines()
        .take(max_lines)
        .map(|l| clean_trunc(&l.replace('\t', "    "), max_width))
        .collect()
}

pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Exactly `w` display columns: cut (with "…") or padded with spaces.
pub fn fit(s: &str, w: usize) -> String {
    let mut out = if width(s) > w {
        clean_trunc(s, w)
    } else {
        s.to_string()
    };
    let cur = width(&out);
    for _ in cur..w {
        out.push(' ');
    }
    out
}
