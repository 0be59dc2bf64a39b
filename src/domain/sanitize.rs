//! Sanitising untrusted text before it reaches a widget.
//!
//! Everything that comes from the database or an API (workflow names, error messages, JSON
//! payloads, operator notes…) passes through here. The terminal must never receive a control
//! character or an escape sequence it would act on, and what is shown must be what is there:
//!
//! * **Escape sequences are removed entirely**: `ESC [ … final` (CSI, e.g. clear-screen
//!   `ESC[2J`, cursor report `ESC[6n`), `ESC ] … BEL|ST` (OSC: window title, OSC 52 clipboard,
//!   hyperlinks), `ESC P`/`ESC X`/`ESC ^`/`ESC _` strings (DCS, SOS, PM, APC, up to `ST`), the
//!   two-character and `nF` forms (`ESC c`, `ESC ( B`), and their 8-bit C1 introducers
//!   (U+009B CSI, U+009D OSC, U+0090 DCS, U+0098 SOS, U+009E PM, U+009F APC). A sequence cut off
//!   by the end of the input is dropped to the end; a lone `ESC` is dropped.
//! * **Other controls become visible**: C0 controls (NUL, BEL, BS, …) turn into their control
//!   pictures (U+2400 + code, e.g. `␇`, `␈`), DEL into `␡`, the remaining C1 controls
//!   (U+0080–U+009F) into `�`.
//! * **Whitespace is flattened**: TAB → one space; CR, LF, CRLF, U+2028 and U+2029 → one space,
//!   so the carriage-return overwrite trick (`"ok\rFAIL"`) shows as `ok FAIL`.
//! * **Invisible format characters are removed**: bidi embeddings/overrides/isolates
//!   (U+202A–U+202E, U+2066–U+2069), marks (U+200E, U+200F, U+061C), zero-width space/joiners
//!   (U+200B–U+200D, U+2060–U+2064, U+FEFF), interlinear annotations (U+FFF9–U+FFFB) and tag
//!   characters (U+E0000–U+E007F). Dropping ZWJ splits emoji sequences into their parts; that is
//!   deliberate, since terminals disagree about how wide a joined sequence is.
//! * **Input is bounded**: only the first [`SCAN_LIMIT`] bytes are looked at; longer input is
//!   cut there and ends in `…`, so a 1 MB message costs little.
//!
//! Widths are display columns as computed by `unicode-width` ([`width`]); truncation never
//! splits a wide character and marks the cut with `…`.
//!
//! All functions are one pass, allocation-light and regex-free; [`clean_cow`] does not allocate
//! at all for input that is already clean.

use std::borrow::Cow;
use std::ops::ControlFlow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Bytes of input looked at; anything after is cut and replaced by `…`.
pub const SCAN_LIMIT: usize = 64 * 1024;

/// The truncation mark.
pub const ELLIPSIS: char = '…';

/// One display line: escape sequences removed, controls made visible, newlines and tabs
/// flattened to spaces, harmful format characters removed.
pub fn clean(s: &str) -> String {
    clean_cow(s).into_owned()
}

/// Like [`clean`], but borrows when the input is already clean (the common case).
pub fn clean_cow(s: &str) -> Cow<'_, str> {
    if s.len() <= SCAN_LIMIT && s.chars().all(is_plain) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(SCAN_LIMIT) + ELLIPSIS.len_utf8());
    let cut = scan(s, |c| {
        out.push(c);
        ControlFlow::Continue(())
    });
    if cut {
        out.push(ELLIPSIS);
    }
    Cow::Owned(out)
}

/// [`clean`], then truncated to at most `max_width` display columns, ending in `…` when cut.
pub fn clean_trunc(s: &str, max_width: usize) -> String {
    trunc_impl(s, max_width, false)
}

/// Multi-line text (messages, JSON payloads): split on `\n` (a trailing newline does not make an
/// empty last line; a `\r` before the `\n` is dropped), each line cleaned and truncated to
/// `max_width`. With more than `max_lines` lines, the last line returned is
/// `… (N more lines)`; when the input was longer than [`SCAN_LIMIT`] the count only covers the
/// part looked at and reads `… (N+ more lines)`.
pub fn clean_lines(s: &str, max_lines: usize, max_width: usize) -> Vec<String> {
    if max_lines == 0 {
        return Vec::new();
    }
    let cut = s.len() > SCAN_LIMIT;
    let body = if cut {
        &s[..s.floor_char_boundary(SCAN_LIMIT)]
    } else {
        s.strip_suffix('\n').unwrap_or(s)
    };
    let total = body.bytes().filter(|&b| b == b'\n').count() + 1;
    let shown = if total > max_lines {
        max_lines - 1
    } else {
        total
    };
    let mut out: Vec<String> = body
        .split('\n')
        .take(shown)
        .enumerate()
        .map(|(i, line)| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            // The last line of a cut input ends in `…` even if it fits.
            trunc_impl(line, max_width, cut && i + 1 == total)
        })
        .collect();
    if shown < total {
        let more = total - shown;
        let plus = if cut { "+" } else { "" };
        out.push(trunc_impl(
            &format!("{ELLIPSIS} ({more}{plus} more lines)"),
            max_width,
            false,
        ));
    }
    out
}

/// Display width in terminal columns (`unicode-width`). Meant for cleaned text.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Display width of one char in terminal columns (`unicode-width`; 0 for controls).
pub fn width_char(c: char) -> usize {
    char_width(c)
}

/// [`clean_trunc`] to `width`, then padded with spaces to exactly `width` columns. A wide
/// character that would straddle the edge is dropped and replaced by padding, so columns of
/// CJK or emoji text stay aligned.
pub fn fit(s: &str, width: usize) -> String {
    let mut out = clean_trunc(s, width);
    let w = self::width(&out);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    out
}

/// A character that needs no attention: printable and not a removed format character.
#[inline]
fn is_plain(c: char) -> bool {
    match c {
        ' '..='~' => true,
        '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' => false,
        c => !is_removed_format(c),
    }
}

/// Invisible format characters that can reorder or disguise text.
#[inline]
fn is_removed_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

#[inline]
fn char_width(c: char) -> usize {
    UnicodeWidthChar::width(c).unwrap_or(0)
}

fn trunc_impl(s: &str, max_width: usize, force_ellipsis: bool) -> String {
    if max_width == 0 {
        return String::new();
    }
    // Fast path: printable ASCII is one column per byte.
    if s.len() <= SCAN_LIMIT && s.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        if s.len() <= max_width && !force_ellipsis {
            return s.to_owned();
        }
        let keep = s.len().min(max_width - 1);
        let mut out = String::with_capacity(keep + ELLIPSIS.len_utf8());
        out.push_str(&s[..keep]);
        out.push(ELLIPSIS);
        return out;
    }

    let mut out = String::new();
    let mut w = 0;
    let mut over = false;
    let cut = scan(s, |c| {
        let cw = char_width(c);
        if w + cw > max_width {
            over = true;
            return ControlFlow::Break(());
        }
        out.push(c);
        w += cw;
        ControlFlow::Continue(())
    });
    if over || cut || force_ellipsis {
        // Make room for the ellipsis (never splitting a wide character).
        while w + 1 > max_width {
            match out.pop() {
                Some(c) => w -= char_width(c),
                None => break,
            }
        }
        out.push(ELLIPSIS);
    }
    // Per-char widths can differ from the string's width (e.g. a variation selector making a
    // narrow symbol wide); keep the promise `width(result) <= max_width`.
    if width(&out) > max_width {
        if out.ends_with(ELLIPSIS) {
            out.pop();
        }
        while !out.is_empty() && width(&out) + 1 > max_width {
            out.pop();
        }
        out.push(ELLIPSIS);
    }
    out
}

/// The single pass: feeds each output char of the cleaned `s` to `emit` until it breaks.
/// Returns true when the output is incomplete (input cut at [`SCAN_LIMIT`] or `emit` stopped).
fn scan(s: &str, mut emit: impl FnMut(char) -> ControlFlow<()>) -> bool {
    let cut = s.len() > SCAN_LIMIT;
    let s = if cut {
        &s[..s.floor_char_boundary(SCAN_LIMIT)]
    } else {
        s
    };
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        let out = match c {
            ' '..='~' => c,
            '\x1b' => {
                match it.peek() {
                    Some('[') => {
                        it.next();
                        skip_csi(&mut it);
                    }
                    Some(']' | 'P' | 'X' | '^' | '_') => {
                        it.next();
                        skip_string(&mut it);
                    }
                    // nF: intermediates, then one final byte (ESC ( B, ESC # 8).
                    Some(' '..='/') => {
                        while it.next_if(|c| matches!(c, ' '..='/')).is_some() {}
                        it.next_if(|c| matches!(c, '0'..='~'));
                    }
                    // Two-character sequences (ESC c, ESC 7, ESC =, …).
                    Some('0'..='~') => {
                        it.next();
                    }
                    // Lone ESC: dropped; whatever follows is handled on its own.
                    _ => {}
                }
                continue;
            }
            '\u{9b}' => {
                skip_csi(&mut it);
                continue;
            }
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => {
                skip_string(&mut it);
                continue;
            }
            '\r' => {
                it.next_if_eq(&'\n');
                ' '
            }
            '\t' | '\n' | '\u{2028}' | '\u{2029}' => ' ',
            '\0'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'),
            '\u{7f}' => '\u{2421}',
            '\u{80}'..='\u{9f}' => '\u{FFFD}',
            c if is_removed_format(c) => continue,
            c => c,
        };
        if emit(out).is_break() {
            return true;
        }
    }
    cut
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After a CSI introducer: parameter and intermediate bytes, then one final byte. Anything else
/// (a control, non-ASCII, the end) ends the sequence and is left for the caller.
fn skip_csi(it: &mut Chars<'_>) {
    while it.next_if(|c| matches!(c, ' '..='?')).is_some() {}
    it.next_if(|c| matches!(c, '@'..='~'));
}

/// After an OSC/DCS/SOS/PM/APC introducer: everything up to and including BEL, `ESC \` or
/// U+009C. Another ESC ends the string and is left for the caller (as a terminal would).
fn skip_string(it: &mut Chars<'_>) {
    while let Some(&c) = it.peek() {
        match c {
            '\x07' | '\u{9c}' => {
                it.next();
                return;
            }
            '\x1b' => {
                let mut ahead = it.clone();
                ahead.next();
                if ahead.peek() == Some(&'\\') {
                    it.next();
                    it.next();
                }
                return;
            }
            _ => {
                it.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(clean_cow("hello, wörld 日本"), Cow::Borrowed(_)));
        assert_eq!(clean("plain"), "plain");
    }

    #[test]
    fn csi_clear_screen_removed() {
        assert_eq!(clean("a\x1b[2Jb"), "ab");
        assert_eq!(clean("\x1b[1;31mred\x1b[0m"), "red");
    }

    #[test]
    fn csi_cursor_report_request_removed() {
        assert_eq!(clean("x\x1b[6ny"), "xy");
        assert_eq!(clean("\x1b[?1049h\x1b[?25l!"), "!");
    }

    #[test]
    fn osc_set_title_removed() {
        assert_eq!(clean("a\x1b]0;pwned\x07b"), "ab");
        assert_eq!(clean("a\x1b]2;pwned\x1b\\b"), "ab");
        assert_eq!(clean("a\u{9d}0;pwned\u{9c}b"), "ab");
    }

    #[test]
    fn osc52_clipboard_removed() {
        assert_eq!(clean("copy\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07me"), "copyme");
    }

    #[test]
    fn osc8_hyperlink_keeps_text() {
        let s = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\";
        assert_eq!(clean(s), "click");
    }

    #[test]
    fn dcs_apc_pm_sos_removed() {
        assert_eq!(clean("a\x1bP1$qm\x1b\\b"), "ab");
        assert_eq!(
            clean("a\x1b_apc\x1b\\b\x1b^pm\x1b\\c\x1bXsos\x1b\\d"),
            "abcd"
        );
        assert_eq!(clean("a\u{90}dcs\u{9c}b"), "ab");
    }

    #[test]
    fn two_char_and_nf_escapes_removed() {
        assert_eq!(clean("a\x1bcb\x1b7c\x1b(Bd\x1b#8e"), "abcde");
    }

    #[test]
    fn bel_becomes_visible() {
        assert_eq!(clean("ding\x07"), "ding\u{2407}");
    }

    #[test]
    fn cr_overwrite_trick_is_visible() {
        assert_eq!(clean("ok\rFAIL"), "ok FAIL");
        assert_eq!(clean("a\r\nb\nc"), "a b c");
    }

    #[test]
    fn backspace_nul_del_become_visible() {
        assert_eq!(clean("ok\x08\x08NO"), "ok\u{2408}\u{2408}NO");
        assert_eq!(clean("a\0b\x7f"), "a\u{2400}b\u{2421}");
    }

    #[test]
    fn tab_becomes_space() {
        assert_eq!(clean("a\tb"), "a b");
    }

    #[test]
    fn c1_csi_removed_and_other_c1_visible() {
        assert_eq!(clean("a\u{9b}2Jb"), "ab");
        assert_eq!(clean("a\u{85}b\u{9c}"), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn bidi_and_zero_width_removed() {
        assert_eq!(clean("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(
            clean("\u{2066}a\u{2069}\u{200E}b\u{200F}\u{061C}c\u{200B}d\u{FEFF}"),
            "abcd"
        );
        assert_eq!(clean("x\u{E0041}\u{E0042}y"), "xy");
    }

    #[test]
    fn truncated_escape_at_end_dropped() {
        assert_eq!(clean("ok\x1b"), "ok");
        assert_eq!(clean("ok\x1b["), "ok");
        assert_eq!(clean("ok\x1b[12;3"), "ok");
        assert_eq!(clean("ok\x1b]0;half a title"), "ok");
        assert_eq!(clean("ok\u{9b}"), "ok");
    }

    #[test]
    fn csi_interrupted_by_control_keeps_the_control_visible() {
        assert_eq!(clean("a\x1b[2\x08Jb"), "a\u{2408}Jb");
    }

    #[test]
    fn huge_input_is_bounded() {
        let big = "A".repeat(1 << 20);
        let t = std::time::Instant::now();
        let c = clean(&big);
        assert_eq!(c.len(), SCAN_LIMIT + ELLIPSIS.len_utf8());
        assert!(c.ends_with(ELLIPSIS));
        assert_eq!(clean_trunc(&big, 10), "AAAAAAAAA…");
        let hostile = "\x1b[2J\u{202E}é".repeat(1 << 17); // ~1 MB, never clean
        assert!(clean(&hostile).ends_with(ELLIPSIS));
        assert_eq!(clean_trunc(&hostile, 3), "éé…");
        assert_eq!(
            clean_lines(&"line\n".repeat(1 << 18), 2, 30),
            ["line", "… (13107+ more lines)"]
        );
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn truncation_marks_cut() {
        assert_eq!(clean_trunc("hello", 5), "hello");
        assert_eq!(clean_trunc("hello!", 5), "hell…");
        assert_eq!(clean_trunc("hello", 1), "…");
        assert_eq!(clean_trunc("hello", 0), "");
        assert_eq!(clean_trunc("h\x1b[2Jello\x07", 6), "hello\u{2407}");
        assert_eq!(clean_trunc("h\x1b[2Jello\x07", 5), "hell…");
    }

    #[test]
    fn fit_keeps_wide_chars_aligned() {
        assert_eq!(fit("日本語", 6), "日本語");
        assert_eq!(fit("日本語", 5), "日本…");
        assert_eq!(fit("日本語", 4), "日… ");
        assert_eq!(fit("日本語", 7), "日本語 ");
        assert_eq!(fit("🚀go", 3), "🚀…");
        assert_eq!(fit("ab", 0), "");
        for w in 0..12 {
            for s in [
                "日本語テキスト",
                "a日b本c",
                "🚀🔥✅",
                "e\u{301}te\u{301}",
                "❤\u{FE0F}x",
            ] {
                assert_eq!(width(&fit(s, w)), w, "{s:?} at {w}");
            }
        }
    }

    #[test]
    fn lines_split_and_summarised() {
        let text = "{\n\t\"a\": 1,\r\n  \"b\": \"\x1b[31mred\"\n}\n";
        assert_eq!(
            clean_lines(text, 10, 40),
            ["{", " \"a\": 1,", "  \"b\": \"red\"", "}"]
        );
        assert_eq!(
            clean_lines(text, 3, 40),
            ["{", " \"a\": 1,", "… (2 more lines)"]
        );
        assert_eq!(clean_lines(text, 2, 5), ["{", "… (3…"]);
        assert!(clean_lines(text, 0, 40).is_empty());
        assert_eq!(clean_lines("", 3, 10), [""]);
    }
}
