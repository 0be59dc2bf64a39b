//! The failures the seeds' integrations report, as (error_type, message).

/// (error_type, message) as the seeds' integrations report them.
pub type ErrDef = (&'static str, &'static str);

pub const STRIPE_TIMEOUT: ErrDef = (
    "timeout",
    "Stripe API timeout after 30000ms (POST /v1/payment_intents)",
);
pub const WHATSAPP_429: ErrDef = (
    "rate_limit",
    "WhatsApp Business API 429: rate limit hit (80 msg/s per number)",
);
pub const TWILIO_INVALID: ErrDef = ("validation", "Twilio 21211: invalid 'To' phone number");
pub const SENDGRID_AUTH: ErrDef = (
    "authentication_failed",
    "SendGrid 401: authentication failed (API key revoked or expired)",
);
pub const STRIPE_SIG: ErrDef = (
    "authentication_failed",
    "Stripe webhook signature verification failed",
);
pub const NET_RESET: ErrDef = ("network", "ECONNRESET while calling the Supabase REST API");
pub const NET_DNS: ErrDef = ("network", "getaddrinfo ENOTFOUND graph.facebook.com");
pub const OPENAI_TIMEOUT: ErrDef = ("timeout", "OpenAI chat completion timed out after 60s");
pub const OPENAI_429: ErrDef = ("rate_limit", "OpenAI 429: rate limit reached for gpt-4");
pub const INSTAGRAM_429: ErrDef = ("rate_limit", "Instagram Graph API 429 Too Many Requests");
pub const MISSING_FIELD: ErrDef = ("validation", "missing required field: model_id");
pub const BAD_JSON: ErrDef = ("unknown", "Unexpected token < in JSON at position 0");
pub const TWILIO_429: ErrDef = ("rate_limit", "Twilio 20429: too many requests");
