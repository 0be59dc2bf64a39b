//! A real PgBouncer (Debian's package) in transaction mode in front of the test Postgres, on a
//! free port, started for one test and stopped (by pid) when dropped. Under `CI=true` a missing
//! pgbouncer is a failure; elsewhere the test skips, loudly.

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Bouncer {
    child: Child,
    _dir: tempfile::TempDir,
    pub port: u16,
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> Option<&'static str> {
    ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Bouncer {
    /// PgBouncer in `pool_mode = transaction` with `pool_size` server connections per database,
    /// in front of the Postgres of `OPSDECK_TEST_PG`. `lenient`: it also accepts the
    /// `extra_float_digits` startup parameter (a stock PgBouncer refuses it).
    pub fn start(pool_size: u32, lenient: bool) -> Option<Bouncer> {
        Bouncer::start_with(pool_size, lenient, "")
    }

    /// [`Bouncer::start`] with more `[pgbouncer]` settings (`key = value` lines).
    pub fn start_with(pool_size: u32, lenient: bool, extra: &str) -> Option<Bouncer> {
        let Some(bin) = binary() else {
            if super::ci() {
                panic!("CI=true but pgbouncer is not installed (apt-get install pgbouncer)");
            }
            eprintln!("\n!!!!!!!! SKIPPING PGBOUNCER TEST: pgbouncer is not installed !!!!!!!!\n");
            return None;
        };
        let admin = url::Url::parse(&super::pg_admin_url()).expect("admin url");
        let host = admin.host_str().unwrap_or("127.0.0.1").to_string();
        let upstream = admin.port().unwrap_or(5432);
        let user = if admin.username().is_empty() {
            "postgres"
        } else {
            admin.username()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let ini = dir.path().join("pgbouncer.ini");
        let users = dir.path().join("userlist.txt");
        std::fs::write(&users, format!("\"{user}\" \"\"\n")).expect("userlist");
        let mut f = std::fs::File::create(&ini).expect("ini");
        write!(
            f,
            "[databases]\n* = host={host} port={upstream}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
             listen_port = {port}\nauth_type = trust\nauth_file = {}\npool_mode = transaction\n\
             default_pool_size = {pool_size}\nmax_client_conn = 500\nunix_socket_dir =\n{}{extra}\n",
            users.display(),
            if lenient {
                "ignore_startup_parameters = extra_float_digits\n"
            } else {
                ""
            }
        )
        .expect("write ini");
        // pgbouncer refuses to run as root: as root it runs as postgres, which must read these
        for p in [dir.path(), ini.as_path(), users.as_path()] {
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
        }
        let mut cmd = Command::new(bin);
        if unsafe { libc::geteuid() } == 0 {
            cmd.args(["-u", "postgres"]);
        }
        let child = cmd
            .arg(&ini)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer");
        let b = Bouncer {
            child,
            _dir: dir,
            port,
        };
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "pgbouncer did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(b)
    }

    /// The URL of `db` through this pooler (`extra` is appended as the query).
    pub fn url(&self, db: &str, extra: &str) -> String {
        let admin = url::Url::parse(&super::pg_admin_url()).expect("admin url");
        let user = if admin.username().is_empty() {
            "postgres"
        } else {
            admin.username()
        };
        format!("postgres://{user}@127.0.0.1:{}/{db}{extra}", self.port)
    }
}
