//! The n8n connection: `N8N_URL` / `N8N_API_KEY` in the environment, else the config file's
//! `[n8n]` table. The API key lives in an [`ApiKey`], whose Debug/Display never show it.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::{FileConfig, redact_url};

/// An n8n API key. Printed as `***`; [`ApiKey::expose`] is for the request header only.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(s: impl Into<String>) -> Self {
        ApiKey(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}
impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A duration written as `"5s"`, `"500ms"`, `"2m"`, or a number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(f64),
            Text(String),
        }
        let parsed = match Raw::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a duration like \"5s\" or 5"))?
        {
            Raw::Secs(s) => secs(s),
            Raw::Text(t) => parse_duration(&t),
        };
        parsed.map(HumanDuration).map_err(serde::de::Error::custom)
    }
}

fn secs(s: f64) -> Result<Duration, String> {
    if s.is_finite() && s > 0.0 && s < 86_400.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(format!(
            "duration {s} out of range (more than 0, less than a day)"
        ))
    }
}

/// `"5s"`, `"1.5s"`, `"500ms"`, `"2m"`, `"10"` (seconds).
pub fn parse_duration(t: &str) -> Result<Duration, String> {
    let t = t.trim();
    let bad = || format!("bad duration \"{t}\": use e.g. \"5s\", \"500ms\" or \"2m\"");
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    let s = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        _ => return Err(bad()),
    };
    secs(s).map_err(|_| bad())
}

/// The config file's `[n8n]` table.
#[derive(Debug, Default, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct N8nFileConfig {
    /// Base URL, e.g. `http://127.0.0.1:5678` (without `/api/v1`).
    pub url: Option<String>,
    pub api_key: Option<ApiKey>,
    /// Per-request timeout. Default 5 s.
    pub timeout: Option<HumanDuration>,
    /// How often the console polls n8n. Default 10 s.
    pub poll_interval: Option<HumanDuration>,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_POLL: Duration = Duration::from_secs(10);

/// A configured n8n, resolved from the environment and the file.
#[derive(Clone, PartialEq)]
pub struct N8nSettings {
    /// Without a trailing slash.
    pub url: String,
    pub api_key: ApiKey,
    pub timeout: Duration,
    pub poll_interval: Duration,
}

impl fmt::Debug for N8nSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("N8nSettings")
            .field("url", &redact_url(&self.url))
            .field("api_key", &self.api_key)
            .field("timeout", &self.timeout)
            .field("poll_interval", &self.poll_interval)
            .finish()
    }
}

/// An environment variable, unless unset or blank.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.trim().is_empty())
}

/// An n8n base URL as given (`N8N_URL` or `[n8n] url`): trimmed, without a trailing `/` or
/// `/api/v1`, and http(s). `bad` starts the error message ("n8n: bad URL").
pub(crate) fn n8n_base(url: &str, bad: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix("/api/v1").unwrap_or(url);
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(url.to_string()),
        _ => Err(format!(
            "{bad} '{}': use http(s)://HOST:PORT",
            redact_url(url)
        )),
    }
}

/// `N8N_URL`/`N8N_API_KEY`, else `[n8n]` url/api_key. `Ok(None)`: n8n is not configured.
/// A URL without a key (or the reverse) is an error that says what is missing.
pub fn resolve_n8n(file: &FileConfig) -> Result<Option<N8nSettings>, String> {
    resolve_with(file, env("N8N_URL"), env("N8N_API_KEY").map(ApiKey::new))
}

/// [`resolve_n8n`] with the environment passed in (tests).
pub fn resolve_with(
    file: &FileConfig,
    env_url: Option<String>,
    env_key: Option<ApiKey>,
) -> Result<Option<N8nSettings>, String> {
    let section = file.n8n.clone().unwrap_or_default();
    let url = env_url.or(section.url.filter(|u| !u.trim().is_empty()));
    let key = env_key.or(section.api_key.filter(|k| !k.0.trim().is_empty()));
    let (url, api_key) = match (url, key) {
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(
                "n8n: a URL is configured but no API key (set N8N_API_KEY or [n8n] api_key)".into(),
            );
        }
        (None, Some(_)) => {
            return Err(
                "n8n: an API key is configured but no URL (set N8N_URL or [n8n] url)".into(),
            );
        }
        (Some(u), Some(k)) => (u, k),
    };
    let url = n8n_base(&url, "n8n: bad URL")?;
    Ok(Some(N8nSettings {
        url,
        api_key,
        timeout: section.timeout.map(|d| d.0).unwrap_or(DEFAULT_TIMEOUT),
        poll_interval: section.poll_interval.map(|d| d.0).unwrap_or(DEFAULT_POLL),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_n8n_table() {
        let c = FileConfig::parse(
            "[n8n]\nurl = \"http://n8n:5678/\"\napi_key = \"k-123\"\ntimeout = \"1500ms\"\npoll_interval = 3\n",
            "c.toml",
        )
        .unwrap();
        let s = resolve_with(&c, None, None).unwrap().unwrap();
        assert_eq!(s.url, "http://n8n:5678");
        assert_eq!(s.api_key.expose(), "k-123");
        assert_eq!(s.timeout, Duration::from_millis(1500));
        assert_eq!(s.poll_interval, Duration::from_secs(3));
        let dbg = format!("{s:?} {c:?}");
        assert!(!dbg.contains("k-123"), "{dbg}");
        // the environment wins
        let s = resolve_with(&c, Some("https://x/api/v1".into()), Some(ApiKey::new("e")))
            .unwrap()
            .unwrap();
        assert_eq!((s.url.as_str(), s.api_key.expose()), ("https://x", "e"));
    }

    #[test]
    fn bad_n8n_keys_name_file_and_line() {
        let e = FileConfig::parse(
            "theme = \"x\"\n[n8n]\nurl = \"http://a\"\napikey = \"k\"\n",
            "c.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("c.toml:4:"), "{e}");
        assert!(e.contains("apikey"), "{e}");
        let e = FileConfig::parse("[n8n]\ntimeout = \"soon\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2:") && e.contains("soon"), "{e}");
    }

    #[test]
    fn half_configured_is_an_error() {
        let c = FileConfig::default();
        assert_eq!(resolve_with(&c, None, None).unwrap(), None);
        assert!(
            resolve_with(&c, Some("http://a".into()), None)
                .unwrap_err()
                .contains("API key")
        );
        assert!(
            resolve_with(&c, None, Some(ApiKey::new("k")))
                .unwrap_err()
                .contains("URL")
        );
        assert!(resolve_with(&c, Some("ftp://a".into()), Some(ApiKey::new("k"))).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5h").is_err());
    }
}
