//! `ombud audit verify`.

use std::process::ExitCode;

use super::serve::open_store;
use crate::cli::ServerArgs;

pub fn verify(args: &ServerArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (_, store) = open_store(args).await?;
        let report = store.verify_audit().await?;
        store.close().await;
        match &report.result {
            Ok(()) => {
                outln!("audit log intact: {} entries verified", report.checked)?;
                Ok(ExitCode::SUCCESS)
            }
            Err(broken) => {
                outln!("audit log BROKEN at {broken}")?;
                outln!("{} entries before it verified", report.checked)?;
                Ok(ExitCode::FAILURE)
            }
        }
    })
}
