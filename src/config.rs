//! Configuration: command line > environment > config file. Database URLs are kept in a
//! [`SecretUrl`] whose Debug/Display never show the password.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub mod n8n;
pub use n8n::{ApiKey, N8nFileConfig, N8nSettings, QueueSettings, resolve_n8n, resolve_queue};

/// A database URL whose password is never printed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(s: impl Into<String>) -> Self {
        SecretUrl(s.into())
    }
    /// The real URL, for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", redact_url(&self.0))
    }
}
impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", redact_url(&self.0))
    }
}

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`; also hides `password=` query
/// parameters.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map(|i| rest_start + i)
            .unwrap_or(out.len());
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let pw_start = rest_start + colon + 1;
                let pw_end = rest_start + at;
                out.replace_range(pw_start..pw_end, "***");
            }
        }
    }
    redact_query_password(&out)
}

fn redact_query_password(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    match lower.find("password=") {
        None => s.to_string(),
        Some(i) => {
            let start = i + "password=".len();
            let end = s[start..]
                .find(['&', ' '])
                .map(|j| start + j)
                .unwrap_or(s.len());
            format!("{}***{}", &s[..start], redact_query_password(&s[end..]))
        }
    }
}

/// Redacts every URL-looking password inside a free text (driver error messages).
pub fn redact_in(text: &str) -> String {
    text.split(' ')
        .map(redact_url)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where the data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget {
    Postgres(SecretUrl),
    Sqlite(PathBuf),
}

impl DbTarget {
    pub fn parse(url: &str) -> Result<DbTarget, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbTarget::Postgres(SecretUrl::new(url)))
        } else if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or(rest);
            if path.is_empty() {
                return Err("sqlite URL has no file path (sqlite://PATH)".into());
            }
            Ok(DbTarget::Sqlite(PathBuf::from(path)))
        } else {
            Err(format!(
                "unsupported database URL '{}': use postgres://… or sqlite://PATH",
                redact_url(url)
            ))
        }
    }

    /// host:port/dbname for Postgres (never the password), the file path for SQLite.
    pub fn display_addr(&self) -> String {
        match self {
            DbTarget::Sqlite(p) => p.display().to_string(),
            DbTarget::Postgres(u) => match url::Url::parse(u.expose()) {
                Ok(parsed) => {
                    let host = parsed.host_str().unwrap_or("localhost");
                    let port = parsed.port().unwrap_or(5432);
                    let db = parsed.path().trim_start_matches('/');
                    if db.is_empty() {
                        format!("{host}:{port}")
                    } else {
                        format!("{host}:{port}/{db}")
                    }
                }
                Err(_) => redact_url(u.expose()),
            },
        }
    }

    /// host/dbname, as the status bar shows it.
    pub fn short_name(&self) -> String {
        match self {
            DbTarget::Sqlite(p) => p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            DbTarget::Postgres(u) => match url::Url::parse(u.expose()) {
                Ok(parsed) => format!(
                    "{}/{}",
                    parsed.host_str().unwrap_or("localhost"),
                    parsed.path().trim_start_matches('/')
                ),
                Err(_) => "postgres".into(),
            },
        }
    }
}

/// The config file, `$XDG_CONFIG_HOME/opsdeck/config.toml`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    /// A direct (or session-mode) connection that carries LISTEN alone, when `database_url`
    /// goes through a transaction pooler.
    pub listen_url: Option<String>,
    /// A read replica (hot standby): the console's views read there; actions go to
    /// `database_url`. `OPSDECK_READ_URL` says the same.
    pub read_url: Option<String>,
    /// Adopting an existing database (`opsdeck migrate`): put rollup and NOTIFY triggers on
    /// the writers' tables (default true). `false` adopts without them: the console polls, and
    /// reads the last hour from the tables through indexes. `--no-triggers` says the same.
    pub adopt_triggers: Option<bool>,
    /// Seconds between polls when LISTEN is unavailable (SQLite). Default 2.
    pub refresh_interval: Option<f64>,
    pub theme: Option<String>,
    /// The currency amounts are shown in (ISO 4217: `EUR`, `USD`…; default EUR). A code that
    /// is not three letters is an error naming the file and line.
    pub currency: Option<crate::domain::money::Currency>,
    pub operator: Option<String>,
    pub read_only: Option<bool>,
    pub log_file: Option<PathBuf>,
    /// The n8n instance to show beside the database (see [`N8nFileConfig`]).
    pub n8n: Option<N8nFileConfig>,
    /// Sections owned by later features; accepted so that a config written for them loads.
    /// `[broadcast]`: the emergency broadcast (issue 6).
    pub broadcast: Option<BroadcastConfig>,
    /// `[alerts]`: the control room's alert rules (issue 19).
    pub alerts: Option<AlertsConfig>,
    /// The context used when `--context` names none.
    pub context: Option<String>,
    /// `[contexts.NAME]`: several automation stacks in one file (a client each, staging and
    /// production); `--context NAME` or `context =` picks one, whose settings replace the
    /// top-level ones.
    pub contexts: Option<std::collections::BTreeMap<String, ContextConfig>>,
    /// The context in use, once applied ([`FileConfig::with_context`]).
    #[serde(skip)]
    pub active: Option<ActiveContext>,
}

/// `[contexts.NAME]`: a stack's own settings (any left out are the top level's).
#[derive(Debug, Default, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    pub database_url: Option<String>,
    pub listen_url: Option<String>,
    pub read_url: Option<String>,
    pub read_only: Option<bool>,
    pub currency: Option<crate::domain::money::Currency>,
    pub n8n: Option<N8nFileConfig>,
    /// A production stack: its name shows in the alert colour in the status bar.
    #[serde(default)]
    pub production: bool,
}

/// The context in use: its name and whether it is production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveContext {
    pub name: String,
    pub production: bool,
    /// The context names its database: it beats `DATABASE_URL` (not `--database-url`).
    pub sets_database: bool,
}

impl FileConfig {
    /// The names of the configured contexts, sorted.
    pub fn context_names(&self) -> Vec<String> {
        self.contexts
            .as_ref()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The config with context `name` (else `context =`, else none) applied: its settings
    /// replace the top level's. An unknown name says which exist.
    pub fn with_context(mut self, name: Option<&str>) -> Result<FileConfig, String> {
        let Some(name) = name.map(str::to_string).or_else(|| self.context.clone()) else {
            return Ok(self);
        };
        let Some(c) = self.contexts.as_ref().and_then(|m| m.get(&name)).cloned() else {
            let known = self.context_names();
            return Err(if known.is_empty() {
                format!("no context {name}: the config has no [contexts.NAME] sections")
            } else {
                format!("no context {name}: the config has {}", known.join(", "))
            });
        };
        macro_rules! over {
            ($($f:ident),*) => { $( if c.$f.is_some() { self.$f = c.$f.clone(); } )* };
        }
        over!(database_url, listen_url, read_url, read_only, currency, n8n);
        self.active = Some(ActiveContext {
            name,
            production: c.production,
            sets_database: c.database_url.is_some(),
        });
        Ok(self)
    }
}

/// `[alerts]` in the config file: the lines and switches of the alert rules, the seeds' values
/// by default. A value out of range names the file and line.
#[derive(Debug, Default, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Queue depth (pending + retrying) above which the queue alert fires (default 100).
    #[serde(default, deserialize_with = "positive")]
    pub queue_depth: Option<i64>,
    /// Per cent sold at which an event's waitlist alert fires (default 90; sold out always).
    #[serde(default, deserialize_with = "percent")]
    pub capacity_percent: Option<f64>,
    /// Minutes an approval may wait before its alert fires (default 30).
    #[serde(default, deserialize_with = "positive")]
    pub approval_age_minutes: Option<i64>,
    /// Seconds a condition must stay false before its alert clears (default 60).
    #[serde(default, deserialize_with = "positive")]
    pub clear_after_seconds: Option<i64>,
    /// Minutes a silence lasts when the comment names no length (default 60).
    #[serde(default, deserialize_with = "positive")]
    pub silence_minutes: Option<i64>,
    /// Ring the terminal bell when an alert is raised (default true).
    pub bell: Option<bool>,
    pub critical_errors: Option<bool>,
    pub n8n_down: Option<bool>,
    pub database_down: Option<bool>,
}

fn positive<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = i64::deserialize(d)?;
    if v <= 0 {
        return Err(serde::de::Error::custom(format!(
            "{v} is not a positive whole number"
        )));
    }
    Ok(Some(v))
}

fn percent<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v > 0.0 && v <= 100.0) {
        return Err(serde::de::Error::custom(format!(
            "{v} is not a per cent above 0 and at most 100"
        )));
    }
    Ok(Some(v))
}

impl AlertsConfig {
    /// The rules, with the seeds' values where the config says nothing.
    pub fn rules(&self) -> crate::domain::alert::AlertRules {
        let d = crate::domain::alert::AlertRules::default();
        crate::domain::alert::AlertRules {
            queue_depth: self.queue_depth.unwrap_or(d.queue_depth),
            capacity_pct: self.capacity_percent.unwrap_or(d.capacity_pct),
            approval_age_min: self.approval_age_minutes.unwrap_or(d.approval_age_min),
            critical_errors: self.critical_errors.unwrap_or(d.critical_errors),
            n8n_down: self.n8n_down.unwrap_or(d.n8n_down),
            database_down: self.database_down.unwrap_or(d.database_down),
            clear_after_s: self.clear_after_seconds.unwrap_or(d.clear_after_s),
            bell: self.bell.unwrap_or(d.bell),
            silence_min: self
                .silence_minutes
                .unwrap_or(d.silence_min)
                .min(crate::domain::action::MAX_SILENCE_MIN),
        }
    }
}

/// `[broadcast]` in the config file.
#[derive(Debug, Default, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BroadcastConfig {
    /// The n8n Emergency Broadcast System webhook, e.g.
    /// `http://n8n:5678/webhook/emergency-broadcast`. Unset: no webhook call, unless
    /// `n8n_webhook` is on.
    pub webhook_url: Option<String>,
    /// Call the webhook at the configured n8n (`[n8n] url` or `N8N_URL`) +
    /// `/webhook/emergency-broadcast` when `webhook_url` is not set (the seed's
    /// `POST {n8n}/webhook/emergency-broadcast`). Off by default.
    #[serde(default)]
    pub n8n_webhook: bool,
    /// The `X-Emergency-Auth` value. Prefer `webhook_auth_env`.
    pub webhook_auth: Option<String>,
    /// Environment variable holding the `X-Emergency-Auth` value
    /// (default `OPSDECK_EMERGENCY_AUTH`).
    pub webhook_auth_env: Option<String>,
    /// Webhook timeout in seconds (default 5).
    pub timeout: Option<f64>,
    /// Test mode sends only to these people.
    #[serde(default)]
    pub test_recipients: Vec<TestRecipient>,
    /// Extra or replacement message templates: name = "text with {event} {venue} {level}".
    #[serde(default)]
    pub templates: std::collections::BTreeMap<String, String>,
    /// Levels whose live broadcasts wait for a second operator's approval (four-eyes rule).
    #[serde(default)]
    pub second_operator_for: Vec<crate::domain::broadcast::Level>,
}

/// One of the operator's own test recipients.
#[derive(Debug, Default, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestRecipient {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// sms, whatsapp or email (default: e-mail when set, else sms).
    pub channel: Option<String>,
}

impl BroadcastConfig {
    pub const DEFAULT_AUTH_ENV: &'static str = "OPSDECK_EMERGENCY_AUTH";

    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout.filter(|t| *t > 0.0).unwrap_or(5.0))
    }

    /// The `X-Emergency-Auth` value: the environment variable first, then the file.
    pub fn auth(&self) -> Option<String> {
        let var = self
            .webhook_auth_env
            .as_deref()
            .unwrap_or(Self::DEFAULT_AUTH_ENV);
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| self.webhook_auth.clone())
    }

    /// The seed's webhook path under the n8n base URL.
    pub const N8N_WEBHOOK_PATH: &'static str = "/webhook/emergency-broadcast";

    /// Fills `webhook_url` from the n8n base URL (`n8n_url`: `N8N_URL`, else `[n8n] url`) when
    /// `n8n_webhook` is on and no `webhook_url` is given; an explicit `webhook_url` wins.
    /// `n8n_webhook` without any n8n URL is an error.
    pub fn with_n8n_default(mut self, n8n_url: Option<&str>) -> Result<BroadcastConfig, String> {
        if self
            .webhook_url
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty())
            || !self.n8n_webhook
        {
            return Ok(self);
        }
        let Some(base) = n8n_url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Err(
                "[broadcast] n8n_webhook = true needs the n8n URL ([n8n] url or N8N_URL), or set [broadcast] webhook_url"
                    .into(),
            );
        };
        let base = n8n::n8n_base(base, "[broadcast] n8n_webhook: bad n8n URL")?;
        self.webhook_url = Some(format!("{base}{}", Self::N8N_WEBHOOK_PATH));
        Ok(self)
    }

    /// Built-in templates overlaid with the configured ones, by name.
    pub fn templates(&self) -> Vec<(String, String)> {
        let mut all: std::collections::BTreeMap<String, String> =
            crate::domain::broadcast::DEFAULT_TEMPLATES
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        all.extend(self.templates.clone());
        all.into_iter().collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {msg}")]
    Read { path: String, msg: String },
    #[error("{path}:{line}: {msg}")]
    Parse {
        path: String,
        line: usize,
        msg: String,
    },
}

impl FileConfig {
    /// Loads a config file. A missing file at the default place is an empty config; a missing
    /// file named with --config is an error.
    pub fn load(path: &Path, required: bool) -> Result<FileConfig, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(FileConfig::default());
            }
            Err(e) => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    msg: e.to_string(),
                });
            }
        };
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, path: &str) -> Result<FileConfig, ConfigError> {
        toml::from_str::<FileConfig>(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            ConfigError::Parse {
                path: path.to_string(),
                line,
                msg: redact_in(e.message()),
            }
        })
    }

    pub fn refresh(&self) -> Duration {
        let secs = self.refresh_interval.filter(|s| *s >= 0.1).unwrap_or(2.0);
        Duration::from_secs_f64(secs)
    }
}

pub fn config_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|b| b.config_dir().to_path_buf()))
        .map(|p| p.join("opsdeck"))
}

pub fn data_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|b| b.data_dir().to_path_buf()))
        .map(|p| p.join("opsdeck"))
}

pub fn default_config_path() -> Option<PathBuf> {
    config_dir().map(|d| d.join("config.toml"))
}

/// `--database-url`, else `DATABASE_URL`, else the config file. None means: the embedded demo.
pub fn resolve_database_url(cli: Option<&str>, file: &FileConfig) -> Option<String> {
    // a context chosen by name, and naming its database, is what was asked for
    if cli.is_none() && file.active.as_ref().is_some_and(|c| c.sets_database) {
        return file.database_url.clone();
    }
    cli.map(str::to_string)
        .or_else(|| {
            std::env::var("DATABASE_URL")
                .ok()
                .filter(|s| !s.trim().is_empty())
        })
        .or_else(|| file.database_url.clone())
}

/// `OPSDECK_READ_URL`, else `read_url` in the config file.
pub fn resolve_read_url(file: &FileConfig) -> Option<String> {
    std::env::var("OPSDECK_READ_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| file.read_url.clone())
}

/// `OPSDECK_LISTEN_URL`, else `listen_url` in the config file.
pub fn resolve_listen_url(file: &FileConfig) -> Option<String> {
    std::env::var("OPSDECK_LISTEN_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| file.listen_url.clone())
}

/// `[broadcast]` with the webhook URL resolved (see [`BroadcastConfig::with_n8n_default`]): the
/// n8n base URL is `N8N_URL`, else `[n8n] url`.
pub fn resolve_broadcast(file: &FileConfig) -> Result<BroadcastConfig, String> {
    let n8n = n8n::env("N8N_URL").or_else(|| file.n8n.as_ref().and_then(|n| n.url.clone()));
    file.broadcast
        .clone()
        .unwrap_or_default()
        .with_n8n_default(n8n.as_deref())
}

/// `--operator`, else config, else `$USER@host`.
pub fn resolve_operator(cli: Option<&str>, file: &FileConfig) -> String {
    if let Some(o) = cli.map(str::to_string).or_else(|| file.operator.clone()) {
        return o;
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("{user}@{}", hostname())
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Where an operator acts from: the SSH client's address when set, else this host.
pub fn origin() -> String {
    match std::env::var("SSH_CLIENT") {
        Ok(s) if !s.trim().is_empty() => {
            format!("ssh:{}", s.split_whitespace().next().unwrap_or(""))
        }
        _ => format!("local:{}", hostname()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://bob:s3cret@db:5432/ops"),
            "postgres://bob:***@db:5432/ops"
        );
        assert_eq!(redact_url("postgres://bob@db/ops"), "postgres://bob@db/ops");
        assert_eq!(
            redact_url("postgres://db/ops?password=hunter2&x=1"),
            "postgres://db/ops?password=***&x=1"
        );
        let t = DbTarget::parse("postgres://bob:s3cret@db.example:6543/ops").unwrap();
        assert_eq!(t.display_addr(), "db.example:6543/ops");
        assert_eq!(t.short_name(), "db.example/ops");
        assert!(!format!("{t:?}").contains("s3cret"));
        assert!(!redact_in("error connecting to postgres://a:pw@h/d: refused").contains("pw@"));
    }

    #[test]
    fn parses_targets() {
        assert_eq!(
            DbTarget::parse("sqlite:///tmp/x.db").unwrap(),
            DbTarget::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            DbTarget::parse("sqlite:rel.db").unwrap(),
            DbTarget::Sqlite("rel.db".into())
        );
        assert!(
            DbTarget::parse("mysql://x")
                .unwrap_err()
                .contains("unsupported")
        );
    }

    #[test]
    fn config_errors_name_file_and_line() {
        let e = FileConfig::parse(
            "theme = \"light\"\nrefresh_interval = \"fast\"\n",
            "/etc/x.toml",
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("/etc/x.toml:2:"), "{s}");
        let e = FileConfig::parse("theme = \"light\"\n\nbogus = 1\n", "c.toml").unwrap_err();
        assert!(e.to_string().starts_with("c.toml:3:"), "{e}");
        assert!(e.to_string().contains("bogus"), "{e}");
        // a currency that is not an ISO code: file, line and what is expected
        let e = FileConfig::parse("theme = \"light\"\ncurrency = \"dollars\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2:"), "{e}");
        assert!(e.contains("ISO 4217"), "{e}");
        let c = FileConfig::parse("currency = \"usd\"\n", "c.toml").expect("usd");
        assert_eq!(c.currency.map(|c| c.code().to_string()), Some("USD".into()));
    }

    #[test]
    fn alerts_section_defaults_and_errors() {
        let f = FileConfig::parse("[alerts]\nqueue_depth = 250\nbell = false\n", "c.toml").unwrap();
        let r = f.alerts.unwrap().rules();
        assert_eq!(r.queue_depth, 250);
        assert!(!r.bell);
        assert_eq!(r.capacity_pct, 90.0);
        assert_eq!(r.approval_age_min, 30);
        let e = FileConfig::parse("[alerts]\n\ncapacity_percent = 120\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:3:"), "{e}");
        assert!(e.contains("at most 100"), "{e}");
        let e = FileConfig::parse("[alerts]\nqueue_depth = -1\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2:") && e.contains("positive"), "{e}");
        let e = FileConfig::parse("[alerts]\nqueue_dept = 5\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2:"), "{e}");
    }

    #[test]
    fn broadcast_section_is_typed() {
        let c = FileConfig::parse(
            "[broadcast]\nwebhook_url = \"http://n8n/webhook/emergency-broadcast\"\ntimeout = 2.5\n\
             second_operator_for = [\"critical\"]\n\
             test_recipients = [{ name = \"me\", phone = \"+33612345678\" }]\n\
             [broadcast.templates]\nfire = \"Fire at {venue}\"\n",
            "c.toml",
        )
        .unwrap();
        let b = c.broadcast.unwrap();
        assert_eq!(b.timeout(), Duration::from_millis(2500));
        assert_eq!(
            b.second_operator_for,
            vec![crate::domain::broadcast::Level::Critical]
        );
        assert_eq!(b.test_recipients[0].name, "me");
        assert!(b.templates().iter().any(|(k, _)| k == "fire"));
        assert!(b.templates().iter().any(|(k, _)| k == "evacuation"));
        assert!(!b.n8n_webhook, "the n8n default is off unless asked for");
        let e = FileConfig::parse("[broadcast]\n\nwebhook = \"x\"\n", "c.toml").unwrap_err();
        assert!(e.to_string().starts_with("c.toml:3:"), "{e}");
        let e = FileConfig::parse("[broadcast]\nsecond_operator_for = [\"panic\"]\n", "c.toml")
            .unwrap_err();
        assert!(e.to_string().starts_with("c.toml:2:"), "{e}");
    }
}

#[cfg(test)]
mod broadcast_webhook_tests {
    use super::*;

    fn cfg(toml: &str) -> BroadcastConfig {
        FileConfig::parse(toml, "c.toml")
            .unwrap()
            .broadcast
            .unwrap_or_default()
    }

    #[test]
    fn webhook_defaults_from_n8n_only_when_asked() {
        // on, n8n configured: the seed's path under the base URL (any /api/v1 or / dropped)
        let c = cfg("[broadcast]\nn8n_webhook = true\n");
        assert_eq!(
            c.clone()
                .with_n8n_default(Some("http://n8n:5678/api/v1/"))
                .unwrap()
                .webhook_url
                .as_deref(),
            Some("http://n8n:5678/webhook/emergency-broadcast")
        );
        // an explicit webhook_url wins
        let c = cfg("[broadcast]\nn8n_webhook = true\nwebhook_url = \"https://hooks.example/x\"\n");
        assert_eq!(
            c.with_n8n_default(Some("http://n8n:5678"))
                .unwrap()
                .webhook_url
                .as_deref(),
            Some("https://hooks.example/x")
        );
        // off (the default): n8n alone does not turn the webhook on
        let c = cfg("[broadcast]\n");
        assert_eq!(
            c.with_n8n_default(Some("http://n8n:5678"))
                .unwrap()
                .webhook_url,
            None
        );
        // on without any n8n URL, or with a bad one: a clear error
        let e = cfg("[broadcast]\nn8n_webhook = true\n")
            .with_n8n_default(None)
            .unwrap_err();
        assert!(e.contains("[n8n] url or N8N_URL"), "{e}");
        let e = cfg("[broadcast]\nn8n_webhook = true\n")
            .with_n8n_default(Some("n8n:5678"))
            .unwrap_err();
        assert!(e.contains("bad n8n URL"), "{e}");
    }
}
