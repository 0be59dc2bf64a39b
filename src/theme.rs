//! Themes (to be built).
