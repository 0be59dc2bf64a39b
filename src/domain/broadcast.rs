//! Emergency broadcasts, the pure part (seed 000 phase 5): levels, channels, the SMS segment
//! counter, message validation, templates and the audience plan (preferences, the critical
//! override, de-duplication by phone/email, unreachable people). No IO: `api::broadcast` reads
//! the people and writes the rows; `state` uses the same functions for the compose screen.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod preview;
mod records;
pub use preview::{Preview, WorkflowState};
pub use records::{
    ChannelProgress, Decision, Draft, EventChoice, FailedDelivery, FollowUp, Progress, SendOutcome,
    SendReport, Target, Waiting, WebhookResult,
};

/// The seed's levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Urgent,
    Critical,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Info, Level::Warning, Level::Urgent, Level::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Urgent => "urgent",
            Level::Critical => "critical",
        }
    }

    /// The seed rejects any other level.
    pub fn parse(s: &str) -> Result<Level, String> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                format!("unknown level '{s}': use one of info, warning, urgent, critical")
            })
    }

    /// Live broadcasts at this level need the event/venue name typed to confirm.
    pub fn needs_typed_confirmation(self) -> bool {
        self >= Level::Urgent
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Whatsapp,
    Email,
    Voice,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Sms,
        Channel::Whatsapp,
        Channel::Email,
        Channel::Voice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
            Channel::Email => "email",
            Channel::Voice => "voice",
        }
    }

    pub fn parse(s: &str) -> Result<Channel, String> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| format!("unknown channel '{s}': use sms, whatsapp, email or voice"))
    }

    /// `sms,voice` → [Sms, Voice] (order kept, duplicates dropped).
    pub fn parse_list(s: &str) -> Result<Vec<Channel>, String> {
        let mut out = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let c = Channel::parse(part)?;
            if !out.contains(&c) {
                out.push(c);
            }
        }
        if out.is_empty() {
            return Err("--channels names no channel".into());
        }
        Ok(out)
    }

    /// The job_queue job type the engine delivers.
    pub fn job_type(self) -> &'static str {
        match self {
            Channel::Sms => "broadcast.sms",
            Channel::Whatsapp => "broadcast.whatsapp",
            Channel::Email => "broadcast.email",
            Channel::Voice => "broadcast.voice",
        }
    }

    fn uses_phone(self) -> bool {
        !matches!(self, Channel::Email)
    }
}

/// Who a broadcast goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "scope", rename_all = "lowercase")]
pub enum Scope {
    Event { event_id: Uuid, name: String },
    Venue { venue_name: String },
}

impl Scope {
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Event { .. } => "event",
            Scope::Venue { .. } => "venue",
        }
    }
    /// What the operator types to confirm a live urgent/critical broadcast.
    pub fn label(&self) -> &str {
        match self {
            Scope::Event { name, .. } => name,
            Scope::Venue { venue_name } => venue_name,
        }
    }
    pub fn event_id(&self) -> Option<Uuid> {
        match self {
            Scope::Event { event_id, .. } => Some(*event_id),
            Scope::Venue { .. } => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SMS segments

/// GSM 03.38 basic character set (one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table (escape + char: two septets each).
const GSM7_EXT: &str = "^{}\\[~]|€\u{c}";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// How an SMS of this text is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segments {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    pub segments: usize,
    /// Units per segment at this length (160/153 or 70/67).
    pub per_segment: usize,
    /// Units left in the last segment.
    pub remaining: usize,
}

/// 160 GSM-7 septets (extension characters count two) or 70 UCS-2 units in one SMS; a longer
/// message is sent in parts of 153 / 67 (the rest is the concatenation header).
pub fn segments(text: &str) -> Segments {
    let mut septets = 0usize;
    let mut gsm = true;
    for c in text.chars() {
        if GSM7_BASIC.contains(c) {
            septets += 1;
        } else if GSM7_EXT.contains(c) {
            septets += 2;
        } else {
            gsm = false;
            break;
        }
    }
    let (encoding, units, single, multi) = if gsm {
        (Encoding::Gsm7, septets, 160, 153)
    } else {
        (Encoding::Ucs2, text.encode_utf16().count(), 70, 67)
    };
    let (segments, per_segment) = if units <= single {
        (if units == 0 { 0 } else { 1 }, single)
    } else {
        (units.div_ceil(multi), multi)
    };
    let remaining = (segments.max(1) * per_segment).saturating_sub(units);
    Segments {
        encoding,
        units,
        segments,
        per_segment,
        remaining,
    }
}

impl Segments {
    /// `132/160 · 1 SMS` or `Unicode 75 · 2 SMS (67 each)`.
    pub fn label(&self) -> String {
        let enc = match self.encoding {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        };
        if self.segments <= 1 {
            format!(
                "{enc} {}/{} · {} SMS",
                self.units, self.per_segment, self.segments
            )
        } else {
            format!(
                "{enc} {} · {} SMS ({} each, {} left)",
                self.units, self.segments, self.per_segment, self.remaining
            )
        }
    }
}

/// Longest message accepted (ten SMS parts of GSM-7).
pub const MAX_MESSAGE_CHARS: usize = 1530;

/// The message as it will be sent (trimmed), or why it cannot be.
pub fn validate_message(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("the message is empty".into());
    }
    if t.chars().count() > MAX_MESSAGE_CHARS {
        return Err(format!(
            "the message is {} characters long; at most {MAX_MESSAGE_CHARS}",
            t.chars().count()
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err("the message contains control characters".into());
    }
    Ok(t.to_string())
}

// ---------------------------------------------------------------------------------------------
// Templates

/// Built-in templates (the config's `[broadcast.templates]` adds to or replaces them).
pub const DEFAULT_TEMPLATES: [(&str, &str); 4] = [
    (
        "evacuation",
        "EVACUATE {venue} now. Leave by the nearest marked exit and follow staff instructions. Do not use lifts.",
    ),
    (
        "delay",
        "{event} is delayed. Please stay where you are; we will update you within 30 minutes.",
    ),
    (
        "all_clear",
        "ALL CLEAR at {venue}: the situation is over. You may return; {event} will resume shortly.",
    ),
    (
        "correction",
        "CORRECTION: please disregard our previous message about {event}. No action is needed.",
    ),
];

/// `{event}`, `{venue}` and `{level}` filled in; any other `{…}` is an error.
pub fn expand_template(
    template: &str,
    event: Option<&str>,
    venue: &str,
    level: Level,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "template has an unclosed '{'".to_string())?;
        let key = &after[..close];
        match key {
            "event" => out.push_str(event.unwrap_or(venue)),
            "venue" => out.push_str(venue),
            "level" => out.push_str(&level.as_str().to_uppercase()),
            other => return Err(format!("template names unknown field '{{{other}}}'")),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Audience plan

/// One person reachable at the scope (attendee, confirmed model or staff).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub primary_channel: Option<String>,
}

/// E.164-ish: a leading +, then 8 to 15 digits (spaces allowed). The engine's rule.
pub fn valid_phone(p: &str) -> bool {
    let Some(rest) = p.trim().strip_prefix('+') else {
        return false;
    };
    let digits: Vec<char> = rest.chars().filter(|c| !c.is_whitespace()).collect();
    (8..=15).contains(&digits.len()) && digits.iter().all(|c| c.is_ascii_digit())
}

pub fn valid_email(e: &str) -> bool {
    let e = e.trim();
    match e.split_once('@') {
        Some((user, host)) => !user.is_empty() && host.contains('.') && !host.starts_with('.'),
        None => false,
    }
}

impl Person {
    fn phone_key(&self) -> Option<String> {
        self.phone
            .as_deref()
            .filter(|p| valid_phone(p))
            .map(|p| p.chars().filter(|c| !c.is_whitespace()).collect())
    }
    fn email_key(&self) -> Option<String> {
        self.email
            .as_deref()
            .filter(|e| valid_email(e))
            .map(|e| e.trim().to_ascii_lowercase())
    }
    fn address(&self, ch: Channel) -> Option<String> {
        if ch.uses_phone() {
            self.phone_key()
        } else {
            self.email_key()
        }
    }
}

/// Which channels a person gets:
/// - `channels` given (the operator's `--channels`): those of them the person can be reached on;
/// - critical (the seed's override): SMS and a voice call; e-mail only when there is no phone;
/// - otherwise the primary channel (no preference: e-mail, the seed's default); when its address
///   is missing, SMS, then e-mail.
pub fn channels_for(p: &Person, level: Level, channels: Option<&[Channel]>) -> Vec<Channel> {
    if let Some(list) = channels {
        return list
            .iter()
            .copied()
            .filter(|c| p.address(*c).is_some())
            .collect();
    }
    if level == Level::Critical {
        if p.phone_key().is_some() {
            return vec![Channel::Sms, Channel::Voice];
        }
        return if p.email_key().is_some() {
            vec![Channel::Email]
        } else {
            vec![]
        };
    }
    let preferred = p
        .primary_channel
        .as_deref()
        .and_then(|c| Channel::parse(c).ok())
        .unwrap_or(Channel::Email);
    [preferred, Channel::Sms, Channel::Email]
        .into_iter()
        .find(|c| p.address(*c).is_some())
        .into_iter()
        .collect()
}

/// One delivery to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub person_id: Uuid,
    pub channel: Channel,
}

/// What a broadcast will do, before anything is written.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// Distinct people in scope.
    pub people: usize,
    #[serde(skip)]
    pub deliveries: Vec<Planned>,
    pub by_channel: BTreeMap<Channel, usize>,
    /// People with no reachable channel (nothing is sent to them).
    pub unreachable: Vec<Person>,
    /// Deliveries skipped because the same phone/e-mail already gets that channel.
    pub duplicates: usize,
    /// People reached at least once.
    pub reached: usize,
}

/// Plans the deliveries for `people` (already distinct by id, in a stable order).
pub fn plan(people: &[Person], level: Level, channels: Option<&[Channel]>) -> Plan {
    let mut out = Plan {
        people: people.len(),
        ..Plan::default()
    };
    let mut seen: HashSet<(Channel, String)> = HashSet::new();
    let mut ids: HashSet<Uuid> = HashSet::new();
    for p in people {
        if !ids.insert(p.id) {
            out.people -= 1;
            continue;
        }
        let chans = channels_for(p, level, channels);
        if chans.is_empty() {
            out.unreachable.push(p.clone());
            continue;
        }
        let mut any = false;
        for ch in chans {
            let addr = p.address(ch).unwrap_or_default();
            if !seen.insert((ch, addr)) {
                out.duplicates += 1;
                continue;
            }
            any = true;
            out.deliveries.push(Planned {
                person_id: p.id,
                channel: ch,
            });
            *out.by_channel.entry(ch).or_default() += 1;
        }
        if any {
            out.reached += 1;
        }
    }
    out
}

/// `sms 120 · voice 120 · email 3`
pub fn channel_counts_label(by_channel: &BTreeMap<Channel, usize>) -> String {
    if by_channel.is_empty() {
        return "no deliveries".into();
    }
    by_channel
        .iter()
        .map(|(c, n)| format!("{} {n}", c.as_str()))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests;
