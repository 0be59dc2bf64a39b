//! TLS to Postgres as managed databases need it (`sslmode=require`, `verify-ca`, `verify-full`
//! with `sslrootcert`), against a cluster of the test's own that accepts only TLS, with a CA
//! made at test time. A bad certificate or a host-name mismatch is one clear line, exit 2, and
//! the password never shows.

mod common;

use common::cli::{opsdeck, text};
use common::cluster;

fn run(url: &str, args: &[&str]) -> std::process::Output {
    opsdeck(args, &[("DATABASE_URL", url)])
}

#[test]
fn tls_verified_and_refused() {
    let Some((c, certs)) = cluster::start_tls() else {
        return;
    };
    let url = |host: &str, q: &str| {
        format!(
            "postgres://postgres:s3cret-pw@{host}:{}/postgres?{q}",
            c.port
        )
    };
    let ca = certs.ca.display().to_string();
    let other = certs.other_ca.display().to_string();

    // the certificate names localhost, signed by our CA: verify-full passes, and opsdeck works
    let good = url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let o = run(&good, &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&good, &["status"]);
    assert!(o.status.code().is_some_and(|c| c <= 2), "{}", text(&o));
    assert!(
        text(&o).starts_with("OK")
            || text(&o).starts_with("WARNING")
            || text(&o).starts_with("CRITICAL"),
        "{}",
        text(&o)
    );
    // verify-ca checks the chain, not the name; require encrypts without checking
    for q in [
        format!("sslmode=verify-ca&sslrootcert={ca}"),
        "sslmode=require".to_string(),
    ] {
        let o = run(&url("127.0.0.1", &q), &["migrate"]);
        assert!(o.status.success(), "{q}: {}", text(&o));
    }

    // refused, each with one clear line, exit 2, no password
    for (q, host, want) in [
        // a CA that signed nothing here
        (
            format!("sslmode=verify-full&sslrootcert={other}"),
            "localhost",
            "certificate",
        ),
        // the certificate does not name 127.0.0.1
        (
            format!("sslmode=verify-full&sslrootcert={ca}"),
            "127.0.0.1",
            "certificate",
        ),
        // the server accepts only TLS
        (
            "sslmode=disable".to_string(),
            "127.0.0.1",
            "accepts only tls: add sslmode=require",
        ),
    ] {
        let o = run(&url(host, &q), &["migrate"]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{q} via {host}: {t}");
        assert_eq!(t.trim().lines().count(), 1, "{q} via {host}: one line: {t}");
        assert!(t.contains("cannot connect to"), "{q} via {host}: {t}");
        assert!(
            t.to_lowercase().contains(want),
            "{q} via {host}: says {want:?}: {t}"
        );
        assert!(!t.contains("s3cret-pw"), "the password printed: {t}");
    }
}
