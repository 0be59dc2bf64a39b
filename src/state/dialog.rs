//! The confirm dialog of an operator action. A mutating key only opens one; the dialog names the
//! target and the change (built from the [`Action`] variant), asks for what the action needs (a
//! reason, a note, the count typed for bulk changes) and only `y` / Enter on a complete dialog
//! sends `Effect::Act`. Once sent, every key is ignored until the result lands, so a double press
//! never acts twice.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use crate::domain::action::{Action, JobSelect};

/// A text the action needs (pause reason, decision note, resolution note).
#[derive(Debug, Clone)]
pub struct NoteField {
    pub label: &'static str,
    pub required: bool,
    pub area: TextArea<'static>,
}

impl NoteField {
    pub fn new(label: &'static str, required: bool) -> Self {
        let mut area = TextArea::default();
        area.set_placeholder_text(if required { "required" } else { "optional" });
        area.set_max_histories(20);
        NoteField {
            label,
            required,
            area,
        }
    }
    pub fn text(&self) -> String {
        self.area.lines().join("\n").trim().to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Note,
    Typed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// A bulk retry is counting what the filter matches.
    Counting,
    /// Waiting for the operator.
    Ready,
    /// Sent: waiting for the result (keys ignored).
    Sent,
}

#[derive(Debug, Clone)]
pub struct Dialog {
    pub action: Action,
    /// What a filter matched when the dialog opened (bulk retry).
    pub count: Option<i64>,
    pub note: Option<NoteField>,
    /// The text to type to confirm (the count), and what has been typed.
    pub typed: Option<(String, String)>,
    pub focus: Focus,
    pub phase: Phase,
    /// Why the last submit was refused (shown in the dialog).
    pub error: Option<String>,
    /// Lines about the context, under the action's own (marked rows left out, where n8n will
    /// be told).
    pub notes: Vec<String>,
}

/// What a key did to the dialog.
#[derive(Debug, PartialEq)]
pub enum DialogOutcome {
    Stay,
    Cancel,
    Submit(Action),
}

impl Dialog {
    pub fn new(action: Action) -> Self {
        let note = match &action {
            Action::PauseWorkflows { .. } => Some(NoteField::new("Reason", true)),
            Action::Decide { approve, .. } => Some(NoteField::new("Note", !approve)),
            Action::Resolve { .. } => Some(NoteField::new("Note", true)),
            Action::N8nSetActive { active: false, .. } => Some(NoteField::new("Reason", true)),
            Action::AlertAct { minutes, .. } => Some(NoteField::new("Comment", minutes.is_some())),
            _ => None,
        };
        let counting = matches!(action, Action::RetryFailed { .. });
        let typed = if counting {
            None
        } else {
            action.typed_confirmation(None).map(|t| (t, String::new()))
        };
        Dialog {
            focus: if note.is_some() {
                Focus::Note
            } else {
                Focus::Typed
            },
            action,
            count: None,
            note,
            typed,
            phase: if counting {
                Phase::Counting
            } else {
                Phase::Ready
            },
            error: None,
            notes: Vec::new(),
        }
    }

    /// The bulk retry's filter, while counting.
    pub fn counting(&self) -> Option<&JobSelect> {
        match (&self.phase, &self.action) {
            (Phase::Counting, Action::RetryFailed { select, .. }) => Some(select),
            _ => None,
        }
    }

    /// The count came back: it goes into the action (the report compares) and may require typing.
    pub fn counted(&mut self, n: i64) {
        if let Action::RetryFailed { expected, .. } = &mut self.action {
            *expected = Some(n);
        }
        self.count = Some(n);
        self.typed = self
            .action
            .typed_confirmation(Some(n))
            .map(|t| (t, String::new()));
        self.phase = Phase::Ready;
    }

    /// The body lines (target and change).
    pub fn lines(&self) -> Vec<String> {
        let mut a = self.action.clone();
        // show the reason / note as it is being typed (confirm_lines prints it)
        if let Some(n) = &self.note {
            set_note(&mut a, n.text());
        }
        let mut l = a.confirm_lines(self.count);
        l.extend(self.notes.iter().cloned());
        l
    }

    /// Plain dialogs confirm with `y`; dialogs with fields with Enter.
    pub fn has_fields(&self) -> bool {
        self.note.is_some() || self.typed.is_some()
    }

    pub fn key(&mut self, k: KeyEvent) -> DialogOutcome {
        if self.phase == Phase::Sent {
            return DialogOutcome::Stay;
        }
        if k.code == KeyCode::Esc {
            return DialogOutcome::Cancel;
        }
        if self.phase == Phase::Counting {
            return DialogOutcome::Stay;
        }
        if !self.has_fields() {
            return match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.submit(),
                KeyCode::Char('n') | KeyCode::Char('N') => DialogOutcome::Cancel,
                _ => {
                    self.error = Some("press y to confirm, n or Esc to cancel".into());
                    DialogOutcome::Stay
                }
            };
        }
        match k.code {
            KeyCode::Enter if !k.modifiers.contains(KeyModifiers::ALT) => self.submit(),
            KeyCode::Tab | KeyCode::BackTab if self.note.is_some() && self.typed.is_some() => {
                self.focus = match self.focus {
                    Focus::Note => Focus::Typed,
                    Focus::Typed => Focus::Note,
                };
                DialogOutcome::Stay
            }
            _ => {
                match (self.focus, &mut self.note, &mut self.typed) {
                    (Focus::Note, Some(n), _) => {
                        n.area.input(k);
                    }
                    (Focus::Typed, _, Some((_, t))) => match k.code {
                        KeyCode::Backspace => {
                            t.pop();
                        }
                        KeyCode::Char(c) if c.is_ascii_digit() && t.len() < 12 => t.push(c),
                        _ => {}
                    },
                    _ => {}
                }
                self.error = None;
                DialogOutcome::Stay
            }
        }
    }

    fn submit(&mut self) -> DialogOutcome {
        let mut a = self.action.clone();
        if let Some(n) = &self.note {
            set_note(&mut a, n.text());
        }
        if let Err(e) = a.validate() {
            self.error = Some(
                e.replace(" (--note TEXT)", "")
                    .replace(" (--reason TEXT)", ""),
            );
            self.focus = Focus::Note;
            return DialogOutcome::Stay;
        }
        if let Some((want, got)) = &self.typed
            && want != got
        {
            self.error = Some(format!("type {want} to confirm"));
            self.focus = Focus::Typed;
            return DialogOutcome::Stay;
        }
        self.phase = Phase::Sent;
        self.error = None;
        DialogOutcome::Submit(a)
    }
}

fn set_note(a: &mut Action, text: String) {
    match a {
        Action::PauseWorkflows { reason, .. } => *reason = text,
        Action::Decide { note, .. } => *note = (!text.is_empty()).then_some(text),
        Action::Resolve { note, .. } => *note = text,
        Action::N8nSetActive { reason, .. } => *reason = (!text.is_empty()).then_some(text),
        Action::AlertAct {
            minutes: Some(m),
            comment,
            ..
        } => {
            // a silence's length may lead the comment: "2h vendor outage"
            let (first, rest) = text.split_once(char::is_whitespace).unwrap_or((&text, ""));
            match crate::domain::action::parse_minutes(first) {
                Some(n) if first.chars().any(|c| c.is_ascii_alphabetic()) => {
                    *m = n;
                    let rest = rest.trim();
                    *comment = (!rest.is_empty()).then(|| rest.to_string());
                }
                _ => *comment = (!text.is_empty()).then_some(text),
            }
        }
        Action::AlertAct { comment, .. } => *comment = (!text.is_empty()).then_some(text),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::action::Named;
    use crossterm::event::KeyEvent;
    use uuid::Uuid;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn plain_confirm_needs_y_and_never_sends_twice() {
        let mut d = Dialog::new(Action::RetryJobs {
            jobs: vec![Named::new(Uuid::nil(), "job")],
        });
        assert_eq!(d.key(key(KeyCode::Enter)), DialogOutcome::Stay);
        assert!(d.error.is_some());
        assert!(matches!(
            d.key(key(KeyCode::Char('y'))),
            DialogOutcome::Submit(_)
        ));
        assert_eq!(d.key(key(KeyCode::Char('y'))), DialogOutcome::Stay);
        assert_eq!(d.key(key(KeyCode::Esc)), DialogOutcome::Stay);
    }

    #[test]
    fn reject_needs_a_note() {
        let mut d = Dialog::new(Action::Decide {
            request: Uuid::nil(),
            label: "Kai".into(),
            approve: false,
            note: None,
        });
        assert_eq!(d.key(key(KeyCode::Enter)), DialogOutcome::Stay);
        assert_eq!(d.error.as_deref(), Some("a rejection needs a note"));
        for c in "too deep".chars() {
            d.key(key(KeyCode::Char(c)));
        }
        match d.key(key(KeyCode::Enter)) {
            DialogOutcome::Submit(Action::Decide { note, .. }) => {
                assert_eq!(note.as_deref(), Some("too deep"))
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn bulk_retry_counts_then_wants_the_count_typed() {
        let mut d = Dialog::new(Action::RetryFailed {
            select: JobSelect::default(),
            expected: None,
        });
        assert!(d.counting().is_some());
        assert_eq!(d.key(key(KeyCode::Char('y'))), DialogOutcome::Stay);
        d.counted(250);
        assert_eq!(d.typed.as_ref().unwrap().0, "250");
        for c in "25".chars() {
            d.key(key(KeyCode::Char(c)));
        }
        assert_eq!(d.key(key(KeyCode::Enter)), DialogOutcome::Stay);
        assert_eq!(d.error.as_deref(), Some("type 250 to confirm"));
        d.key(key(KeyCode::Char('0')));
        match d.key(key(KeyCode::Enter)) {
            DialogOutcome::Submit(Action::RetryFailed { expected, .. }) => {
                assert_eq!(expected, Some(250))
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn pausing_several_wants_reason_and_count() {
        let w = |n| Named::new(Uuid::from_u128(n), format!("wf{n}"));
        let mut d = Dialog::new(Action::PauseWorkflows {
            workflows: vec![w(1), w(2)],
            reason: String::new(),
        });
        for c in "drill".chars() {
            d.key(key(KeyCode::Char(c)));
        }
        assert_eq!(d.key(key(KeyCode::Enter)), DialogOutcome::Stay);
        assert_eq!(d.focus, Focus::Typed);
        d.key(key(KeyCode::Char('2')));
        assert!(matches!(
            d.key(key(KeyCode::Enter)),
            DialogOutcome::Submit(_)
        ));
    }
}
