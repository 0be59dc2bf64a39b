//! Pure application state (to be built).
