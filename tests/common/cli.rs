//! The real binary as a user runs it: clean config and data dirs (no user config leaks in),
//! no DATABASE_URL unless given, no stdin.

use std::process::{Command, Output, Stdio};

use opsdeck::config::DbTarget;

/// Runs `opsdeck ARGS` with these environment variables.
pub fn opsdeck(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    c.args(args)
        .env_remove("DATABASE_URL")
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run opsdeck")
}

/// What it printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The URL the binary is given for this store (the password, if any, included).
pub fn url_of(s: &opsdeck::api::Store) -> String {
    match &s.target {
        DbTarget::Postgres(u) => u.expose().to_string(),
        DbTarget::Sqlite(p) => format!("sqlite://{}", p.display()),
    }
}
