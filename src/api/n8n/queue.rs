//! n8n's queue in Redis (queue mode) and the health endpoints of its main and workers: one
//! [`QueuePolled`] per poll, read by the console's own task (a dead Redis or a hung worker never
//! holds up drawing: every call has a timeout) and by `opsdeck status`. The key layout is in
//! [`crate::domain::n8n_queue`]. Reads only: opsdeck never writes to n8n's Redis.

use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};
use tokio::sync::{Mutex, mpsc};

use crate::config::QueueSettings;
use crate::domain::n8n::N8nDown;
use crate::domain::n8n_queue::{
    ACTIVE_READ, BullCounts, HealthLine, QueueJob, QueuePolled, QueueSample, key, parse_client_list,
};

/// Reads one n8n queue; keeps its connection between polls and makes a new one after a failure.
pub struct QueueReader {
    client: redis::Client,
    /// `host:port/db`, for messages (never the password).
    pub target: String,
    pub prefix: String,
    timeout: Duration,
    conn: Mutex<Option<MultiplexedConnection>>,
}

impl QueueReader {
    pub fn new(s: &QueueSettings) -> Result<QueueReader, String> {
        let url = s.redis_url.expose().trim();
        let client = match &s.redis_ca {
            // rediss:// with a CA of its own (else the system's trusted roots)
            Some(ca) if url.starts_with("rediss:") => {
                let pem = std::fs::read(ca).map_err(|e| {
                    format!("n8n queue: cannot read redis_ca {}: {e}", ca.display())
                })?;
                redis::Client::build_with_tls(
                    url,
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem),
                    },
                )
            }
            _ => redis::Client::open(url),
        }
        .map_err(|e| format!("n8n queue: bad Redis URL '{}': {e}", s.redis_url))?;
        let target = url::Url::parse(s.redis_url.expose().trim())
            .map(|u| {
                format!(
                    "{}:{}{}",
                    u.host_str().unwrap_or("?"),
                    u.port().unwrap_or(6379),
                    match u.path().trim_start_matches('/') {
                        "" | "0" => String::new(),
                        db => format!("/{db}"),
                    }
                )
            })
            .unwrap_or_else(|_| "?".into());
        Ok(QueueReader {
            client,
            target,
            prefix: s.prefix.clone(),
            timeout: s.timeout,
            conn: Mutex::new(None),
        })
    }

    fn down(&self, e: &redis::RedisError) -> N8nDown {
        let code = e.code().unwrap_or_default();
        let text = crate::config::redact_in(&e.to_string());
        let (short, full) = if matches!(code, "WRONGPASS" | "NOAUTH")
            || e.kind() == redis::ErrorKind::AuthenticationFailed
            || text.contains("without any password configured")
            || text.contains("invalid password")
        {
            (
                "password refused".to_string(),
                format!(
                    "Redis at {} refused the login ({}): check QUEUE_BULL_REDIS_PASSWORD or the password in [n8n] redis_url",
                    self.target,
                    if code.is_empty() {
                        "authentication failed"
                    } else {
                        code
                    }
                ),
            )
        } else if text.contains("certificate") || text.contains("Certificate") {
            (
                "TLS refused".to_string(),
                format!(
                    "Redis at {}: its TLS certificate is not trusted ({text}): set [n8n] redis_ca to the CA that signed it",
                    self.target
                ),
            )
        } else if e.is_timeout() {
            (
                "timed out".to_string(),
                format!(
                    "Redis at {} did not answer within {} ms",
                    self.target,
                    self.timeout.as_millis()
                ),
            )
        } else if e.is_connection_refusal() || e.is_io_error() {
            (
                "cannot connect".to_string(),
                format!("Redis at {}: cannot connect ({text})", self.target),
            )
        } else {
            (
                if code.is_empty() { "error" } else { code }.to_string(),
                format!("Redis at {}: {text}", self.target),
            )
        };
        N8nDown { short, full }
    }

    async fn connection(&self) -> Result<MultiplexedConnection, redis::RedisError> {
        let mut g = self.conn.lock().await;
        if let Some(c) = g.as_ref() {
            return Ok(c.clone());
        }
        let cfg = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let c = self
            .client
            .get_multiplexed_async_connection_with_config(&cfg)
            .await?;
        *g = Some(c.clone());
        Ok(c)
    }

    /// One read of the queue: a PING (timed), the counts, the next job and the active jobs'
    /// ids, the workers' connections, the jobs' hashes and locks. Four round trips whatever the
    /// queue's size.
    pub async fn sample(&self) -> Result<QueueSample, N8nDown> {
        let r = self.read().await;
        if r.is_err() {
            // a new connection next time
            *self.conn.lock().await = None;
        }
        r.map_err(|e| self.down(&e))
    }

    async fn read(&self) -> Result<QueueSample, redis::RedisError> {
        let mut c = self.connection().await?;
        let t0 = Instant::now();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        let redis_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let k = |w: &str| key(&self.prefix, w);
        let mut p = redis::pipe();
        p.cmd("LLEN")
            .arg(k("wait"))
            .cmd("LLEN")
            .arg(k("active"))
            .cmd("LLEN")
            .arg(k("paused"))
            .cmd("ZCARD")
            .arg(k("delayed"))
            .cmd("ZCARD")
            .arg(k("failed"))
            .cmd("ZCARD")
            .arg(k("completed"))
            .cmd("GET")
            .arg(k("id"))
            .cmd("LINDEX")
            .arg(k("wait"))
            .arg(-1)
            .cmd("LRANGE")
            .arg(k("active"))
            .arg(0)
            .arg(ACTIVE_READ as i64 - 1)
            .cmd("EXISTS")
            .arg(k("meta-paused"));
        let v: Vec<Value> = p.query_async(&mut c).await?;
        let n = |i: usize| -> u64 { redis::from_redis_value_ref(&v[i]).unwrap_or(0) };
        let counts = BullCounts {
            waiting: n(0),
            active: n(1),
            paused: n(2),
            delayed: n(3),
            failed: n(4),
            completed: n(5),
        };
        let last_id: Option<u64> = redis::from_redis_value_ref::<Option<String>>(&v[6])
            .ok()
            .flatten()
            .and_then(|s| s.trim().parse().ok());
        let next_id: Option<String> = redis::from_redis_value_ref(&v[7]).unwrap_or(None);
        let active_ids: Vec<String> = redis::from_redis_value_ref(&v[8]).unwrap_or_default();
        let paused = n(9) > 0;
        // CLIENT LIST is an admin command: a least-privilege Redis user may not run it, and
        // then who is connected is unknown (never "no worker")
        let workers = match redis::cmd("CLIENT")
            .arg("LIST")
            .query_async::<String>(&mut c)
            .await
        {
            Ok(list) => Some(parse_client_list(&list, &self.prefix)),
            Err(e) if e.code() == Some("NOPERM") => None,
            Err(e) => return Err(e),
        };
        // the jobs' hashes and the active ones' locks
        let mut p = redis::pipe();
        let ids: Vec<&String> = next_id.iter().chain(active_ids.iter()).collect();
        for id in &ids {
            p.cmd("HMGET")
                .arg(k(id))
                .arg("data")
                .arg("timestamp")
                .arg("processedOn");
        }
        for id in &active_ids {
            p.cmd("GET")
                .arg(format!("{}:lock", k(id)))
                .cmd("PTTL")
                .arg(format!("{}:lock", k(id)));
        }
        let jobs: Vec<Value> = if ids.is_empty() {
            Vec::new()
        } else {
            p.query_async(&mut c).await?
        };
        let job_of = |i: usize, id: &str| -> QueueJob {
            let h: Vec<Option<String>> = redis::from_redis_value_ref(&jobs[i]).unwrap_or_default();
            let data: serde_json::Value = h
                .first()
                .cloned()
                .flatten()
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or_default();
            let ms = |j: usize| {
                h.get(j)
                    .cloned()
                    .flatten()
                    .and_then(|t| t.parse::<i64>().ok())
                    .and_then(chrono::DateTime::from_timestamp_millis)
            };
            let s = |k: &str| match &data[k] {
                serde_json::Value::String(s) => Some(crate::domain::sanitize::clean(s)),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            QueueJob {
                job_id: crate::domain::sanitize::clean(id),
                execution_id: s("executionId"),
                workflow_id: s("workflowId"),
                enqueued_at: ms(1),
                started_at: ms(2),
                lock: None,
                lock_ttl_ms: None,
            }
        };
        let next = next_id.as_deref().map(|id| job_of(0, id));
        let off = usize::from(next.is_some());
        let locks = off + active_ids.len();
        let active = active_ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut j = job_of(off + i, id);
                j.lock = redis::from_redis_value_ref(&jobs[locks + 2 * i]).unwrap_or(None);
                j.lock_ttl_ms = redis::from_redis_value_ref::<i64>(&jobs[locks + 2 * i + 1])
                    .ok()
                    .filter(|t| *t >= 0);
                j
            })
            .collect();
        Ok(QueueSample {
            counts,
            last_id,
            next,
            active,
            workers: workers.clone().unwrap_or_default(),
            workers_known: workers.is_some(),
            paused,
            redis_ms,
        })
    }
}

/// The HTTP health endpoints: the main's `/healthz` and `/healthz/readiness`, each worker's.
pub struct Probes {
    http: reqwest::Client,
    targets: Vec<(String, String)>,
}

impl Probes {
    pub fn new(s: &QueueSettings) -> Probes {
        let mut targets = Vec::new();
        if let Some(m) = &s.main_url {
            targets.push(("n8n main".to_string(), format!("{m}/healthz")));
            targets.push((
                "n8n main readiness".to_string(),
                format!("{m}/healthz/readiness"),
            ));
        }
        for (i, w) in s.workers.iter().enumerate() {
            targets.push((format!("worker {}", i + 1), w.clone()));
        }
        Probes {
            http: reqwest::Client::builder()
                .timeout(s.timeout)
                .build()
                .unwrap_or_default(),
            targets,
        }
    }

    pub async fn probe(&self) -> Vec<HealthLine> {
        let one = |(component, url): &(String, String)| {
            let http = self.http.clone();
            let (component, url) = (component.clone(), url.clone());
            async move {
                let t0 = Instant::now();
                let r = http.get(&url).send().await;
                let ms = t0.elapsed().as_secs_f64() * 1000.0;
                let target = crate::config::redact_url(&url);
                match r {
                    Ok(r) if r.status().is_success() => HealthLine {
                        component,
                        target,
                        ok: true,
                        detail: "ok".into(),
                        latency_ms: Some(ms),
                    },
                    Ok(r) => HealthLine {
                        component,
                        target,
                        ok: false,
                        detail: format!("HTTP {}", r.status().as_u16()),
                        latency_ms: Some(ms),
                    },
                    Err(e) => HealthLine {
                        component,
                        target,
                        ok: false,
                        detail: if e.is_timeout() {
                            "timed out".into()
                        } else if e.is_connect() {
                            "cannot connect".into()
                        } else {
                            "no answer".into()
                        },
                        latency_ms: None,
                    },
                }
            }
        };
        futures::future::join_all(self.targets.iter().map(one)).await
    }
}

/// One poll: Redis and the endpoints at once.
pub async fn poll_once(reader: &QueueReader, probes: &Probes) -> QueuePolled {
    let (redis, health) = tokio::join!(reader.sample(), probes.probe());
    QueuePolled {
        at: chrono::Utc::now(),
        redis,
        health,
    }
}

/// Polls until the receiver is gone. The first poll is immediate; while Redis is down the
/// interval doubles up to 15 s (the health endpoints are probed on the same beat).
pub async fn run(s: QueueSettings, tx: mpsc::Sender<QueuePolled>) {
    // a reader that cannot be made (an unreadable CA file) is tried again, slowly
    let reader = loop {
        match QueueReader::new(&s) {
            Ok(r) => break r,
            Err(e) => {
                let down = QueuePolled {
                    at: chrono::Utc::now(),
                    redis: Err(N8nDown {
                        short: "bad settings".into(),
                        full: e,
                    }),
                    health: Vec::new(),
                };
                if tx.send(down).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(15)).await;
            }
        }
    };
    let probes = Probes::new(&s);
    let every = s.poll_interval.max(Duration::from_millis(500));
    let mut wait = every;
    loop {
        let p = poll_once(&reader, &probes).await;
        wait = if p.redis.is_ok() {
            every
        } else {
            (wait * 2).min(Duration::from_secs(15)).max(every)
        };
        if let Err(e) = &p.redis {
            tracing::info!(error = %e.full, "n8n queue read failed");
        }
        if tx.send(p).await.is_err() {
            return;
        }
        tokio::time::sleep(wait).await;
    }
}
