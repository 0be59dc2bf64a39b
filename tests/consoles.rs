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
        ]
    );
    assert!(
        r.engine.jobs_per_sec() > 0.0,
        "the engine ran: {}",
        r.engine
    );
    let (pool, _) = opsdeck::app::pool_sizes(false);
    let (rpool, rread) = opsdeck::app::pool_sizes(true);
    for p in r.phases.iter().filter(|p| p.consoles > 0) {
        let what = format!("{} ×{}", p.setup.unwrap().label(), p.consoles);
        assert!(p.pairs >= 2 * p.consoles, "{what}: probes were made");
        assert_eq!(p.missed, 0, "{what}: a console never showed a probe");
        assert_eq!(p.quiet_ms.len() + p.hot_ms.len(), p.pairs, "{what}");
        assert!(p.errors.is_empty(), "{what}: {:?}", p.errors);
        assert!(p.conns_primary >= 1, "{what}: connected to the primary");
        match p.setup {
            Some(Setup::Replica) => {
                assert!(p.conns_primary <= rpool as usize * p.consoles, "{what}");
                assert!(
                    p.conns_replica >= 1 && p.conns_replica <= rread as usize * p.consoles,
                    "{what}"
                );
                assert!(
                    p.console_qps_replica > 5.0 * p.console_qps_primary,
                    "{what}: the views read the replica ({:.1} q/s there, {:.1} on the primary)",
                    p.console_qps_replica,
                    p.console_qps_primary
                );
            }
            _ => {
                assert!(p.conns_primary <= pool as usize * p.consoles, "{what}");
                assert_eq!(p.conns_replica, 0, "{what}: nothing on the replica");
                assert_eq!(p.console_qps_replica, 0.0, "{what}");
                assert!(p.console_qps_primary > 0.0, "{what}");
            }
        }
    }
}
