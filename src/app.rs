//! The event loop (to be built).
