//! Sanitising untrusted text (to be built).
