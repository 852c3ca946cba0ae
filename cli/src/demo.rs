//! Run the demo consortium's story through the ledger in memory and tell what happened.

use std::fmt::Write as _;

use suyuan_ledger::demo::Demo;
use suyuan_ledger::exec::{BlockContext, Executor};
use suyuan_ledger::state::{MemState, StateKey, StateValue};

/// Executes the demo story block by block and returns a readable account of it.
pub(crate) fn run_story() -> anyhow::Result<String> {
    let demo = Demo::new(4, 7100);
    let genesis = &demo.genesis;
    let mut state = MemState::new();
    let mut out = String::new();
    writeln!(
        out,
        "chain {} · genesis {} · {} validators, quorum {}",
        genesis.chain_id,
        genesis.hash(),
        genesis.validators.len(),
        genesis.quorum()
    )?;
    let chain = genesis.binding();
    for (index, block) in demo.story().into_iter().enumerate() {
        let height = index as u64 + 1;
        let context = BlockContext {
            genesis,
            height,
            time_ms: genesis.genesis_time_ms + height * 86_400_000,
        };
        writeln!(out, "\nblock {height}")?;
        let mut executor = Executor::new(&state, context);
        for envelope in block {
            let signer = envelope.signer;
            let tx = envelope.verify(&chain)?;
            let who = signer_name(&demo, &signer);
            let what = tx.payload.record.type_name();
            match executor.apply(&tx) {
                Ok(()) => writeln!(out, "  ✓ {what:<20} by {who:<52} {}", tx.id)?,
                Err(error) => writeln!(out, "  ✗ {what:<20} by {who:<52} refused: {error}")?,
            }
        }
        let writes = executor.finish();
        state.apply(writes);
    }
    writeln!(out, "\nholdings after the story:")?;
    for (key, value) in state.entries() {
        if let (StateKey::Holding(code, holder), StateValue::Holding(units)) = (key, value) {
            let holder = demo
                .enterprises
                .iter()
                .find(|e| &e.profile.uscc == holder)
                .map_or_else(|| holder.to_string(), |e| e.profile.name.to_string());
            writeln!(out, "  {units:>5} × {code:<40} held by {holder}")?;
        }
    }
    writeln!(out, "\nstate digest {}", state.digest())?;
    Ok(out)
}

fn signer_name(demo: &Demo, key: &suyuan_ledger::crypto::PublicKey) -> String {
    if let Some(member) = demo.genesis.registrar(key) {
        return member.name.to_string();
    }
    demo.enterprises
        .iter()
        .find(|e| &e.key.public() == key)
        .map_or_else(|| key.to_string(), |e| e.profile.name.to_string())
}
