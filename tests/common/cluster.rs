//! A Postgres cluster of the test's own (`opsdeck::bench::cluster`: the machine's binaries,
//! `initdb` under a temp dir, a free port) for what the shared server cannot be: TLS with a CA
//! made at test time, and a primary with a streaming replica. Under `CI=true` missing binaries
//! fail the test; elsewhere it skips, loudly.

pub use opsdeck::bench::cluster::{Certs, Cluster};
use opsdeck::bench::cluster::{bin_dir, binaries_present, openssl_present};

fn missing(what: &str, kind: &str) -> bool {
    if super::ci() {
        panic!("CI=true but {what} is missing");
    }
    eprintln!("\n!!!!!!!! SKIPPING {kind} TEST: no {what} !!!!!!!!\n");
    false
}

/// A cluster taking only TLS connections, with the CA that signed its certificate.
pub fn start_tls() -> Option<(Cluster, Certs)> {
    if !binaries_present() || !openssl_present() {
        missing(&format!("{}/initdb or openssl", bin_dir().display()), "TLS");
        return None;
    }
    Some(Cluster::tls().unwrap_or_else(|e| panic!("a TLS cluster: {e}")))
}

/// A primary and its streaming hot standby: `(primary, replica)`.
pub fn start_pair() -> Option<(Cluster, Cluster)> {
    if !binaries_present() {
        missing(&format!("{}/pg_basebackup", bin_dir().display()), "REPLICA");
        return None;
    }
    Some(Cluster::pair("").unwrap_or_else(|e| panic!("a primary and a replica: {e}")))
}

/// Whether a test that makes its own clusters can run here (else it skips, loudly; under
/// `CI=true` it fails).
pub fn available(kind: &str) -> bool {
    binaries_present() || missing(&format!("{}/pg_basebackup", bin_dir().display()), kind)
}
