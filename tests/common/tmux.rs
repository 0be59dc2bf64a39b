//! The real binary in a real terminal: a private tmux server per test (its own socket), the
//! console started with a private XDG home and no `DATABASE_URL`, keys sent with `send-keys` and
//! the screen read with `capture-pane`. Under CI tmux must be there (.ci/run installs it);
//! elsewhere the tests skip loudly.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
}

/// Whether tmux can run here (panics under CI=true when it cannot).
pub fn available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but tmux is not installed");
        }
        eprintln!("\n!!!!!!!! SKIPPING TMUX TEST: tmux is not installed !!!!!!!!\n");
    }
    ok
}

impl Tmux {
    /// `opsdeck ARGS` in a `w`×`h` terminal. When it exits the pane shows `EXITED=<code>`.
    pub fn start(args: &str, w: u16, h: u16) -> Tmux {
        Self::launch(args, w, h, false)
    }

    /// Like [`Tmux::start`], with every byte the program writes captured raw ([`Tmux::raw`]):
    /// the session waits on a `read` until the pipe is attached, so nothing is missed.
    pub fn start_raw(args: &str, w: u16, h: u16) -> Tmux {
        Self::launch(args, w, h, true)
    }

    fn launch(args: &str, w: u16, h: u16, raw: bool) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let socket = format!(
            "opsdeck-test-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        let cmdline = format!(
            "{wait}env -u DATABASE_URL XDG_DATA_HOME={d}/data XDG_CONFIG_HOME={d}/config TERM=xterm-256color {bin} {args}; echo EXITED=$?; sleep 30",
            wait = if raw { "read go; " } else { "" },
            d = dir.path().display(),
            bin = env!("CARGO_BIN_EXE_opsdeck"),
        );
        let t = Tmux { socket, dir };
        let o = t.cmd(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
            &cmdline,
        ]);
        assert!(
            o.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        if raw {
            let path = t.dir.path().join("raw.out");
            let o = t.cmd(&[
                "pipe-pane",
                "-O",
                "-t",
                "t",
                &format!("cat >> '{}'", path.display()),
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            t.keys(&["Enter"]);
        }
        t
    }

    pub fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux")
    }

    pub fn capture(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut a = vec!["send-keys", "-t", "t"];
        a.extend_from_slice(keys);
        self.cmd(&a);
    }

    /// Waits until the screen shows `what`; panics with the screen after `timeout`, or at once
    /// when the console has exited (unless `what` is on the final screen).
    pub fn wait_for(&self, what: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.capture();
            if s.contains(what) {
                return s;
            }
            assert!(
                !s.contains("EXITED="),
                "the console exited while waiting for '{what}':\n{s}"
            );
            assert!(
                start.elapsed() < timeout,
                "'{what}' did not appear within {timeout:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn alive(&self) -> bool {
        self.cmd(&["has-session", "-t", "t"]).status.success()
    }

    /// Everything the program wrote so far ([`Tmux::start_raw`] only).
    pub fn raw(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("raw.out")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}
