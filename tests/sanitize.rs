//! Sanitiser invariants over random hostile input: whatever goes in, nothing the terminal would
//! act on comes out, and `fit` always fills exactly its width.

use opsdeck::domain::sanitize::{clean, clean_lines, clean_trunc, fit, width};

/// Pieces an attacker (or a broken upstream) might send.
const PIECES: &[&str] = &[
    "\x1b",
    "[",
    "]",
    "\\",
    "P",
    "0;",
    "52;c;",
    "2J",
    "6n",
    "\x07",
    "\x08",
    "\r",
    "\n",
    "\t",
    "\0",
    "\x7f",
    "\u{9b}",
    "\u{9c}",
    "\u{9d}",
    "\u{90}",
    "\u{85}",
    "\u{202E}",
    "\u{2066}",
    "\u{200F}",
    "\u{200D}",
    "\u{FEFF}",
    "\u{E0041}",
    "\u{301}",
    "\u{FE0F}",
    "日本",
    "🚀",
    "❤",
    "a",
    "ok ",
    "é",
    "\u{2028}",
];

/// A tiny xorshift so the test needs no extra dependency and is reproducible.
fn rng(seed: &mut u64) -> usize {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed as usize
}

fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{FEFF}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

#[test]
fn random_hostile_input_comes_out_inert() {
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        let n = rng(&mut seed) % 24;
        let s: String = (0..n)
            .map(|_| PIECES[rng(&mut seed) % PIECES.len()])
            .collect();
        let w = rng(&mut seed) % 14;
        let c = clean(&s);
        assert!(!c.chars().any(is_dangerous), "clean({s:?}) = {c:?}");
        let t = clean_trunc(&s, w);
        assert!(!t.chars().any(is_dangerous), "clean_trunc({s:?}) = {t:?}");
        assert!(width(&t) <= w, "clean_trunc({s:?}, {w}) = {t:?}");
        let f = fit(&s, w);
        assert_eq!(width(&f), w, "fit({s:?}, {w}) = {f:?}");
        assert!(!f.chars().any(is_dangerous));
        for line in clean_lines(&s, 3, w) {
            assert!(
                !line.chars().any(is_dangerous),
                "clean_lines({s:?}) has {line:?}"
            );
            assert!(width(&line) <= w, "clean_lines({s:?}, {w}) has {line:?}");
        }
    }
}

#[test]
fn one_megabyte_message_is_cheap() {
    let msg = "error: \x1b[31mboom\x1b[0m\n".repeat(50_000); // ~1.2 MB
    let start = std::time::Instant::now();
    for _ in 0..100 {
        assert_eq!(fit(&msg, 20), "error: boom error: …");
        assert_eq!(clean_lines(&msg, 2, 40)[0], "error: boom");
    }
    // Bounded work: 100 rounds over the first 64 KiB, not the whole megabyte.
    assert!(start.elapsed().as_secs_f64() < 2.0, "{:?}", start.elapsed());
}
