//! A Postgres cluster of one's own (the machine's binaries, `initdb` under a temp dir — as the
//! postgres user when run as root, since initdb and postgres refuse root — on a free port), for
//! what a shared server cannot be: TLS with a CA made on the spot (openssl), a primary with a
//! streaming replica (`pg_basebackup -R -X stream`), or the settings a benchmark needs. Stopped
//! by its postmaster's pid when dropped. Used by `opsdeck bench consoles` and by the tests
//! (tests/common/cluster.rs decides there whether a missing binary skips or fails).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Where Debian puts PostgreSQL 15's server binaries (`OPSDECK_PG_BIN` overrides).
pub const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";

/// The server binaries' directory.
pub fn bin_dir() -> PathBuf {
    std::env::var_os("OPSDECK_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_BIN))
}

/// Whether `initdb`, `pg_ctl` and `pg_basebackup` are there.
pub fn binaries_present() -> bool {
    let b = bin_dir();
    ["initdb", "pg_ctl", "pg_basebackup"]
        .iter()
        .all(|n| b.join(n).exists())
}

/// Whether openssl can be run.
pub fn openssl_present() -> bool {
    Command::new("openssl").arg("version").output().is_ok()
}

type R<T> = Result<T, String>;

pub struct Cluster {
    dir: tempfile::TempDir,
    pub port: u16,
}

fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `cmd args` as the postgres user when we are root.
fn as_postgres(cmd: &Path, args: &[&str]) -> R<std::process::Output> {
    let mut c = if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(cmd);
        c
    } else {
        Command::new(cmd)
    };
    c.args(args)
        .output()
        .map_err(|e| format!("{}: {e}", cmd.display()))
}

fn ran(what: &str, o: std::process::Output) -> R<()> {
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what}: {}{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        ))
    }
}

fn give_to_postgres(p: &Path) -> R<()> {
    if !as_root() {
        return Ok(());
    }
    let name = std::ffi::CString::new("postgres").map_err(|e| e.to_string())?;
    // SAFETY: a valid C string; the result is read at once, before any other getpw* call.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err("no postgres user to run the cluster as".into());
    }
    // SAFETY: checked non-null above.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    std::os::unix::fs::chown(p, Some(uid), Some(gid))
        .map_err(|e| format!("chown {}: {e}", p.display()))
}

fn io<T>(what: &str, r: std::io::Result<T>) -> R<T> {
    r.map_err(|e| format!("{what}: {e}"))
}

fn openssl(dir: &Path, args: &[&str]) -> R<()> {
    let o = io(
        "openssl",
        Command::new("openssl").current_dir(dir).args(args).output(),
    )?;
    ran(&format!("openssl {args:?}"), o)
}

/// The CA and certificates a TLS cluster was made with.
pub struct Certs {
    /// The CA that signed the server's certificate.
    pub ca: PathBuf,
    /// Another CA, that signed nothing here.
    pub other_ca: PathBuf,
}

fn append(path: &Path, text: &str) -> R<()> {
    let mut s = io("read postgresql.conf", std::fs::read_to_string(path))?;
    s.push_str(text);
    io("write postgresql.conf", std::fs::write(path, s))
}

/// In `tls`: a CA made now (`ca.pem`, `ca.key`), another CA that signs nothing (`other.pem`),
/// and a server certificate for `localhost` only, signed by the first (`server.crt`,
/// `server.key`). For TLS tests of Postgres and Redis.
pub fn make_certs(tls: &Path) -> R<()> {
    let tls = tls.to_path_buf();
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
        )?;
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
    )?;
    io(
        "san.ext",
        std::fs::write(tls.join("san.ext"), "subjectAltName=DNS:localhost\n"),
    )?;
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
    )?;
    Ok(())
}

impl Cluster {
    /// A cluster that accepts only TLS connections (`hostssl … trust`) from 127.0.0.1, with a
    /// server certificate for `localhost` only, signed by a CA made now.
    pub fn tls() -> R<(Cluster, Certs)> {
        let c = Cluster::init(
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            "",
        )?;
        let data = c.dir.path().join("data");
        let tls = c.dir.path().join("tls");
        io("tls dir", std::fs::create_dir(&tls))?;
        make_certs(&tls)?;
        for f in ["server.key", "server.crt"] {
            give_to_postgres(&tls.join(f))?;
        }
        io(
            "key mode",
            std::fs::set_permissions(
                tls.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            ),
        )?;
        let _ = std::fs::set_permissions(&tls, std::fs::Permissions::from_mode(0o755));
        append(
            &data.join("postgresql.conf"),
            &format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                tls.join("server.crt").display(),
                tls.join("server.key").display()
            ),
        )?;
        c.start()?;
        let certs = Certs {
            ca: tls.join("ca.pem"),
            other_ca: tls.join("other.pem"),
        };
        Ok((c, certs))
    }

    /// A primary and its hot standby, streaming, each on a free port: `(primary, replica)`.
    /// `extra_conf` goes into both clusters' postgresql.conf (e.g. `max_connections = 400`).
    pub fn pair(extra_conf: &str) -> R<(Cluster, Cluster)> {
        let primary = Cluster::init(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n\
             host replication all 127.0.0.1/32 trust\n",
            extra_conf,
        )?;
        primary.start()?;
        let dir = io("tempdir", tempfile::tempdir())?;
        let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
        let data = dir.path().join("data");
        io("data dir", std::fs::create_dir(&data))?;
        give_to_postgres(&data)?;
        io(
            "data dir mode",
            std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)),
        )?;
        let data_s = data.to_str().ok_or("a temp dir that is not UTF-8")?;
        ran(
            "pg_basebackup",
            as_postgres(
                &bin_dir().join("pg_basebackup"),
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &primary.port.to_string(),
                    "-U",
                    "postgres",
                    "-D",
                    data_s,
                    "-R",
                    "-X",
                    "stream",
                    "--no-sync",
                ],
            )?,
        )?;
        let port = free_port()?;
        // later settings win: the copied postgresql.conf names the primary's port and socket
        append(
            &data.join("postgresql.conf"),
            &format!(
                "\nport = {port}\nunix_socket_directories = '{}'\nhot_standby = on\n",
                data.display()
            ),
        )?;
        let _ = std::fs::remove_file(data.join("postmaster.pid"));
        let replica = Cluster { dir, port };
        replica.start()?;
        Ok((primary, replica))
    }

    /// A fresh cluster (not started) with this pg_hba.conf and these settings.
    fn init(hba: &str, extra_conf: &str) -> R<Cluster> {
        let dir = io("tempdir", tempfile::tempdir())?;
        let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
        let data = dir.path().join("data");
        io("data dir", std::fs::create_dir(&data))?;
        give_to_postgres(&data)?;
        let data_s = data.to_str().ok_or("a temp dir that is not UTF-8")?;
        ran(
            "initdb",
            as_postgres(
                &bin_dir().join("initdb"),
                &["-D", data_s, "-A", "trust", "-U", "postgres", "--no-sync"],
            )?,
        )?;
        io("pg_hba.conf", std::fs::write(data.join("pg_hba.conf"), hba))?;
        let port = free_port()?;
        append(
            &data.join("postgresql.conf"),
            &format!(
                "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
                 fsync = off\n{extra_conf}\n",
                data.display()
            ),
        )?;
        Ok(Cluster { dir, port })
    }

    /// Starts (or starts again) this cluster and waits until it takes connections.
    pub fn start(&self) -> R<()> {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("postgres.log");
        if !log.exists() {
            io("postgres.log", std::fs::write(&log, ""))?;
            give_to_postgres(&log)?;
        }
        let (d, l) = (
            data.to_str().ok_or("a temp dir that is not UTF-8")?,
            log.to_str().ok_or("a temp dir that is not UTF-8")?,
        );
        let o = as_postgres(
            &bin_dir().join("pg_ctl"),
            &["-D", d, "-l", l, "-w", "start"],
        )?;
        if !o.status.success() {
            return Err(format!(
                "pg_ctl start: {}{}",
                String::from_utf8_lossy(&o.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            ));
        }
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if t.elapsed() > Duration::from_secs(20) {
                return Err(format!("the cluster on port {} did not start", self.port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Stops it (fast shutdown, by the postmaster's pid) and waits until it is gone.
    pub fn stop(&self) {
        if let Some(pid) = self.postmaster_pid() {
            // SAFETY: kill has no memory preconditions; a stale pid gets ESRCH.
            unsafe { libc::kill(pid, libc::SIGINT) };
            let t = Instant::now();
            // SAFETY: as above (signal 0 only checks the process exists)
            while unsafe { libc::kill(pid, 0) } == 0 && t.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// `postgres://postgres@127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The postmaster's pid, while it runs.
    pub fn postmaster_pid(&self) -> Option<i32> {
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

fn free_port() -> R<u16> {
    io(
        "a free port",
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()),
    )
    .map(|a| a.port())
}
