//! Renders every event line of a profile in memory and prints events/s
//! (a profiling aid; `testgen bench` reports the same figure as `render`),
//! then derives every message-table row and prints rows/s (the plan's side
//! of the table sinks).
use thrum_gen::render::{self, Scratch};
use thrum_gen::rows;
use thrum_gen::Timeline;
use thrum_gen::{Plan, Profile};

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "default".into());
    let Some(profile) = Profile::by_name(&name) else {
        eprintln!("unknown profile {name}");
        std::process::exit(2);
    };
    let plan = match Plan::new(42, profile) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    for _ in 0..5 {
        let t0 = std::time::Instant::now();
        let (mut sc, mut line, mut n, mut bytes) =
            (Scratch::default(), String::new(), 0u64, 0usize);
        for e in Timeline::new(&plan) {
            line.clear();
            render::line(&plan, &e, &mut line, &mut sc);
            bytes += line.len();
            n += 1;
        }
        let s = t0.elapsed().as_secs_f64();
        println!(
            "{n} events, {:.1} MB in {:.1} ms: {:.0} events/s",
            bytes as f64 / 1e6,
            s * 1e3,
            n as f64 / s
        );
    }
    for _ in 0..3 {
        let t0 = std::time::Instant::now();
        let (mut n, mut cells) = (0u64, 0usize);
        let _ = rows::message_rows(&plan, 0..plan.profile.messages, |_, r| -> Result<(), ()> {
            n += 1;
            cells += r.len();
            Ok(())
        });
        let s = t0.elapsed().as_secs_f64();
        println!("{n} rows, {cells} cells in {:.1} ms: {:.0} rows/s", s * 1e3, n as f64 / s);
    }
}
