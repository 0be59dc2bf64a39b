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
    /// n8n's queue (queue mode): `redis://[user:password@]host:port/db`. Else the variables n8n
    /// itself reads: `QUEUE_BULL_REDIS_HOST` (and `_PORT`, `_USERNAME`, `_PASSWORD`, `_DB`).
    pub redis_url: Option<super::SecretUrl>,
    /// Bull's key prefix (`QUEUE_BULL_PREFIX`; default `bull`).
    pub queue_prefix: Option<String>,
    /// For `rediss://`: the CA (PEM) that signed Redis's certificate, when it is not one the
    /// system trusts.
    pub redis_ca: Option<String>,
    /// The workers' health endpoints (`QUEUE_HEALTH_CHECK_ACTIVE=true` on each worker), e.g.
    /// `http://worker-1:5678` (`/healthz` is added when the URL has no path).
    #[serde(default)]
    pub workers: Vec<String>,
    /// Waiting jobs and nothing taken for this long is "not moving" (critical). Default 60 s.
    pub not_moving_after: Option<HumanDuration>,
    /// How often the console reads the queue. Default 2 s.
    pub queue_poll_interval: Option<HumanDuration>,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_POLL: Duration = Duration::from_secs(10);
pub const DEFAULT_QUEUE_POLL: Duration = Duration::from_secs(2);
pub const DEFAULT_NOT_MOVING: Duration = Duration::from_secs(60);

/// n8n's queue as configured: where its Redis is, the prefix, the health endpoints.
#[derive(Clone, PartialEq)]
pub struct QueueSettings {
    /// `redis://…` (the password inside; Debug shows it redacted).
    pub redis_url: super::SecretUrl,
    pub prefix: String,
    /// `rediss://`: a CA file (PEM) to trust instead of the system's.
    pub redis_ca: Option<std::path::PathBuf>,
    /// The main's base URL (`N8N_URL` or `[n8n] url`, with or without an API key): its
    /// `/healthz` and `/healthz/readiness` are probed.
    pub main_url: Option<String>,
    /// The workers' health URLs, each ending in `/healthz`.
    pub workers: Vec<String>,
    pub not_moving_after: Duration,
    pub poll_interval: Duration,
    pub timeout: Duration,
}

impl fmt::Debug for QueueSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueSettings")
            .field("redis_url", &self.redis_url)
            .field("prefix", &self.prefix)
            .field("main_url", &self.main_url.as_deref().map(redact_url))
            .field("workers", &self.workers)
            .field("not_moving_after", &self.not_moving_after)
            .finish()
    }
}

/// n8n's queue from the environment (n8n's own variable names) and the file; the environment
/// wins, as for `N8N_URL`. `Ok(None)`: no queue configured.
pub fn resolve_queue(file: &FileConfig) -> Result<Option<QueueSettings>, String> {
    resolve_queue_with(file, &|k| env(k))
}

/// [`resolve_queue`] with the environment passed in (tests).
pub fn resolve_queue_with(
    file: &FileConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<QueueSettings>, String> {
    let section = file.n8n.clone().unwrap_or_default();
    let url = match env("QUEUE_BULL_REDIS_HOST") {
        Some(host) => {
            let port = env("QUEUE_BULL_REDIS_PORT").unwrap_or_else(|| "6379".into());
            let port: u16 = port
                .trim()
                .parse()
                .map_err(|_| format!("QUEUE_BULL_REDIS_PORT '{port}' is not a port"))?;
            let db = env("QUEUE_BULL_REDIS_DB").unwrap_or_else(|| "0".into());
            let db: u32 = db
                .trim()
                .parse()
                .map_err(|_| format!("QUEUE_BULL_REDIS_DB '{db}' is not a database number"))?;
            let tls = env("QUEUE_BULL_REDIS_TLS").is_some_and(|t| t.trim() == "true");
            let mut u = url::Url::parse(&format!(
                "{}://placeholder:{port}/{db}",
                if tls { "rediss" } else { "redis" }
            ))
            .map_err(|e| e.to_string())?;
            u.set_host(Some(host.trim()))
                .map_err(|_| format!("QUEUE_BULL_REDIS_HOST '{host}' is not a host"))?;
            if let Some(p) = env("QUEUE_BULL_REDIS_PASSWORD") {
                let user = env("QUEUE_BULL_REDIS_USERNAME").unwrap_or_default();
                u.set_username(&user)
                    .map_err(|_| "QUEUE_BULL_REDIS_USERNAME: bad user")?;
                u.set_password(Some(&p))
                    .map_err(|_| "QUEUE_BULL_REDIS_PASSWORD: bad")?;
            }
            Some(super::SecretUrl::new(u.to_string()))
        }
        None => section
            .redis_url
            .clone()
            .filter(|u| !u.expose().trim().is_empty()),
    };
    let Some(redis_url) = url else {
        return Ok(None);
    };
    match url::Url::parse(redis_url.expose().trim()) {
        Ok(u) if matches!(u.scheme(), "redis" | "rediss") && u.host_str().is_some() => {}
        _ => {
            return Err(format!(
                "n8n queue: bad Redis URL '{redis_url}': use redis://[user:password@]host:port/db"
            ));
        }
    }
    let prefix = env("QUEUE_BULL_PREFIX")
        .or(section.queue_prefix.clone())
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "bull".into());
    let main_url = match env("N8N_URL").or(section.url.clone().filter(|u| !u.trim().is_empty())) {
        Some(u) => Some(n8n_base(&u, "n8n: bad URL")?),
        None => None,
    };
    let workers = section
        .workers
        .iter()
        .map(|w| {
            let base = n8n_base(w, "n8n queue: bad worker health URL")?;
            let u = url::Url::parse(&base).map_err(|e| e.to_string())?;
            Ok(if u.path() == "/" || u.path().is_empty() {
                format!("{base}/healthz")
            } else {
                base
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let redis_ca = section
        .redis_ca
        .clone()
        .filter(|c| !c.trim().is_empty())
        .map(std::path::PathBuf::from);
    Ok(Some(QueueSettings {
        redis_url,
        prefix,
        redis_ca,
        main_url,
        workers,
        not_moving_after: section
            .not_moving_after
            .map(|d| d.0)
            .unwrap_or(DEFAULT_NOT_MOVING),
        poll_interval: section
            .queue_poll_interval
            .map(|d| d.0)
            .unwrap_or(DEFAULT_QUEUE_POLL),
        timeout: section
            .timeout
            .map(|d| d.0)
            .unwrap_or(Duration::from_secs(2)),
    }))
}

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

/// `N8N_URL`/`N8N_API_KEY`, else `[n8n]` url/api_key. `Ok(None)`: n8n's REST API is not
/// configured. A URL without a key (or the reverse) is an error that says what is missing,
/// unless n8n's queue is configured: then the URL alone is where its health is probed.
pub fn resolve_n8n(file: &FileConfig) -> Result<Option<N8nSettings>, String> {
    let r = resolve_with(file, env("N8N_URL"), env("N8N_API_KEY").map(ApiKey::new));
    let queue = env("QUEUE_BULL_REDIS_HOST").is_some()
        || file.n8n.as_ref().is_some_and(|n| n.redis_url.is_some());
    let key =
        env("N8N_API_KEY").is_some() || file.n8n.as_ref().is_some_and(|n| n.api_key.is_some());
    match r {
        Err(_) if queue && !key => Ok(None),
        r => r,
    }
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
    fn the_queue_from_n8ns_variables_or_the_file() {
        let c = FileConfig::parse(
            "[n8n]\nredis_url = \"redis://:s3cret@cache:6380/2\"\nqueue_prefix = \"n8nq\"\n\
             workers = [\"http://w1:5678\", \"http://w2:5679/healthz\"]\nnot_moving_after = \"30s\"\n",
            "c.toml",
        )
        .unwrap();
        let none = |_: &str| None;
        let q = resolve_queue_with(&c, &none).unwrap().unwrap();
        assert_eq!(q.redis_url.expose(), "redis://:s3cret@cache:6380/2");
        assert_eq!(q.prefix, "n8nq");
        assert_eq!(
            q.workers,
            vec!["http://w1:5678/healthz", "http://w2:5679/healthz"]
        );
        assert_eq!(q.not_moving_after, Duration::from_secs(30));
        assert!(!format!("{q:?}").contains("s3cret"));
        // n8n's own variables win, with its defaults
        let env = |k: &str| match k {
            "QUEUE_BULL_REDIS_HOST" => Some("redis.internal".to_string()),
            "QUEUE_BULL_REDIS_PASSWORD" => Some("p@ss word".to_string()),
            "QUEUE_BULL_PREFIX" => Some("bull2".to_string()),
            _ => None,
        };
        let q = resolve_queue_with(&c, &env).unwrap().unwrap();
        assert_eq!(
            q.redis_url.expose(),
            "redis://:p%40ss%20word@redis.internal:6379/0"
        );
        assert_eq!(q.prefix, "bull2");
        let bad = |k: &str| {
            (k == "QUEUE_BULL_REDIS_HOST" || k == "QUEUE_BULL_REDIS_PORT").then(|| {
                if k == "QUEUE_BULL_REDIS_PORT" {
                    "sixty".to_string()
                } else {
                    "h".to_string()
                }
            })
        };
        assert!(
            resolve_queue_with(&c, &bad)
                .unwrap_err()
                .contains("QUEUE_BULL_REDIS_PORT")
        );
        assert_eq!(
            resolve_queue_with(&FileConfig::default(), &none).unwrap(),
            None
        );
        let c = FileConfig::parse("[n8n]\nredis_url = \"http://x\"\n", "c.toml").unwrap();
        assert!(
            resolve_queue_with(&c, &none)
                .unwrap_err()
                .contains("bad Redis URL")
        );
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
