//! Writing an export (`:export PATH`, `opsdeck export --output PATH`): to a new file only — an
//! existing file is never overwritten (nothing of the operator's is lost by a slip of the name).
//! `~/` is the home directory.

use std::io::Write;
use std::path::PathBuf;

/// The path as the operator typed it, with `~/` expanded.
pub fn expand(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// Writes `content` to a new file at `path`: Ok(the path written), or why not.
pub fn write_new(path: &str, content: &str) -> Result<String, String> {
    let p = expand(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&p)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!(
                    "{} exists: choose another name (nothing is overwritten)",
                    p.display()
                )
            }
            _ => format!("{}: {e}", p.display()),
        })?;
    f.write_all(content.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(p.display().to_string())
}
