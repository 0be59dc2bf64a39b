//! `opsdeck simulate` (to be built).

use std::process::ExitCode;

use crate::cli::{Fail, Globals, SimulateArgs, finish};

pub async fn run(_g: &Globals, _a: SimulateArgs) -> ExitCode {
    finish(Err(Fail::new(2, "simulate is not built yet")))
}
