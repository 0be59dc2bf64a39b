//! Key bindings. TEMPORARY SHIM on branch `ui` with the signatures of the `infra` module (the lead
//! takes the `infra` version on merge): the default map only, no file loading.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    Palette,
    Filter,
    NextView,
    PrevView,
    GoOverview,
    GoWorkflows,
    GoRuns,
    GoQueue,
    GoErrors,
    GoCapacity,
    GoReconciliation,
    GoApprovals,
    GoAudit,
    Back,
    Open,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Sort,
    Refresh,
    Mark,
    Pause,
    Resume,
    Retry,
    RetryFiltered,
    Cancel,
    Approve,
    Reject,
    Resolve,
    Ignore,
    Acknowledge,
    Broadcast,
    Resend,
}

impl Action {
    pub fn all() -> &'static [Action] {
        use Action::*;
        &[
            Quit,
            Help,
            Palette,
            Filter,
            NextView,
            PrevView,
            GoOverview,
            GoWorkflows,
            GoRuns,
            GoQueue,
            GoErrors,
            GoCapacity,
            GoReconciliation,
            GoApprovals,
            GoAudit,
            Back,
            Open,
            Up,
            Down,
            PageUp,
            PageDown,
            Top,
            Bottom,
            Sort,
            Refresh,
            Mark,
            Pause,
            Resume,
            Retry,
            RetryFiltered,
            Cancel,
            Approve,
            Reject,
            Resolve,
            Ignore,
            Acknowledge,
            Broadcast,
            Resend,
        ]
    }
    pub fn name(&self) -> &'static str {
        use Action::*;
        match self {
            Quit => "quit",
            Help => "help",
            Palette => "palette",
            Filter => "filter",
            NextView => "next_view",
            PrevView => "prev_view",
            GoOverview => "go_overview",
            GoWorkflows => "go_workflows",
            GoRuns => "go_runs",
            GoQueue => "go_queue",
            GoErrors => "go_errors",
            GoCapacity => "go_capacity",
            GoReconciliation => "go_reconciliation",
            GoApprovals => "go_approvals",
            GoAudit => "go_audit",
            Back => "back",
            Open => "open",
            Up => "up",
            Down => "down",
            PageUp => "page_up",
            PageDown => "page_down",
            Top => "top",
            Bottom => "bottom",
            Sort => "sort",
            Refresh => "refresh",
            Mark => "mark",
            Pause => "pause",
            Resume => "resume",
            Retry => "retry",
            RetryFiltered => "retry_filtered",
            Cancel => "cancel",
            Approve => "approve",
            Reject => "reject",
            Resolve => "resolve",
            Ignore => "ignore",
            Acknowledge => "acknowledge",
            Broadcast => "broadcast",
            Resend => "resend",
        }
    }
    pub fn description(&self) -> &'static str {
        use Action::*;
        match self {
            Quit => "quit",
            Help => "this help",
            Palette => "command palette",
            Filter => "filter the list",
            NextView => "next view",
            PrevView => "previous view",
            GoOverview => "overview",
            GoWorkflows => "workflows",
            GoRuns => "runs",
            GoQueue => "job queue",
            GoErrors => "errors",
            GoCapacity => "capacity",
            GoReconciliation => "reconciliation",
            GoApprovals => "approvals",
            GoAudit => "audit",
            Back => "back / clear",
            Open => "open detail",
            Up => "up",
            Down => "down",
            PageUp => "page up",
            PageDown => "page down",
            Top => "top",
            Bottom => "bottom",
            Sort => "cycle sort column",
            Refresh => "refresh now",
            Mark => "mark row",
            Pause => "pause workflow",
            Resume => "resume workflow",
            Retry => "retry",
            RetryFiltered => "retry all filtered",
            Cancel => "cancel",
            Approve => "approve",
            Reject => "reject",
            Resolve => "resolve discrepancy",
            Ignore => "ignore discrepancy",
            Acknowledge => "acknowledge alert",
            Broadcast => "emergency broadcast",
            Resend => "resend failed deliveries",
        }
    }
    pub fn is_mutating(&self) -> bool {
        use Action::*;
        matches!(
            self,
            Pause
                | Resume
                | Retry
                | RetryFiltered
                | Cancel
                | Approve
                | Reject
                | Resolve
                | Ignore
                | Acknowledge
                | Broadcast
                | Resend
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
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

#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error("keymap: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    code: KeyCode,
    mods: KeyModifiers,
}

fn norm(k: &KeyEvent) -> Key {
    let mut mods = k.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    let code = match k.code {
        KeyCode::BackTab => {
            mods.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        KeyCode::Char(c) => {
            mods.remove(KeyModifiers::SHIFT);
            KeyCode::Char(c)
        }
        c => c,
    };
    Key { code, mods }
}

fn key_name(k: &Key) -> String {
    let base = match k.code {
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "backtab".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::PageUp => "pgup".into(),
        KeyCode::PageDown => "pgdn".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        other => format!("{other:?}").to_lowercase(),
    };
    if k.mods.contains(KeyModifiers::CONTROL) {
        format!("ctrl-{base}")
    } else {
        base
    }
}

#[derive(Debug, Clone)]
pub struct Keymap {
    binds: Vec<(Scope, Key, Action)>,
}

impl Keymap {
    pub fn default_map() -> Keymap {
        use Action::*;
        let c = |ch: char| Key {
            code: KeyCode::Char(ch),
            mods: KeyModifiers::NONE,
        };
        let k = |code: KeyCode| Key {
            code,
            mods: KeyModifiers::NONE,
        };
        let g = Scope::Global;
        let mut binds = vec![
            (g, c('q'), Quit),
            (g, c('?'), Help),
            (g, c(':'), Palette),
            (g, c('/'), Filter),
            (g, k(KeyCode::Tab), NextView),
            (g, k(KeyCode::BackTab), PrevView),
            (g, c('1'), GoOverview),
            (g, c('2'), GoWorkflows),
            (g, c('3'), GoRuns),
            (g, c('4'), GoQueue),
            (g, c('5'), GoErrors),
            (g, c('6'), GoCapacity),
            (g, c('7'), GoReconciliation),
            (g, c('8'), GoApprovals),
            (g, c('9'), GoAudit),
            (g, k(KeyCode::Esc), Back),
            (g, k(KeyCode::Enter), Open),
            (g, c('k'), Up),
            (g, k(KeyCode::Up), Up),
            (g, c('j'), Down),
            (g, k(KeyCode::Down), Down),
            (g, k(KeyCode::PageUp), PageUp),
            (g, k(KeyCode::PageDown), PageDown),
            (g, c('g'), Top),
            (g, k(KeyCode::Home), Top),
            (g, c('G'), Bottom),
            (g, k(KeyCode::End), Bottom),
            (g, c('s'), Sort),
            (
                g,
                Key {
                    code: KeyCode::Char('r'),
                    mods: KeyModifiers::CONTROL,
                },
                Refresh,
            ),
            (g, c(' '), Mark),
        ];
        binds.extend([
            (Scope::Workflows, c('P'), Pause),
            (Scope::Workflows, c('U'), Resume),
            (Scope::Runs, c('R'), Retry),
            (Scope::Runs, c('C'), Cancel),
            (Scope::Queue, c('R'), Retry),
            (Scope::Queue, c('F'), RetryFiltered),
            (Scope::Queue, c('C'), Cancel),
            (Scope::Errors, c('R'), Retry),
            (Scope::Capacity, c('K'), Acknowledge),
            (Scope::Reconciliation, c('V'), Resolve),
            (Scope::Reconciliation, c('I'), Ignore),
            (Scope::Approvals, c('A'), Approve),
            (Scope::Approvals, c('X'), Reject),
            (Scope::Overview, c('B'), Broadcast),
            (Scope::Overview, c('E'), Resend),
        ]);
        Keymap { binds }
    }

    pub fn load(path: Option<&Path>) -> Result<Keymap, KeymapError> {
        match path {
            None => Ok(Keymap::default_map()),
            Some(p) => Err(KeymapError::Invalid(format!(
                "{}: not supported by the shim",
                p.display()
            ))),
        }
    }

    pub fn lookup(&self, scope: Scope, key: &KeyEvent) -> Option<Action> {
        let k = norm(key);
        let find = |s: Scope| {
            self.binds
                .iter()
                .find(|(bs, bk, _)| *bs == s && *bk == k)
                .map(|b| b.2)
        };
        if scope != Scope::Global
            && let Some(a) = find(scope)
        {
            return Some(a);
        }
        find(Scope::Global)
    }

    pub fn keys_for(&self, scope: Scope, action: Action) -> Vec<String> {
        self.binds
            .iter()
            .filter(|(s, _, a)| *s == scope && *a == action)
            .map(|(_, k, _)| key_name(k))
            .collect()
    }

    pub fn help(&self, scope: Scope) -> Vec<(String, Action)> {
        let mut out: Vec<(String, Action)> = Vec::new();
        for (s, k, a) in &self.binds {
            if *s != scope {
                continue;
            }
            if let Some(e) = out.iter_mut().find(|(_, x)| x == a) {
                e.0 = format!("{} {}", e.0, key_name(k));
            } else {
                out.push((key_name(k), *a));
            }
        }
        out
    }
}
