//! `opsdeck bench consoles` on real parts, small: 3 headless consoles (the console's own loop
//! and state, `app::run_headless`) on a primary and a streaming replica of the test's own,
//! while the engine writes. Every set-up must show every probe in every console's state; the
//! views must read where the set-up says; connections stay within the console's pools. No
//! figure is timed here (the benchmark reports them).

mod common;

use std::time::Duration;

use opsdeck::bench::consoles::{ConsolesConfig, Setup, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_sees_every_change_in_every_setup() {
    if !common::cluster::available("CONSOLES BENCH") {
        return;
    }
    let n = 3;
    let r = run(
        &ConsolesConfig {
            n,
            rate: 100.0,
            phase: Duration::from_secs(10),
        },
        |m| eprintln!("{m}"),
    )
    .await
    .expect("the bench runs");
    eprintln!("{}", opsdeck::bench::consoles::table(&r));
    let setups: Vec<(Setup, usize)> = r
        .phases
        .iter()
        .map(|p| (p.setup.expect("a set-up"), p.consoles))
        .collect();
    assert_eq!(
        setups,
        vec![
            (Setup::EngineAlone, 0),
            (Setup::Notify, 1),
            (Setup::Notify, n),
            (Setup::Poll, 1),
            (Setup::Poll, n),
            (Setup::Replica, 1),
            (Setup::Replica, n),
            (Setup::RelayReplica, 1),
            (Setup::RelayReplica, n),
        ]
    );
    assert!(
        r.engine.jobs_per_sec() > 0.0,
        "the engine ran: {}",
        r.engine
    );
    for p in r.phases.iter().filter(|p| p.consoles > 0) {
        let setup = p.setup.expect("a set-up");
        let what = format!("{} ×{}", setup.label(), p.consoles);
        assert!(p.pairs >= 2 * p.consoles, "{what}: probes were made");
        assert_eq!(p.missed, 0, "{what}: a console never showed a probe");
        assert_eq!(p.quiet_ms.len() + p.hot_ms.len(), p.pairs, "{what}");
        assert!(p.errors.is_empty(), "{what}: {:?}", p.errors);
        assert!(p.conns_primary >= 1, "{what}: connected to the primary");
        // the connections the console's pools allow (the relay's own LISTEN is one more)
        let (pool, read) = match setup {
            Setup::Notify => opsdeck::app::pool_sizes(false, true),
            Setup::Poll => opsdeck::app::pool_sizes(false, false),
            Setup::Replica => opsdeck::app::pool_sizes(true, true),
            _ => opsdeck::app::pool_sizes(true, false),
        };
        let relay = usize::from(setup == Setup::RelayReplica);
        assert!(
            p.conns_primary <= pool as usize * p.consoles + relay,
            "{what}: {} connections on the primary",
            p.conns_primary
        );
        assert!(p.conns_replica <= read as usize * p.consoles, "{what}");
        if read > 0 {
            assert!(p.conns_replica >= 1, "{what}: reads on the replica");
            assert!(
                p.console_qps_replica > 5.0 * p.console_qps_primary,
                "{what}: the views read the replica ({:.1} q/s there, {:.1} on the primary)",
                p.console_qps_replica,
                p.console_qps_primary
            );
        } else {
            assert_eq!(p.conns_replica, 0, "{what}: nothing on the replica");
            assert_eq!(p.console_qps_replica, 0.0, "{what}");
            assert!(p.console_qps_primary > 0.0, "{what}");
        }
    }
}
