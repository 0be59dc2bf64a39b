//! What the simulated platform is made of, from the seeds: the workflows (000 phases 3–8, 001's
//! multi-step sequences, 002's provisioning saga), their steps, the job types of seed 004 and the
//! error types the seeds name. Static data only.

/// How the run driver treats a workflow's runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Steps one after the other; a step may fail with one of the workflow's errors.
    Plain,
    /// Seed 001: long steps separated by delays; `workflows.next_execution_at` follows the next due step.
    Sequence,
    /// Seed 000 phase 4: posts a rate negotiation; parks at a human when the rule says so.
    Negotiation,
    /// Seed 002: creates resources in order; on failure rolls them back in reverse order.
    Saga,
    /// Seed 000 phase 3: writes capacity_alerts for crossed thresholds.
    Capacity,
    /// Seed 000 phase 6: writes reconciliation_runs and discrepancies.
    Reconciliation,
    /// Seed 000 phase 8: hourly error analysis over workflow_errors.
    ErrorAnalysis,
    /// Seed 000 phase 5: follows one emergency broadcast until its deliveries are done.
    Broadcast,
}

#[derive(Debug, Clone, Copy)]
pub struct StepDef {
    pub name: &'static str,
    /// Simulated work time of the step, min..max ms.
    pub ms: (u32, u32),
    /// Simulated wait before the step starts (sequences), seconds.
    pub delay_s: u64,
    /// A job the step enqueues (attributed to the workflow).
    pub job: Option<&'static str>,
}

const fn s(name: &'static str, lo: u32, hi: u32) -> StepDef {
    StepDef {
        name,
        ms: (lo, hi),
        delay_s: 0,
        job: None,
    }
}
const fn sj(name: &'static str, lo: u32, hi: u32, job: &'static str) -> StepDef {
    StepDef {
        name,
        ms: (lo, hi),
        delay_s: 0,
        job: Some(job),
    }
}
/// A sequence step: waits `delay_s` (simulated) first.
const fn sd(name: &'static str, delay_s: u64, job: &'static str) -> StepDef {
    StepDef {
        name,
        ms: (200, 1500),
        delay_s,
        job: Some(job),
    }
}

pub struct WfDef {
    pub name: &'static str,
    pub trigger: &'static str,
    pub description: &'static str,
    pub kind: Kind,
    pub steps: &'static [StepDef],
    /// Schedule period in simulated seconds (trigger "schedule"); 0 = started by events.
    pub every_s: u64,
    /// Relative start frequency of non-scheduled workflows.
    pub weight: u32,
    /// Job types the enqueuer attributes to this workflow.
    pub jobs: &'static [&'static str],
    pub errors: &'static [ErrDef],
    /// Probability that one step fails (before `failure_scale`).
    pub fail_p: f64,
}

pub static WORKFLOWS: &[WfDef] = &[
    WfDef {
        name: "Model Booking Request",
        trigger: "webhook",
        description: "Books a model for a show: availability, conflicts, contract, confirmation",
        kind: Kind::Plain,
        steps: &[
            s("receive_request", 40, 150),
            s("check_availability", 200, 900),
            s("detect_conflicts", 100, 500),
            s("create_booking", 150, 600),
            sj("send_confirmation", 200, 800, "email.send"),
        ],
        every_s: 0,
        weight: 14,
        jobs: &["email.send"],
        errors: &[TWILIO_INVALID, WHATSAPP_429, MISSING_FIELD, NET_RESET],
        fail_p: 0.02,
    },
    WfDef {
        name: "Bulk Model Booking",
        trigger: "webhook",
        description: "Books a designer's whole casting in batches of ten",
        kind: Kind::Plain,
        steps: &[
            s("parse_casting_list", 100, 400),
            s("split_in_batches", 50, 150),
            s("book_batch", 800, 3000),
            sj("notify_models", 300, 1200, "email.send"),
            s("summarise", 100, 300),
        ],
        every_s: 0,
        weight: 4,
        jobs: &["email.send"],
        errors: &[WHATSAPP_429, NET_RESET, MISSING_FIELD],
        fail_p: 0.03,
    },
    WfDef {
        name: "Model Substitution",
        trigger: "event",
        description: "Finds and books a replacement when a confirmed model cancels",
        kind: Kind::Plain,
        steps: &[
            s("detect_cancellation", 50, 200),
            s("find_similar_models", 400, 1500),
            s("offer_slot", 200, 700),
            sj("confirm_substitute", 200, 900, "email.send"),
        ],
        every_s: 0,
        weight: 3,
        jobs: &["email.send"],
        errors: &[TWILIO_INVALID, WHATSAPP_429],
        fail_p: 0.03,
    },
    WfDef {
        name: "Rate Negotiation",
        trigger: "webhook",
        description: "Applies the auto-approval rule to proposed rates; a human decides the rest",
        kind: Kind::Negotiation,
        steps: &[
            s("receive_proposal", 40, 150),
            s("calculate_discount", 30, 120),
            s("approval", 50, 200),
            s("apply_rate", 100, 400),
            sj("notify_parties", 200, 800, "email.send"),
        ],
        every_s: 0,
        weight: 5,
        jobs: &["email.send"],
        errors: &[NET_RESET],
        fail_p: 0.01,
    },
    WfDef {
        name: "Capacity Monitoring",
        trigger: "db_change",
        description: "Watches ticket sales; alerts at 80 %, opens the waitlist at 90 %, sold out at 100 %",
        kind: Kind::Capacity,
        steps: &[
            s("load_event_sales", 50, 200),
            s("check_thresholds", 30, 120),
            sj("notify_organisers", 100, 500, "email.send"),
        ],
        every_s: 300,
        weight: 0,
        jobs: &["analytics.sync"],
        errors: &[NET_RESET],
        fail_p: 0.005,
    },
    WfDef {
        name: "Event Countdown",
        trigger: "schedule",
        description: "Daily countdown posts and reminders for upcoming events",
        kind: Kind::Plain,
        steps: &[
            s("find_upcoming_events", 80, 300),
            sj("generate_countdown_copy", 500, 2000, "content.generate"),
            sj("post_countdown", 200, 700, "social.post"),
            sj("email_reminders", 200, 900, "email.send"),
        ],
        every_s: 900,
        weight: 0,
        jobs: &["social.post", "content.generate"],
        errors: &[INSTAGRAM_429, OPENAI_TIMEOUT, NET_DNS],
        fail_p: 0.03,
    },
    WfDef {
        name: "Unified Messaging",
        trigger: "webhook",
        description: "One send API over WhatsApp, SMS and email with preferences and translation",
        kind: Kind::Plain,
        steps: &[
            s("resolve_preferences", 40, 200),
            s("translate", 200, 900),
            s("route_channel", 20, 80),
            sj("send", 100, 600, "email.send"),
            s("log_message", 20, 100),
        ],
        every_s: 0,
        weight: 16,
        jobs: &["email.send"],
        errors: &[WHATSAPP_429, TWILIO_INVALID, SENDGRID_AUTH, NET_RESET],
        fail_p: 0.03,
    },
    WfDef {
        name: "Emergency Broadcast System",
        trigger: "webhook",
        description: "Reaches everyone at an event or venue; critical overrides preferences (SMS + voice)",
        kind: Kind::Broadcast,
        steps: &[
            s("validate_request", 20, 80),
            s("resolve_recipients", 50, 300),
            s("dispatch_deliveries", 50, 200),
            s("track_delivery_status", 100, 300),
        ],
        every_s: 0,
        weight: 0,
        jobs: &[],
        errors: &[TWILIO_429],
        fail_p: 0.0,
    },
    WfDef {
        name: "Payment Processing Hub",
        trigger: "webhook",
        description: "Stripe webhooks: payments, refunds, disputes into the ledger",
        kind: Kind::Plain,
        steps: &[
            s("verify_signature", 10, 60),
            s("route_event", 10, 40),
            s("update_records", 100, 500),
            sj("send_receipt", 100, 600, "email.send"),
        ],
        every_s: 0,
        weight: 18,
        jobs: &["email.send", "report.generate"],
        errors: &[STRIPE_TIMEOUT, STRIPE_SIG, NET_RESET],
        fail_p: 0.025,
    },
    WfDef {
        name: "Escrow Management",
        trigger: "db_change",
        description: "Holds designer payments in escrow until the show is completed",
        kind: Kind::Plain,
        steps: &[
            s("load_booking", 50, 200),
            s("create_escrow", 200, 900),
            s("hold_funds", 300, 1500),
        ],
        every_s: 0,
        weight: 5,
        jobs: &["report.generate"],
        errors: &[STRIPE_TIMEOUT, NET_RESET],
        fail_p: 0.02,
    },
    WfDef {
        name: "Automated Payout",
        trigger: "schedule",
        description: "Pays models after completed shows, ten transfers per batch",
        kind: Kind::Plain,
        steps: &[
            s("get_unpaid_models", 100, 400),
            s("batch_payouts", 100, 300),
            s("process_payouts", 800, 3000),
            s("log_batch_results", 50, 200),
            sj("send_payment_confirmation", 200, 800, "email.send"),
        ],
        every_s: 1200,
        weight: 0,
        jobs: &["report.generate"],
        errors: &[STRIPE_TIMEOUT, STRIPE_SIG],
        fail_p: 0.04,
    },
    WfDef {
        name: "Payment Reconciliation",
        trigger: "schedule",
        description: "Matches Stripe charges against the payment ledger",
        kind: Kind::Reconciliation,
        steps: &[
            s("fetch_stripe_charges", 500, 2500),
            s("fetch_db_payments", 100, 600),
            s("compare", 100, 500),
            sj("write_report", 100, 400, "report.generate"),
        ],
        every_s: 600,
        weight: 0,
        jobs: &["report.generate", "data.export"],
        errors: &[STRIPE_TIMEOUT],
        fail_p: 0.03,
    },
    WfDef {
        name: "Portfolio Auto-Evaluation",
        trigger: "webhook",
        description: "Scores new portfolio photos and flags models for premium shows",
        kind: Kind::Plain,
        steps: &[
            sj("fetch_photos", 200, 800, "image.process"),
            sj("ai_evaluation", 800, 3000, "content.generate"),
            s("score_portfolio", 50, 200),
            s("update_model_tier", 50, 200),
        ],
        every_s: 0,
        weight: 6,
        jobs: &["image.process", "content.generate"],
        errors: &[OPENAI_TIMEOUT, OPENAI_429, BAD_JSON],
        fail_p: 0.03,
    },
    WfDef {
        name: "Error Analysis & Recovery",
        trigger: "schedule",
        description: "Hourly: groups errors by workflow and type, flags critical patterns, retries retriable ones",
        kind: Kind::ErrorAnalysis,
        steps: &[
            s("fetch_recent_errors", 100, 400),
            s("analyze_patterns", 50, 200),
            s("recommend_fixes", 50, 200),
            sj("notify_ops", 100, 500, "email.send"),
        ],
        every_s: 600,
        weight: 0,
        jobs: &["report.generate"],
        errors: &[SENDGRID_AUTH],
        fail_p: 0.01,
    },
    // seed 001: multi-step sequences
    WfDef {
        name: "Event Launch Marketing Sequence",
        trigger: "event",
        description: "Nine-step launch campaign from publication to the day before the event",
        kind: Kind::Sequence,
        steps: &[
            sd("generate_marketing_content", 0, "content.generate"),
            sd("create_campaign_records", 30, "analytics.sync"),
            sd("send_announcement", 60, "email.send"),
            sd("post_social_media", 3600, "social.post"),
            sd("send_whatsapp_broadcast", 7200, "email.send"),
            sd("week_1_reminder", 7 * 86400, "email.send"),
            sd("week_2_social", 7 * 86400, "social.post"),
            sd("last_chance_email", 4 * 86400, "email.send"),
            sd("final_reminder", 2 * 86400, "email.send"),
        ],
        every_s: 0,
        weight: 1,
        jobs: &["social.post", "content.generate"],
        errors: &[INSTAGRAM_429, OPENAI_TIMEOUT, SENDGRID_AUTH],
        fail_p: 0.02,
    },
    WfDef {
        name: "Sponsor Outreach",
        trigger: "event",
        description: "Proposal and adaptive follow-ups to matched sponsors",
        kind: Kind::Sequence,
        steps: &[
            sd("send_proposal", 0, "email.send"),
            sd("check_opened", 72 * 3600, "analytics.sync"),
            sd("send_gentle_reminder", 60, "email.send"),
            sd("send_value_email", 96 * 3600, "email.send"),
            sd("send_social_proof", 7 * 86400, "email.send"),
            sd("send_last_chance", 7 * 86400, "email.send"),
        ],
        every_s: 0,
        weight: 1,
        jobs: &["email.send"],
        errors: &[SENDGRID_AUTH, NET_RESET],
        fail_p: 0.02,
    },
    WfDef {
        name: "Attendee Engagement",
        trigger: "event",
        description: "Registration to post-event nurture for each attendee",
        kind: Kind::Sequence,
        steps: &[
            sd("confirmation", 0, "email.send"),
            sd("welcome_preparation_tips", 7 * 86400, "email.send"),
            sd("speaker_highlights", 7 * 86400, "email.send"),
            sd("detailed_schedule", 3 * 86400, "email.send"),
            sd("logistics_reminders", 4 * 86400, "email.send"),
            sd("final_details", 2 * 86400, "email.send"),
            sd("event_day_welcome", 86400, "email.send"),
            sd("thank_you_survey", 86400, "email.send"),
        ],
        every_s: 0,
        weight: 2,
        jobs: &["email.send"],
        errors: &[SENDGRID_AUTH, WHATSAPP_429],
        fail_p: 0.01,
    },
    WfDef {
        name: "Deliverable Tracking",
        trigger: "db_change",
        description: "Reminds sponsors of deliverables before their deadlines, escalates overdue ones",
        kind: Kind::Sequence,
        steps: &[
            sd("reminder_2_weeks", 0, "email.send"),
            sd("reminder_1_week", 7 * 86400, "email.send"),
            sd("reminder_3_days", 4 * 86400, "email.send"),
            sd("due_today", 3 * 86400, "email.send"),
            sd("overdue_escalation", 86400, "report.generate"),
        ],
        every_s: 0,
        weight: 1,
        jobs: &["report.generate"],
        errors: &[SENDGRID_AUTH],
        fail_p: 0.01,
    },
    WfDef {
        name: "Post-Event Follow-up",
        trigger: "event",
        description: "Thank-you, content delivery and community invitation after the show",
        kind: Kind::Sequence,
        steps: &[
            sd("thank_you_survey", 0, "email.send"),
            sd("content_delivery", 2 * 86400, "data.export"),
            sd("community_invitation", 4 * 86400, "email.send"),
            sd("next_event_teaser", 23 * 86400, "social.post"),
        ],
        every_s: 0,
        weight: 1,
        jobs: &["data.export", "social.post"],
        errors: &[SENDGRID_AUTH, INSTAGRAM_429],
        fail_p: 0.01,
    },
    // seed 002: the provisioning saga
    WfDef {
        name: "Client Provisioning",
        trigger: "webhook",
        description: "Supabase project → schema → GitHub repo → Vercel → n8n workflow; rolls back on failure",
        kind: Kind::Saga,
        steps: &[
            s("create_supabase_project", 1500, 5000),
            s("clone_database_schema", 800, 3000),
            s("create_github_repo", 500, 2000),
            s("create_vercel_project", 800, 3000),
            s("configure_n8n_webhooks", 300, 1200),
        ],
        every_s: 0,
        weight: 2,
        jobs: &[],
        errors: &[],
        fail_p: 0.0,
    },
];

/// The saga's failure causes at each forward step (index = step).
pub static SAGA_ERRORS: [ErrDef; 5] = [
    ("timeout", "Supabase project creation timed out after 120s"),
    (
        "network",
        "schema clone failed: ECONNRESET from db.supabase.co",
    ),
    (
        "validation",
        "GitHub creation failed: 422 repository name already exists",
    ),
    (
        "authentication_failed",
        "Vercel creation failed: 403 token lacks team scope",
    ),
    ("rate_limit", "n8n API 429: too many workflow creations"),
];

/// What each saga step creates and how its rollback step is named.
pub static SAGA_RESOURCES: [(&str, &str); 5] = [
    ("supabase_project", "rollback_delete_supabase_project"),
    ("schema", "rollback_drop_schema"),
    ("github_repo", "rollback_delete_github_repo"),
    ("vercel_project", "rollback_delete_vercel_project"),
    ("n8n_workflow", "rollback_delete_n8n_workflow"),
];

/// Step names for a workflow opsdeck does not know (a populated database).
pub static GENERIC_STEPS: &[StepDef] = &[
    s("trigger", 20, 100),
    s("fetch_data", 100, 600),
    s("transform", 50, 300),
    s("call_api", 200, 1200),
    s("write_results", 50, 300),
    s("notify", 100, 500),
];

pub static GENERIC_ERRORS: &[ErrDef] = &[NET_RESET, STRIPE_TIMEOUT, WHATSAPP_429, BAD_JSON];

pub fn workflow(name: &str) -> Option<&'static WfDef> {
    WORKFLOWS.iter().find(|w| w.name == name)
}

mod errors;
mod jobs;
mod people;
pub use errors::*;
pub use jobs::*;
pub use people::*;
