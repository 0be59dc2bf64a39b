//! A Postgres cluster of the test's own (the machine's binaries, `initdb` under a temp dir as
//! the postgres user, a free port), for what the shared server cannot be: TLS with a CA made at
//! test time (openssl), and a primary with a streaming replica (`pg_basebackup -R -X stream`;
//! the machine's own cluster accepts no replication connections). Stopped by its postmaster's
//! pid when dropped. Under `CI=true` missing binaries fail the test; elsewhere it skips, loudly.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Cluster {
    dir: tempfile::TempDir,
    pub port: u16,
}

/// Runs `cmd args` as the postgres user when we are root (initdb and postgres refuse root).
fn as_postgres(cmd: &str, args: &[&str]) -> std::process::Output {
    let mut c = if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", cmd]);
        c
    } else {
        Command::new(cmd)
    };
    c.args(args).output().expect("run a postgres binary")
}

fn give_to_postgres(p: &Path) {
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let name = std::ffi::CString::new("postgres").unwrap();
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(!pw.is_null(), "no postgres user");
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    std::os::unix::fs::chown(p, Some(uid), Some(gid)).expect("chown");
}

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The CA and certificates a TLS test needs, made now.
pub struct Certs {
    /// The CA that signed the server's certificate.
    pub ca: PathBuf,
    /// Another CA, that signed nothing here.
    pub other_ca: PathBuf,
}

impl Cluster {
    /// A cluster that accepts only TLS connections (`hostssl … trust`) from 127.0.0.1, with a
    /// server certificate for `localhost` only, signed by a CA made for this test.
    pub fn start_tls() -> Option<(Cluster, Certs)> {
        if !Path::new(BIN).join("initdb").exists()
            || Command::new("openssl").arg("version").output().is_err()
        {
            if super::ci() {
                panic!("CI=true but {BIN}/initdb or openssl is missing");
            }
            eprintln!("\n!!!!!!!! SKIPPING TLS TEST: no {BIN}/initdb or openssl !!!!!!!!\n");
            return None;
        }
        let c = Cluster::init(
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            "",
        );
        let data = c.dir.path().join("data");
        let tls = c.dir.path().join("tls");
        std::fs::create_dir(&tls).expect("tls dir");
        for (name, cn) in [("ca", "opsdeck test CA"), ("other", "another CA")] {
            openssl(
                &tls,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN={cn}"),
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.pem"),
                ],
            );
        }
        openssl(
            &tls,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        );
        std::fs::write(tls.join("san.ext"), "subjectAltName=DNS:localhost\n").expect("san");
        openssl(
            &tls,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "san.ext",
                "-out",
                "server.crt",
            ],
        );
        for f in ["server.key", "server.crt"] {
            give_to_postgres(&tls.join(f));
        }
        std::fs::set_permissions(
            tls.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("key mode");
        let _ = std::fs::set_permissions(&tls, std::fs::Permissions::from_mode(0o755));

        let mut pc = std::fs::read_to_string(data.join("postgresql.conf")).expect("conf");
        pc.push_str(&format!(
            "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
            tls.join("server.crt").display(),
            tls.join("server.key").display()
        ));
        std::fs::write(data.join("postgresql.conf"), pc).expect("conf");
        c.start();
        let certs = Certs {
            ca: tls.join("ca.pem"),
            other_ca: tls.join("other.pem"),
        };
        Some((c, certs))
    }

    /// A primary and its hot standby, streaming, each on a free port: `(primary, replica)`.
    pub fn start_pair() -> Option<(Cluster, Cluster)> {
        if !Path::new(BIN).join("pg_basebackup").exists() {
            if super::ci() {
                panic!("CI=true but {BIN}/pg_basebackup is missing");
            }
            eprintln!("\n!!!!!!!! SKIPPING REPLICA TEST: no {BIN}/pg_basebackup !!!!!!!!\n");
            return None;
        }
        let primary = Cluster::init(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n\
             host replication all 127.0.0.1/32 trust\n",
            "",
        );
        primary.start();
        let dir = tempfile::tempdir().expect("tempdir");
        let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("data dir");
        give_to_postgres(&data);
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("mode");
        let o = as_postgres(
            &format!("{BIN}/pg_basebackup"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
                "-D",
                data.to_str().unwrap(),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ],
        );
        assert!(
            o.status.success(),
            "pg_basebackup: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let port = free_port();
        // later settings win: the copied postgresql.conf names the primary's port and socket
        let mut pc = std::fs::read_to_string(data.join("postgresql.conf")).expect("conf");
        pc.push_str(&format!(
            "\nport = {port}\nunix_socket_directories = '{}'\nhot_standby = on\n",
            data.display()
        ));
        std::fs::write(data.join("postgresql.conf"), pc).expect("conf");
        let _ = std::fs::remove_file(data.join("postmaster.pid"));
        let replica = Cluster { dir, port };
        replica.start();
        Some((primary, replica))
    }

    /// A fresh cluster (not started) with this pg_hba.conf and these settings.
    fn init(hba: &str, extra_conf: &str) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("data dir");
        give_to_postgres(&data);
        let o = as_postgres(
            &format!("{BIN}/initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        assert!(
            o.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::write(data.join("pg_hba.conf"), hba).expect("pg_hba");
        let port = free_port();
        let mut pc = std::fs::read_to_string(data.join("postgresql.conf")).expect("conf");
        pc.push_str(&format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\n{extra_conf}",
            data.display()
        ));
        std::fs::write(data.join("postgresql.conf"), pc).expect("conf");
        Cluster { dir, port }
    }

    /// Starts (or starts again) this cluster and waits until it takes connections.
    pub fn start(&self) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("postgres.log");
        if !log.exists() {
            std::fs::write(&log, "").expect("log");
            give_to_postgres(&log);
        }
        let o = as_postgres(
            &format!("{BIN}/pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        assert!(
            o.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&o.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the cluster did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it (fast shutdown, by the postmaster's pid) and waits until it is gone.
    pub fn stop(&self) {
        if let Some(pid) = self.postmaster_pid() {
            unsafe { libc::kill(pid, libc::SIGINT) };
            let t = Instant::now();
            while unsafe { libc::kill(pid, 0) } == 0 && t.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// `postgres://postgres@127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn postmaster_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.path().join("data/postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
