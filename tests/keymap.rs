//! Key bindings: the embedded defaults, user overrides, errors, lookup and help.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use opsdeck::keymap::{KeyAction, KeySpec, Keymap, Section};

fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

fn ch(c: char) -> KeyEvent {
    ev(KeyCode::Char(c), KeyModifiers::NONE)
}

#[test]
fn defaults_parse_without_clash() {
    let map = Keymap::default_map();
    for &scope in Section::all() {
        // help() lists each action once; no key appears twice within a scope's own bindings.
        let help = map.help(scope);
        let mut actions: Vec<KeyAction> = help.iter().map(|(_, a)| *a).collect();
        actions.dedup();
        assert_eq!(actions.len(), help.len(), "{scope:?}");
    }
    // Every non-mutating action (and broadcast) has a global key; stepping through pending
    // requests is the Approvals view's own (n / p).
    for &a in KeyAction::all() {
        if matches!(a, KeyAction::NextPending | KeyAction::PrevPending) {
            assert!(
                !map.keys_for(Section::Approvals, a).is_empty(),
                "{a:?} unbound"
            );
            continue;
        }
        if !a.is_mutating() || a == KeyAction::Broadcast {
            assert!(
                !map.keys_for(Section::Global, a).is_empty(),
                "{a:?} unbound"
            );
        }
    }
}

#[test]
fn defaults_views_do_not_shadow_global_keys() {
    let map = Keymap::default_map();
    for &scope in &Section::all()[1..] {
        for &a in KeyAction::all() {
            let global = map.keys_for(Section::Global, a);
            let here = map.keys_for(scope, a);
            for k in &global {
                assert!(
                    here.contains(k),
                    "{k} ({a:?}) shadowed in [{}]",
                    scope.name()
                );
            }
        }
    }
}

#[test]
fn default_mutating_keys_are_deliberate() {
    // Shifted letters, not the shifted form of a global letter, not next to j/k/g.
    let map = Keymap::default_map();
    let global_letters: Vec<char> = KeyAction::all()
        .iter()
        .flat_map(|&a| map.keys_for(Section::Global, a))
        .filter_map(|k| (k.chars().count() == 1).then(|| k.chars().next().unwrap()))
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    for &scope in &Section::all()[1..] {
        for &a in KeyAction::all().iter().filter(|a| a.is_mutating()) {
            for k in map.keys_for(scope, a) {
                if a == KeyAction::Broadcast {
                    assert_eq!(k, "b"); // only opens the compose screen
                    continue;
                }
                let c = k.chars().next().unwrap();
                assert!(k.len() == 1 && c.is_ascii_uppercase(), "{a:?} on {k}");
                assert!(!global_letters.contains(&c), "{a:?} on {k} = shift+global");
                assert!(!"FHTYVBUINMLOGJK".contains(c), "{a:?} on {k} near j/k/g");
            }
        }
    }
}

#[test]
fn default_table() {
    let map = Keymap::default_map();
    let keys = |s, a| map.keys_for(s, a);
    assert_eq!(keys(Section::Global, KeyAction::Quit), ["q", "ctrl-c"]);
    assert_eq!(keys(Section::Global, KeyAction::PrevView), ["shift-tab"]);
    assert_eq!(keys(Section::Global, KeyAction::Mark), ["space"]);
    assert_eq!(keys(Section::Global, KeyAction::Bottom), ["end", "G"]);
    assert_eq!(keys(Section::Workflows, KeyAction::Pause), ["P"]);
    assert_eq!(keys(Section::Queue, KeyAction::RetryFiltered), ["A"]);
    assert_eq!(keys(Section::Approvals, KeyAction::Reject), ["X"]);
    assert!(keys(Section::Overview, KeyAction::Pause).is_empty());
    // A view sees the global keys too.
    assert_eq!(keys(Section::Queue, KeyAction::Quit), ["q", "ctrl-c"]);
}

#[test]
fn override_replaces_one_binding() {
    let base = Keymap::default_map();
    let map = base
        .with_overrides("[workflows]\npause = \"ctrl-p\"\n", "user.toml")
        .unwrap();
    assert_eq!(
        map.keys_for(Section::Workflows, KeyAction::Pause),
        ["ctrl-p"]
    );
    assert_eq!(
        map.lookup(
            Section::Workflows,
            &ev(KeyCode::Char('p'), KeyModifiers::CONTROL)
        ),
        Some(KeyAction::Pause)
    );
    assert_eq!(map.lookup(Section::Workflows, &ch('P')), None);
    assert_eq!(map.keys_for(Section::Workflows, KeyAction::Resume), ["R"]);
    assert_eq!(
        map.keys_for(Section::Global, KeyAction::Quit),
        ["q", "ctrl-c"]
    );
    // An empty list unbinds.
    let map = base
        .with_overrides("[global]\nbroadcast = []\n", "u")
        .unwrap();
    assert_eq!(map.lookup(Section::Overview, &ch('b')), None);
    // In a view section, an empty list switches the action off in that view only.
    let map = base
        .with_overrides("[approvals]\nbroadcast = []\n", "u")
        .unwrap();
    assert_eq!(map.lookup(Section::Approvals, &ch('b')), None);
    assert!(
        map.keys_for(Section::Approvals, KeyAction::Broadcast)
            .is_empty()
    );
    assert!(
        map.help(Section::Approvals)
            .iter()
            .all(|(_, a)| *a != KeyAction::Broadcast)
    );
    assert_eq!(
        map.lookup(Section::Queue, &ch('b')),
        Some(KeyAction::Broadcast)
    );
}

#[test]
fn load_missing_user_file_gives_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let map = Keymap::load(Some(&dir.path().join("nope.toml"))).unwrap();
    assert_eq!(map.lookup(Section::Global, &ch('q')), Some(KeyAction::Quit));
    let p = dir.path().join("keymap.toml");
    std::fs::write(&p, "[global]\nquit = \"Q\"\n").unwrap();
    let map = Keymap::load(Some(&p)).unwrap();
    assert_eq!(map.lookup(Section::Global, &ch('q')), None);
    assert_eq!(map.lookup(Section::Global, &ch('Q')), Some(KeyAction::Quit));
    std::fs::write(&p, "[global]\n\nquit = \"hyper-q\"\n").unwrap();
    let e = Keymap::load(Some(&p)).unwrap_err();
    assert_eq!(e.path, p.display().to_string());
    assert_eq!(e.line, 3);
}

#[test]
fn unknown_action_error() {
    let e = Keymap::default_map()
        .with_overrides("[queue]\nretry = \"R\"\nexplode = \"E\"\n", "u.toml")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "u.toml:3: unknown action \"explode\" in [queue]"
    );
}

#[test]
fn unknown_section_error() {
    let e = Keymap::default_map()
        .with_overrides("# x\n[kitchen]\nquit = \"q\"\n", "u.toml")
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("u.toml:2: unknown section [kitchen]"),
        "{e}"
    );
    let e = Keymap::default_map()
        .with_overrides("quit = \"q\"\n", "u.toml")
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("u.toml:1: \"quit\" must be a section"),
        "{e}"
    );
}

#[test]
fn malformed_key_error() {
    let e = Keymap::default_map()
        .with_overrides(
            "[global]\nhelp = \"?\"\nquit = [\"q\", \"ctrl-\"]\n",
            "u.toml",
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "u.toml:3: quit in [global]: malformed key \"ctrl-\": unknown key \"ctrl-\""
    );
    let e = Keymap::default_map()
        .with_overrides("[global]\nquit = 1\n", "u.toml")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "u.toml:2: quit in [global]: expected a key string, found integer"
    );
    let e = Keymap::default_map()
        .with_overrides("[global\nquit = 1\n", "u.toml")
        .unwrap_err();
    assert_eq!(e.line, 1, "{e}");
}

#[test]
fn clash_error_names_both_actions_and_the_user_line() {
    let text = "[queue]\n# retry with lower case\n\nretry = \"r\"\nrefresh = \"r\"\n";
    let e = Keymap::default_map()
        .with_overrides(text, "keymap.toml")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "keymap.toml:5: key \"r\" is bound to both \"refresh\" and \"retry\" in [queue]"
    );
    // Against a default binding: reported at the user's line.
    let e = Keymap::default_map()
        .with_overrides("\n[approvals]\nresend = \"A\"\n", "/home/u/keymap.toml")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "/home/u/keymap.toml:3: key \"A\" is bound to both \"resend\" and \"approve\" in [approvals]"
    );
    // Moving the other action away as well resolves it.
    Keymap::default_map()
        .with_overrides("[approvals]\nresend = \"A\"\napprove = \"W\"\n", "u")
        .unwrap();
}

#[test]
fn lookup_prefers_the_view_scope() {
    let map = Keymap::default_map()
        .with_overrides("[runs]\nopen = \"o\"\nsort = \"q\"\n", "u")
        .unwrap();
    assert_eq!(map.lookup(Section::Runs, &ch('q')), Some(KeyAction::Sort));
    assert_eq!(map.lookup(Section::Queue, &ch('q')), Some(KeyAction::Quit));
    assert_eq!(map.lookup(Section::Runs, &ch('o')), Some(KeyAction::Open));
    assert_eq!(
        map.lookup(Section::Runs, &ev(KeyCode::Enter, KeyModifiers::NONE)),
        Some(KeyAction::Open)
    );
    assert_eq!(map.keys_for(Section::Runs, KeyAction::Open), ["o", "enter"]);
    assert_eq!(map.keys_for(Section::Runs, KeyAction::Quit), ["ctrl-c"]);
    assert_eq!(map.lookup(Section::Queue, &ch('R')), Some(KeyAction::Retry));
    assert_eq!(
        map.lookup(Section::Workflows, &ch('R')),
        Some(KeyAction::Resume)
    );
    assert_eq!(map.lookup(Section::Overview, &ch('R')), None);
}

#[test]
fn shift_normalisation() {
    let map = Keymap::default_map();
    let p = KeySpec::parse("P").unwrap();
    assert_eq!(p, KeySpec::parse("shift-p").unwrap());
    assert!(p.matches(&ch('P')));
    assert!(p.matches(&ev(KeyCode::Char('P'), KeyModifiers::SHIFT)));
    assert!(p.matches(&ev(KeyCode::Char('p'), KeyModifiers::SHIFT)));
    assert!(!p.matches(&ch('p')));
    let shifted_p = ev(KeyCode::Char('P'), KeyModifiers::SHIFT);
    assert_eq!(
        map.lookup(Section::Workflows, &shifted_p),
        Some(KeyAction::Pause)
    );
    // '?' arrives with SHIFT on some terminals.
    let q = ev(KeyCode::Char('?'), KeyModifiers::SHIFT);
    assert_eq!(map.lookup(Section::Global, &q), Some(KeyAction::Help));
    // BackTab arrives with SHIFT.
    let bt = ev(KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(map.lookup(Section::Global, &bt), Some(KeyAction::PrevView));
    assert_eq!(
        KeySpec::parse("shift-tab").unwrap(),
        KeySpec::parse("backtab").unwrap()
    );
    // ctrl-letters ignore case.
    let ctrl_r = ev(
        KeyCode::Char('R'),
        KeyModifiers::CONTROL | KeyModifiers::SHIFT,
    );
    assert_eq!(
        map.lookup(Section::Global, &ctrl_r),
        Some(KeyAction::Refresh)
    );
    // Releases never match.
    let mut release = ch('q');
    release.kind = KeyEventKind::Release;
    assert_eq!(map.lookup(Section::Global, &release), None);
}

#[test]
fn key_syntax() {
    for (text, shown) in [
        ("q", "q"),
        ("?", "?"),
        ("space", "space"),
        ("Enter", "enter"),
        ("ctrl-c", "ctrl-c"),
        ("CTRL-C", "ctrl-c"),
        ("alt-x", "alt-x"),
        ("alt-X", "alt-X"),
        ("pgdown", "pgdown"),
        ("pagedown", "pgdown"),
        ("f12", "f12"),
        ("shift-up", "shift-up"),
        ("ctrl-alt-delete", "ctrl-alt-delete"),
        ("-", "-"),
    ] {
        assert_eq!(KeySpec::parse(text).unwrap().display(), shown, "{text}");
    }
    for bad in ["", "ctrl-", "f13", "foo", "shift-1", "hyper-q"] {
        assert!(KeySpec::parse(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn help_lists_view_actions_first() {
    let map = Keymap::default_map();
    let help = map.help(Section::Workflows);
    assert_eq!(help[0], ("P".to_string(), KeyAction::Pause));
    assert_eq!(help[1], ("R".to_string(), KeyAction::Resume));
    assert_eq!(help[2], ("q / ctrl-c".to_string(), KeyAction::Quit));
    assert!(help.iter().all(|(_, a)| *a != KeyAction::Retry));
    let global = map.help(Section::Global);
    assert_eq!(global[0], ("q / ctrl-c".to_string(), KeyAction::Quit));
    assert!(
        global
            .iter()
            .all(|(_, a)| !a.is_mutating() || *a == KeyAction::Broadcast)
    );
}

#[test]
fn action_and_scope_names_round_trip() {
    for &a in KeyAction::all() {
        assert_eq!(KeyAction::from_name(a.name()), Some(a));
        assert!(!a.description().is_empty());
    }
    assert_eq!(KeyAction::GoOverview.name(), "go_overview");
    assert_eq!(KeyAction::RetryFiltered.name(), "retry_filtered");
    assert!(KeyAction::Pause.is_mutating() && !KeyAction::Refresh.is_mutating());
    for &s in Section::all() {
        assert_eq!(Section::from_name(s.name()), Some(s));
    }
    assert_eq!(KeyAction::GoAudit.target_view(), Some(Section::Audit));
}
