//! Key bindings (to be built).
