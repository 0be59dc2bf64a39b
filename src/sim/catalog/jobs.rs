//! Seed 004's job types (and the broadcast deliveries), with their retry policy and errors.

use super::*;

/// A job type of seed 004 (plus the broadcast deliveries).
pub struct JobDef {
    pub job_type: &'static str,
    pub priority: i64,
    pub max_attempts: i64,
    /// Seed 004's retryDelay (first retry), seconds; doubles each attempt.
    pub retry_s: u64,
    pub ms: (u32, u32),
    /// Share of enqueued load.
    pub weight: u32,
    pub fail_p: f64,
    pub errors: &'static [ErrDef],
}

pub static JOBS: &[JobDef] = &[
    JobDef {
        job_type: "email.send",
        priority: 5,
        max_attempts: 3,
        retry_s: 60,
        ms: (40, 300),
        weight: 35,
        fail_p: 0.03,
        errors: &[
            SENDGRID_AUTH,
            NET_RESET,
            ("rate_limit", "SendGrid 429: too many requests"),
        ],
    },
    JobDef {
        job_type: "analytics.sync",
        priority: 0,
        max_attempts: 5,
        retry_s: 300,
        ms: (150, 900),
        weight: 12,
        fail_p: 0.04,
        errors: &[
            NET_DNS,
            ("timeout", "Google Analytics API timeout after 30s"),
        ],
    },
    JobDef {
        job_type: "content.generate",
        priority: 2,
        max_attempts: 2,
        retry_s: 30,
        ms: (300, 1500),
        weight: 10,
        fail_p: 0.05,
        errors: &[OPENAI_TIMEOUT, OPENAI_429, BAD_JSON],
    },
    JobDef {
        job_type: "image.process",
        priority: 1,
        max_attempts: 3,
        retry_s: 60,
        ms: (150, 1200),
        weight: 12,
        fail_p: 0.03,
        errors: &[
            ("timeout", "Cloudinary upload timed out after 45s"),
            ("validation", "unsupported image format: image/heic"),
        ],
    },
    JobDef {
        job_type: "report.generate",
        priority: 0,
        max_attempts: 3,
        retry_s: 120,
        ms: (200, 1500),
        weight: 8,
        fail_p: 0.02,
        errors: &[
            ("timeout", "statement timeout: report query exceeded 60s"),
            BAD_JSON,
        ],
    },
    JobDef {
        job_type: "data.export",
        priority: 0,
        max_attempts: 3,
        retry_s: 120,
        ms: (150, 800),
        weight: 8,
        fail_p: 0.02,
        errors: &[
            NET_RESET,
            ("validation", "export filter references unknown column"),
        ],
    },
    JobDef {
        job_type: "social.post",
        priority: 3,
        max_attempts: 3,
        retry_s: 60,
        ms: (80, 400),
        weight: 15,
        fail_p: 0.04,
        errors: &[
            INSTAGRAM_429,
            NET_DNS,
            (
                "authentication_failed",
                "LinkedIn 401: access token expired",
            ),
        ],
    },
    JobDef {
        job_type: "broadcast.sms",
        priority: 100,
        max_attempts: 3,
        retry_s: 10,
        ms: (50, 300),
        weight: 0,
        fail_p: 0.01,
        errors: &[TWILIO_429],
    },
    JobDef {
        job_type: "broadcast.whatsapp",
        priority: 100,
        max_attempts: 3,
        retry_s: 10,
        ms: (50, 300),
        weight: 0,
        fail_p: 0.02,
        errors: &[WHATSAPP_429],
    },
    JobDef {
        job_type: "broadcast.email",
        priority: 100,
        max_attempts: 3,
        retry_s: 10,
        ms: (50, 300),
        weight: 0,
        fail_p: 0.01,
        errors: &[("rate_limit", "SendGrid 429: too many requests")],
    },
    JobDef {
        job_type: "broadcast.voice",
        priority: 100,
        max_attempts: 2,
        retry_s: 20,
        ms: (200, 900),
        weight: 0,
        fail_p: 0.02,
        errors: &[("timeout", "Twilio voice call not answered within 30s")],
    },
];

/// Defaults for a job type this catalog does not know (a populated database).
pub static UNKNOWN_JOB: JobDef = JobDef {
    job_type: "unknown",
    priority: 0,
    max_attempts: 3,
    retry_s: 60,
    ms: (50, 500),
    weight: 0,
    fail_p: 0.02,
    errors: &[NET_RESET, BAD_JSON],
};

pub fn job(job_type: &str) -> &'static JobDef {
    JOBS.iter()
        .find(|j| j.job_type == job_type)
        .unwrap_or(&UNKNOWN_JOB)
}
