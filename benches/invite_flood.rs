//! An unauthenticated INVITE flood against the real binary: `tongdai
//! --headless` on a plain-SIP UDP account, flooded from one UDP socket with
//! distinct Call-IDs (never ACKed), then one well-formed call.
//!
//! Prints: RSS before, peak RSS (VmHWM), RSS 30 s after the flood, CPU
//! during the flood, the answers by status code, and the time from the
//! well-formed INVITE to its 100 and 180.
//!
//! Run: `cargo bench --bench invite_flood` (the release build), or
//! `cargo bench --bench invite_flood -- RATE SECONDS`; `TONGDAI_BIN=path`
//! measures another binary (e.g. an older build).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::flood::*;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rate: u32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let secs: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);

    let console = SipConsole::start(common::free_port());
    let pid = console.pid();
    std::thread::sleep(Duration::from_secs(1));
    let start_kb = rss_kb(pid);
    let cpu0 = cpu_time(pid);
    let t0 = Instant::now();
    let mut peak_kb = start_kb;
    let (sock, answers) = flood(console.addr(), rate, Duration::from_secs(secs), || {
        peak_kb = peak_kb.max(rss_kb(pid));
    });
    let flood_wall = t0.elapsed();
    let flood_cpu = cpu_time(pid).saturating_sub(cpu0);
    peak_kb = peak_kb.max(rss_kb(pid));

    cancel_ringing(&sock, console.addr(), &answers.ringing);
    let probe = probe_call(console.addr(), Duration::from_secs(180));

    // Memory after the flood: sampled until 30 s have passed since it ended.
    let flood_end = t0 + flood_wall;
    let mut back_at = None;
    while flood_end.elapsed() < Duration::from_secs(30) {
        let kb = rss_kb(pid);
        peak_kb = peak_kb.max(kb);
        if back_at.is_none() && kb <= start_kb + 16 * 1024 {
            back_at = Some(flood_end.elapsed());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let after_kb = rss_kb(pid);
    let hwm_kb = status_kb(pid, "VmHWM").unwrap_or(0);
    let cpu_after = cpu_time(pid).saturating_sub(cpu0 + flood_cpu);

    let mut codes: Vec<_> = answers.by_code.iter().collect();
    codes.sort();
    println!("INVITE flood: {rate}/s for {secs} s, one source, distinct Call-IDs, no ACK");
    println!("  sent                 {}", answers.sent);
    println!("  answers by code      {codes:?}");
    println!(
        "  503 Retry-After      {} with, {} without (values {:?})",
        answers.retry_after.len(),
        answers.no_retry_after,
        answers
            .retry_after
            .iter()
            .min()
            .zip(answers.retry_after.iter().max())
    );
    println!("  RSS before           {:.1} MB", mb(start_kb));
    println!("  peak RSS (VmHWM)     {:.1} MB", mb(hwm_kb.max(peak_kb)));
    println!("  RSS 30 s after       {:.1} MB", mb(after_kb));
    println!(
        "  back to start+16 MB  {}",
        back_at.map_or("never (within 30 s)".into(), |d| format!(
            "{:.1} s after the flood",
            d.as_secs_f64()
        ))
    );
    println!(
        "  CPU during flood     {:.0} % of one core ({:.1} s over {:.1} s)",
        100.0 * flood_cpu.as_secs_f64() / flood_wall.as_secs_f64(),
        flood_cpu.as_secs_f64(),
        flood_wall.as_secs_f64()
    );
    println!("  CPU in the 30 s after {:.1} s", cpu_after.as_secs_f64());
    let ms = |d: Option<Duration>| {
        d.map_or("none".into(), |d| {
            format!("{:.1} ms", d.as_secs_f64() * 1e3)
        })
    };
    println!(
        "  valid INVITE after    100 in {}, 180 in {}, final {:?}",
        ms(probe.trying),
        ms(probe.ringing),
        probe.final_code
    );
}
