//! Builds one large access package and prints how fast it went and how much memory it took.
//!
//! ```text
//! cargo run --release -p ombud-fulfil --example package_speed [-- ROWS]
//! ```
//!
//! ROWS (default 1,000,000) rows of about 100 bytes each go into one collection, then the
//! package is zipped and encrypted into a file in a temporary folder. Peak memory is the
//! process's high-water mark of resident memory (VmHWM in /proc/self/status): with streaming it
//! stays near the baseline whatever ROWS is. This is a benchmark, not a test: it asserts nothing.

use std::fs::File;
use std::io::BufWriter;
use std::time::Instant;

use anyhow::Context as _;
use jiff::civil::date;
use ombud_domain::datamap::Value;
use ombud_fulfil::package::{Lang, Manifest, PackageBuilder, PackageRight, RequestFacts, crypt};

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() -> anyhow::Result<()> {
    let rows: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse().context("ROWS must be a whole number")?,
        None => 1_000_000,
    };
    let policy = ombud_policy::load(ombud_policy::example::impero(), date(2026, 3, 1))
        .map_err(|r| anyhow::anyhow!("example policy: {r}"))?
        .policy;
    let manifest = Manifest::from_policy(
        &policy,
        RequestFacts {
            reference: "R-BENCH".into(),
            right: PackageRight::Access,
            received: "2026-03-02T09:00:00Z".parse()?,
            completed_at: "2026-03-02T09:05:00Z".parse()?,
            lang: Lang::En,
        },
    );
    let work = tempfile::tempdir()?;
    let baseline = vm_hwm_kib().unwrap_or(0);

    let columns: Vec<String> = ["id", "email", "name", "created_at", "amount", "active"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let start = Instant::now();
    let mut builder = PackageBuilder::new(&work.path().join("work"), manifest)?;
    let mut w = builder.collection("crm", "events", &columns)?;
    let mut raw_bytes = 0u64;
    for i in 0..rows {
        let row = [
            Value::Int(i64::try_from(i)?),
            Value::Text(format!("person.{:07}@example.com", i % 5_000_000)),
            Value::Text(format!("Person Number {i:07}, \"Test\"")),
            Value::Text("2026-03-01T12:34:56.789Z".to_owned()),
            Value::Float(i as f64 * 0.25),
            Value::Bool(i % 3 == 0),
        ];
        raw_bytes += row.iter().map(|v| v.to_text().len() as u64).sum::<u64>();
        w.write_row(&row)?;
    }
    w.finish()?;
    let written = start.elapsed();

    let key = [0x42u8; 32];
    let path = work.path().join("package.ombudpkg");
    let out = BufWriter::new(File::create(&path)?);
    let summary = builder.finish_encrypted(&key, out)?;
    let total = start.elapsed();

    let dec_start = Instant::now();
    let plain = crypt::decrypt(&key, File::open(&path)?, std::io::sink())?;
    let decrypted = dec_start.elapsed();

    let peak = vm_hwm_kib().unwrap_or(0);
    println!("rows                 {rows}");
    println!(
        "row data             {:.1} MiB ({:.0} bytes/row as text)",
        mib(raw_bytes),
        raw_bytes as f64 / rows.max(1) as f64
    );
    println!(
        "write rows           {:.2} s, {:.0} rows/s (JSON + CSV to the work folder)",
        written.as_secs_f64(),
        rows as f64 / written.as_secs_f64()
    );
    println!(
        "zip + encrypt        {:.2} s",
        (total - written).as_secs_f64()
    );
    println!(
        "end to end           {:.2} s, {:.0} rows/s",
        total.as_secs_f64(),
        rows as f64 / total.as_secs_f64()
    );
    println!(
        "package              {:.1} MiB encrypted ({} files), ZIP {:.1} MiB",
        mib(summary.bytes),
        summary.files.len(),
        mib(plain)
    );
    println!(
        "decrypt (check)      {:.2} s, {:.0} MiB/s",
        decrypted.as_secs_f64(),
        mib(plain) / decrypted.as_secs_f64()
    );
    println!(
        "peak RSS (VmHWM)     {:.1} MiB; {:.1} MiB before the rows (growth {:.1} MiB)",
        peak as f64 / 1024.0,
        baseline as f64 / 1024.0,
        peak.saturating_sub(baseline) as f64 / 1024.0
    );
    Ok(())
}
