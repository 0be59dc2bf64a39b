//! Key bindings: typed [`KeyAction`]s bound to keys per [`Section`], from TOML.
//!
//! The defaults are the top-level `keymap.toml`, embedded in the binary; a user file
//! (`$XDG_CONFIG_HOME/opsdeck/keymap.toml`, see [`Keymap::user_path`]) overrides single bindings:
//! `pause = "ctrl-p"` in `[workflows]` replaces the keys of `pause` in that section and leaves
//! everything else; `pause = []` unbinds it there (in a view section this also turns off the
//! action's global keys in that view, e.g. `broadcast = []` under `[approvals]`).
//!
//! * **Sections** are [`Section`] names: `[global]` and one per view. [`Keymap::lookup`] tries the
//!   view's section first, then `[global]`, so a view can shadow a global key.
//! * **Values** are a key or an array of keys.
//! * **Keys** ([`KeySpec::parse`]): a single character (`q`, `?`, `/`, `:`); an uppercase letter
//!   means shift+letter (`P`), and a `Char('P')` event matches it with or without SHIFT (terminals
//!   differ); names `enter esc tab backtab space up down left right pgup pgdown home end f1…f12
//!   backspace delete insert`; modifiers `ctrl-`, `alt-`, `shift-` (`shift-tab` is `backtab`,
//!   `shift-p` is `P`). `ctrl-` + letter ignores case: legacy terminals send the same byte for
//!   ctrl-p and ctrl-shift-p.
//! * **Errors** ([`KeymapError`], `path:line: what`): unknown section, unknown action, malformed
//!   key, and a clash — two actions on one key in one section after merging, reported at the
//!   newer of the two bindings (the user file's line when it is involved).
//!
//! Mutating actions ([`KeyAction::is_mutating`]) are only ever a request for a confirm dialog; the
//! defaults put them on shifted letters away from the navigation keys (see `keymap.toml`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::{KeyEvent, KeyEventKind};

mod key;
pub use key::KeySpec;

const DEFAULT_TOML: &str = include_str!("../keymap.toml");
const DEFAULT_PATH: &str = "keymap.toml";

macro_rules! actions {
    ($($v:ident $name:literal $desc:literal $mutating:literal;)*) => {
        /// Everything a key can ask for.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum KeyAction { $($v),* }

        impl KeyAction {
            /// Every action, in help order.
            pub fn all() -> &'static [KeyAction] {
                &[$(KeyAction::$v),*]
            }
            /// The snake_case name used in keymap.toml, e.g. `"go_overview"`.
            pub fn name(self) -> &'static str {
                match self { $(KeyAction::$v => $name),* }
            }
            /// A short description for the help screen.
            pub fn description(self) -> &'static str {
                match self { $(KeyAction::$v => $desc),* }
            }
            /// An operator action that changes something (disabled in read-only mode; always
            /// goes through a confirm dialog).
            pub fn is_mutating(self) -> bool {
                match self { $(KeyAction::$v => $mutating),* }
            }
        }
    };
}

actions! {
    Quit "quit" "Quit" false;
    Help "help" "Show this help" false;
    Palette "palette" "Command palette / jump to a view" false;
    Filter "filter" "Filter the list" false;
    NextView "next_view" "Next view" false;
    PrevView "prev_view" "Previous view" false;
    GoOverview "go_overview" "Go to Overview" false;
    GoWorkflows "go_workflows" "Go to Workflows" false;
    GoRuns "go_runs" "Go to Runs" false;
    GoQueue "go_queue" "Go to Queue" false;
    GoErrors "go_errors" "Go to Errors" false;
    GoCapacity "go_capacity" "Go to Capacity" false;
    GoReconciliation "go_reconciliation" "Go to Reconciliation" false;
    GoApprovals "go_approvals" "Go to Approvals" false;
    GoAudit "go_audit" "Go to Audit" false;
    FailedJobs "failed_jobs" "Failed jobs, newest first (Queue)" false;
    Back "back" "Back / close / clear filter" false;
    Open "open" "Open the selected item" false;
    Up "up" "Move up" false;
    Down "down" "Move down" false;
    PageUp "page_up" "Page up" false;
    PageDown "page_down" "Page down" false;
    Top "top" "Go to the top" false;
    Bottom "bottom" "Go to the bottom" false;
    Sort "sort" "Change the sort order" false;
    Refresh "refresh" "Refresh now" false;
    Mark "mark" "Mark / unmark the row" false;
    Pause "pause" "Pause the workflow" true;
    Resume "resume" "Resume the workflow" true;
    Retry "retry" "Retry the selected (or marked) items" true;
    RetryFiltered "retry_filtered" "Retry everything matching the filter" true;
    Cancel "cancel" "Cancel the selected (or marked) items" true;
    Approve "approve" "Approve" true;
    Reject "reject" "Reject" true;
    Resolve "resolve" "Resolve the discrepancy" true;
    Ignore "ignore" "Ignore the discrepancy" true;
    Acknowledge "acknowledge" "Acknowledge the alert" true;
    Broadcast "broadcast" "Compose a broadcast" true;
    Awaiting "awaiting" "Broadcasts awaiting approval" false;
    Resend "resend" "Resend the request" true;
    Alerts "alerts" "Alerts: acknowledge or silence with a comment" false;
    Freeze "freeze" "Freeze the screen while you read (again: catch up)" false;
    NextPending "next_pending" "Next pending request (detail)" false;
    PrevPending "prev_pending" "Previous pending request (detail)" false;
}

impl KeyAction {
    /// The action named in keymap.toml.
    pub fn from_name(s: &str) -> Option<KeyAction> {
        KeyAction::all().iter().copied().find(|a| a.name() == s)
    }

    /// The view a `go_*` action jumps to.
    pub fn target_view(self) -> Option<Section> {
        Some(match self {
            KeyAction::GoOverview => Section::Overview,
            KeyAction::GoWorkflows => Section::Workflows,
            KeyAction::GoRuns => Section::Runs,
            KeyAction::GoQueue => Section::Queue,
            KeyAction::GoErrors => Section::Errors,
            KeyAction::GoCapacity => Section::Capacity,
            KeyAction::GoReconciliation => Section::Reconciliation,
            KeyAction::GoApprovals => Section::Approvals,
            KeyAction::GoAudit => Section::Audit,
            _ => return None,
        })
    }
}

/// Where a binding applies: everywhere, or in one view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Global,
    Overview,
    Workflows,
    Runs,
    Queue,
    Errors,
    Capacity,
    Reconciliation,
    Approvals,
    Audit,
}

impl Section {
    /// Every scope, `Global` first, then the views in tab order.
    pub fn all() -> &'static [Section] {
        use Section::*;
        &[
            Global,
            Overview,
            Workflows,
            Runs,
            Queue,
            Errors,
            Capacity,
            Reconciliation,
            Approvals,
            Audit,
        ]
    }

    /// The keymap.toml section name: `"global"`, `"overview"`, …
    pub fn name(self) -> &'static str {
        match self {
            Section::Global => "global",
            Section::Overview => "overview",
            Section::Workflows => "workflows",
            Section::Runs => "runs",
            Section::Queue => "queue",
            Section::Errors => "errors",
            Section::Capacity => "capacity",
            Section::Reconciliation => "reconciliation",
            Section::Approvals => "approvals",
            Section::Audit => "audit",
        }
    }

    pub fn from_name(s: &str) -> Option<Section> {
        Section::all().iter().copied().find(|sc| sc.name() == s)
    }
}

/// A keymap that could not be loaded. Display: `path:line: what` (`path: what` when the problem
/// is not on a line, e.g. an unreadable file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {what}", line_suffix(*.line))]
pub struct KeymapError {
    pub path: String,
    /// 1-based; 0 when not on a line.
    pub line: usize,
    pub what: String,
}

fn line_suffix(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

/// Where a binding was written: to report clashes at the newest binding involved.
#[derive(Clone, Debug)]
struct Origin {
    path: Arc<str>,
    line: usize,
    /// 0 for the defaults, +1 per override layer.
    layer: u32,
}

#[derive(Clone, Debug)]
struct Binding {
    keys: Vec<KeySpec>,
    origin: Origin,
}

/// The merged bindings, indexed for lookup.
#[derive(Clone, Debug)]
pub struct Keymap {
    bindings: BTreeMap<(Section, KeyAction), Binding>,
    index: HashMap<(Section, KeySpec), KeyAction>,
    layers: u32,
}

impl Keymap {
    /// The embedded defaults (keymap.toml). Panics only if that file is broken, which a test
    /// rules out.
    pub fn default_map() -> Keymap {
        let empty = Keymap {
            bindings: BTreeMap::new(),
            index: HashMap::new(),
            layers: 0,
        };
        let mut map = empty
            .with_overrides(DEFAULT_TOML, DEFAULT_PATH)
            .unwrap_or_else(|e| panic!("embedded keymap.toml is broken: {e}"));
        map.layers = 0;
        for b in map.bindings.values_mut() {
            b.origin.layer = 0;
        }
        map
    }

    /// The defaults plus the user file, if given and present (a missing file means defaults).
    pub fn load(user: Option<&Path>) -> Result<Keymap, KeymapError> {
        let map = Keymap::default_map();
        let Some(path) = user else { return Ok(map) };
        match std::fs::read_to_string(path) {
            Ok(text) => map.with_overrides(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(map),
            Err(e) => Err(KeymapError {
                path: path.display().to_string(),
                line: 0,
                what: e.to_string(),
            }),
        }
    }

    /// This keymap with the bindings of `text` (keymap.toml format) replacing its own.
    pub fn with_overrides(&self, text: &str, path: &str) -> Result<Keymap, KeymapError> {
        let err = |offset: usize, what: String| KeymapError {
            path: path.to_string(),
            line: line_of(text, offset),
            what,
        };
        let doc = toml::de::DeTable::parse(text)
            .map_err(|e| err(e.span().map_or(0, |s| s.start), e.message().to_string()))?;
        let mut out = self.clone();
        out.layers += 1;
        let shared_path: Arc<str> = Arc::from(path);

        let mut sections: Vec<_> = doc.get_ref().iter().collect();
        sections.sort_by_key(|(k, _)| k.span().start);
        for (sect, body) in sections {
            let at = sect.span().start;
            let sect = sect.get_ref().as_ref();
            let Some(table) = body.get_ref().as_table() else {
                return Err(err(
                    at,
                    format!("\"{sect}\" must be a section like [global], not a top-level key"),
                ));
            };
            let Some(scope) = Section::from_name(sect) else {
                let known: Vec<_> = Section::all().iter().map(|s| s.name()).collect();
                return Err(err(
                    at,
                    format!("unknown section [{sect}] (known: {})", known.join(", ")),
                ));
            };
            let mut entries: Vec<_> = table.iter().collect();
            entries.sort_by_key(|(k, _)| k.span().start);
            for (name, value) in entries {
                let at = name.span().start;
                let name = name.get_ref().as_ref();
                let action = KeyAction::from_name(name)
                    .ok_or_else(|| err(at, format!("unknown action \"{name}\" in [{sect}]")))?;
                let keys = parse_keys(value.get_ref())
                    .map_err(|what| err(at, format!("{name} in [{sect}]: {what}")))?;
                let origin = Origin {
                    path: shared_path.clone(),
                    line: line_of(text, at),
                    layer: out.layers,
                };
                out.bindings
                    .insert((scope, action), Binding { keys, origin });
            }
        }
        out.reindex()?;
        Ok(out)
    }

    /// Rebuilds the lookup index; a key bound to two actions in one scope is an error reported
    /// at the newer binding.
    fn reindex(&mut self) -> Result<(), KeymapError> {
        self.index.clear();
        for (&(scope, action), binding) in &self.bindings {
            for key in &binding.keys {
                if let Some(&other) = self.index.get(&(scope, *key)) {
                    let theirs = &self.bindings[&(scope, other)].origin;
                    let ours = &binding.origin;
                    let (at, first, second) =
                        if (ours.layer, ours.line) >= (theirs.layer, theirs.line) {
                            (ours, action, other)
                        } else {
                            (theirs, other, action)
                        };
                    return Err(KeymapError {
                        path: at.path.to_string(),
                        line: at.line,
                        what: format!(
                            "key \"{}\" is bound to both \"{}\" and \"{}\" in [{}]",
                            key.display(),
                            first.name(),
                            second.name(),
                            scope.name()
                        ),
                    });
                }
                self.index.insert((scope, *key), action);
            }
        }
        Ok(())
    }

    /// The action of a key press in a view: the view's bindings first, then the global ones.
    /// Key releases give `None`.
    pub fn lookup(&self, scope: Section, ev: &KeyEvent) -> Option<KeyAction> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        let key = KeySpec::from_event(ev);
        if let Some(&action) = self.index.get(&(scope, key)) {
            return Some(action);
        }
        let action = *self.index.get(&(Section::Global, key))?;
        (!self.disabled_in(scope, action)).then_some(action)
    }

    /// `action = []` in a view section: the action is off in that view, global keys included.
    fn disabled_in(&self, scope: Section, action: KeyAction) -> bool {
        scope != Section::Global
            && self
                .bindings
                .get(&(scope, action))
                .is_some_and(|b| b.keys.is_empty())
    }

    /// The keys that trigger `action` in `scope` (the view's own, then the global ones it does
    /// not shadow), as display strings, e.g. `["q", "ctrl-c"]`.
    pub fn keys_for(&self, scope: Section, action: KeyAction) -> Vec<String> {
        let mut keys: Vec<&KeySpec> = Vec::new();
        if let Some(b) = self.bindings.get(&(scope, action)) {
            keys.extend(&b.keys);
        }
        if scope != Section::Global
            && !self.disabled_in(scope, action)
            && let Some(b) = self.bindings.get(&(Section::Global, action))
        {
            for k in &b.keys {
                if !keys.contains(&k) && !self.index.contains_key(&(scope, *k)) {
                    keys.push(k);
                }
            }
        }
        keys.iter().map(|k| k.display()).collect()
    }

    /// The help for a view: its own actions first, then the global ones, each in
    /// [`KeyAction::all`] order with its keys joined by `" / "`. Actions without a key are left out.
    pub fn help(&self, scope: Section) -> Vec<(String, KeyAction)> {
        let own = |s: Section| {
            KeyAction::all().iter().copied().filter(move |&a| {
                self.bindings
                    .get(&(s, a))
                    .is_some_and(|b| !b.keys.is_empty())
            })
        };
        let mut actions: Vec<KeyAction> = own(scope).collect();
        if scope != Section::Global {
            let global: Vec<KeyAction> = own(Section::Global)
                .filter(|a| !actions.contains(a))
                .collect();
            actions.extend(global);
        }
        actions
            .into_iter()
            .filter_map(|a| {
                let keys = self.keys_for(scope, a);
                (!keys.is_empty()).then(|| (keys.join(" / "), a))
            })
            .collect()
    }

    /// The user's keymap file: `$XDG_CONFIG_HOME/opsdeck/keymap.toml` (or the platform's
    /// config dir when XDG_CONFIG_HOME is unset).
    pub fn user_path() -> Option<PathBuf> {
        crate::config::config_dir().map(|d| d.join("keymap.toml"))
    }
}

fn parse_keys(value: &toml::de::DeValue<'_>) -> Result<Vec<KeySpec>, String> {
    let one = |v: &toml::de::DeValue<'_>| match v.as_str() {
        Some(s) => KeySpec::parse(s).map_err(|e| format!("malformed key \"{s}\": {e}")),
        None => Err(format!("expected a key string, found {}", v.type_str())),
    };
    let mut keys = Vec::new();
    match value.as_array() {
        Some(items) => {
            for item in items.iter() {
                let k = one(item.get_ref())?;
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        None => keys.push(one(value)?),
    }
    Ok(keys)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
