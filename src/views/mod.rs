//! Drawing (to be built).
