//! The `:` command palette: jump to a view or run a command, with completion (Tab completes
//! the longest common prefix, then cycles through the matches shown below the input).

use crate::domain::refresh::ViewId;
use crate::theme::Theme;

/// What a palette entry does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Go(ViewId),
    Quit,
    Help,
    Refresh,
    Broadcast,
    Awaiting,
    Alerts,
    Freeze,
    Timeline,
    /// `export PATH`: the list as shown, to a .csv or .json file.
    Export(String),
    /// `ctx NAME`: the console on another of the config's contexts.
    Context(String),
    Theme(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub what: String,
    pub cmd: Command,
}

/// Every palette entry.
pub fn entries() -> Vec<Entry> {
    let mut v: Vec<Entry> = ViewId::ALL
        .iter()
        .map(|&view| Entry {
            name: view.command().to_string(),
            what: format!("go to {} [{}]", view.title(), view.index() + 1),
            cmd: Command::Go(view),
        })
        .collect();
    for (name, what, cmd) in [
        ("quit", "leave opsdeck", Command::Quit),
        ("help", "keys of this view", Command::Help),
        ("refresh", "read the view again now", Command::Refresh),
        (
            "broadcast",
            "compose an emergency broadcast [b]",
            Command::Broadcast,
        ),
        (
            "broadcasts",
            "broadcasts awaiting approval [B]",
            Command::Awaiting,
        ),
        (
            "alerts",
            "the alerts: acknowledge, silence [!]",
            Command::Alerts,
        ),
        (
            "export ",
            "export PATH.csv|.json: this list, with its filter",
            Command::Export(String::new()),
        ),
        (
            "ctx ",
            "ctx NAME: the console on another context of the config",
            Command::Context(String::new()),
        ),
        (
            "contexts",
            "every context of the config side by side (also :ctx)",
            Command::Context(String::new()),
        ),
        (
            "timeline",
            "the last 2 hours: actions, alerts, broadcasts, errors",
            Command::Timeline,
        ),
        (
            "freeze",
            "hold the screen still / catch up [Z]",
            Command::Freeze,
        ),
    ] {
        v.push(Entry {
            name: name.into(),
            what: what.into(),
            cmd,
        });
    }
    for t in Theme::names() {
        v.push(Entry {
            name: format!("theme {t}"),
            what: "switch colours".into(),
            cmd: Command::Theme(t.to_string()),
        });
    }
    v
}

#[derive(Debug, Clone, Default)]
pub struct Palette {
    /// What the input line shows.
    pub input: String,
    /// What the user typed (Tab cycling shows matches of this, not of the completed input).
    typed: String,
    /// Index into `matches()` of the highlighted entry.
    pub selected: usize,
    all: Vec<Entry>,
}

impl Palette {
    pub fn new() -> Palette {
        Palette {
            all: entries(),
            ..Default::default()
        }
    }

    /// Entries starting with the typed text (case-insensitive), then those containing it.
    pub fn matches(&self) -> Vec<&Entry> {
        let q = self.typed.trim_start().to_lowercase();
        let mut v: Vec<&Entry> = self.all.iter().filter(|e| e.name.starts_with(&q)).collect();
        v.extend(
            self.all
                .iter()
                .filter(|e| !e.name.starts_with(&q) && e.name.contains(&q)),
        );
        v
    }

    pub fn push(&mut self, c: char) {
        self.input.push(c);
        self.typed = self.input.clone();
        self.selected = 0;
    }
    pub fn backspace(&mut self) {
        self.input.pop();
        self.typed = self.input.clone();
        self.selected = 0;
    }
    pub fn move_sel(&mut self, delta: isize) {
        let n = self.matches().len() as isize;
        if n > 0 {
            self.selected = (self.selected as isize + delta).rem_euclid(n) as usize;
        }
    }

    /// Tab: complete to the longest common prefix of the matches; when already there, step
    /// through the matches (the list stays as typed).
    pub fn complete(&mut self) {
        let m = self.matches();
        if m.is_empty() {
            return;
        }
        let q = self.typed.trim_start().to_lowercase();
        let all_prefix = m.iter().all(|e| e.name.starts_with(&q));
        let prefix = common_prefix(m.iter().map(|e| e.name.as_str()));
        if m.len() == 1 {
            let name = m[0].name.clone();
            self.input = name.clone();
            self.typed = name;
            self.selected = 0;
        } else if all_prefix && prefix.len() > q.len() {
            self.input = prefix.clone();
            self.typed = prefix;
            self.selected = 0;
        } else {
            let next = match m.iter().position(|e| e.name == self.input) {
                Some(i) => (i + 1) % m.len(),
                None => 0,
            };
            self.input = m[next].name.clone();
            self.selected = next;
        }
    }

    /// Enter: the entry named exactly by the input, else the highlighted match.
    pub fn choose(&self) -> Option<Command> {
        // `export PATH` takes its argument as typed (paths keep their case)
        if let Some(path) = self.input.trim().strip_prefix("export ") {
            return Some(Command::Export(path.trim().to_string()));
        }
        if self.input.trim() == "ctx" {
            return Some(Command::Context(String::new()));
        }
        if let Some(name) = self.input.trim().strip_prefix("ctx ") {
            return Some(Command::Context(name.trim().to_string()));
        }
        let q = self.input.trim().to_lowercase();
        self.all
            .iter()
            .find(|e| e.name == q)
            .or_else(|| self.matches().get(self.selected).copied())
            .map(|e| e.cmd.clone())
    }
}

fn common_prefix<'a>(mut it: impl Iterator<Item = &'a str>) -> String {
    let Some(first) = it.next() else {
        return String::new();
    };
    let mut p = first.to_string();
    for s in it {
        let n = p
            .chars()
            .zip(s.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a.len_utf8())
            .sum();
        p.truncate(n);
    }
    p
}
