//! Benchmark: Erlang C staffing solves per second over a realistic mix of queues (traffic
//! 1 to 2,000 Erlangs, log-uniform; AHT 60–600 s; 15/30/60-minute intervals; service-level
//! targets 70–95 % within 10–60 s; occupancy cap 85–100 %), side by side with pyworkforce
//! (PyPI) on the same inputs in the same run. Prints medians of repeated runs, the ratio,
//! and whether both agree on every agent count.
//!
//! `cargo run --release -p tenet-forecast --example erlang_bench`
//! (needs `pip install pyworkforce`; set `PYTHON` to choose the interpreter)

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use tenet_forecast::erlang::{
    HandleTime, MaxOccupancy, Model, Probability, Queue, ServiceLevelTarget, Targets, Traffic,
    WaitLimit,
};

#[derive(Debug, Clone, Copy)]
struct Case {
    calls: f64,
    interval_min: f64,
    aht_sec: f64,
    answer_sec: f64,
    sl: f64,
    max_occupancy: f64,
}

/// SplitMix64: a fixed, dependency-free stream so every run uses the same mix.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[((self.next() * options.len() as f64) as usize).min(options.len() - 1)]
    }
}

fn cases(n: usize) -> Vec<Case> {
    let mut s = Stream(2026);
    (0..n)
        .map(|_| {
            let traffic = 2000f64.powf(s.next()); // 1 … 2000 Erlangs, log-uniform
            let aht_sec = (60.0 + 540.0 * s.next()).round();
            let interval_min = s.pick(&[15.0, 30.0, 60.0]);
            let calls = (traffic * interval_min * 60.0 / aht_sec).round().max(1.0);
            Case {
                calls,
                interval_min,
                aht_sec,
                answer_sec: s.pick(&[10.0, 15.0, 20.0, 30.0, 60.0]),
                sl: s.pick(&[0.7, 0.8, 0.85, 0.9, 0.95]),
                max_occupancy: s.pick(&[0.85, 0.9, 0.95, 1.0]),
            }
        })
        .collect()
}

fn solve(c: &Case) -> u32 {
    let aht = HandleTime::from_secs(c.aht_sec).expect("valid AHT");
    let queue = Queue {
        traffic: Traffic::from_volume(c.calls, c.interval_min * 60.0, aht).expect("valid"),
        aht,
        model: Model::ErlangC,
    };
    let targets = Targets {
        service_level: Some(ServiceLevelTarget::new(
            Probability::new(c.sl).expect("valid"),
            WaitLimit::from_secs(c.answer_sec).expect("valid"),
        )),
        max_occupancy: Some(MaxOccupancy::new(c.max_occupancy).expect("valid")),
        ..Targets::default()
    };
    queue.staff(&targets).expect("staffable").agents()
}

const PYTHON_BENCH: &str = r#"
import json, sys, time
from pyworkforce.queuing import ErlangC
cases = json.load(open(sys.argv[1]))
rates, agents = [], []
for run in range(int(sys.argv[2])):
    start = time.perf_counter()
    out = []
    for c in cases:
        e = ErlangC(transactions=c["calls"], aht=c["aht_sec"] / 60, asa=c["answer_sec"] / 60,
                    interval=c["interval_min"], shrinkage=0.0)
        out.append(e.required_positions(service_level=c["sl"], max_occupancy=c["max_occupancy"])["raw_positions"])
    rates.append(len(cases) / (time.perf_counter() - start))
    agents = out
rates.sort()
print(json.dumps({"median_rate": rates[len(rates) // 2], "agents": agents}))
"#;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let all = cases(50_000);
    // pyworkforce walks Python loops over every agent count: give it a slice of the mix.
    let py_cases = &all[..500];

    let mut rust_rates = Vec::new();
    let mut checksum = 0u64;
    for _ in 0..21 {
        let started = Instant::now();
        for c in &all {
            checksum += u64::from(solve(c));
        }
        rust_rates.push(all.len() as f64 / started.elapsed().as_secs_f64());
    }
    let rust_rate = median(rust_rates);

    let mut file = tempfile_path()?;
    let json: Vec<serde_json::Value> = py_cases
        .iter()
        .map(|c| {
            serde_json::json!({"calls": c.calls, "interval_min": c.interval_min,
            "aht_sec": c.aht_sec, "answer_sec": c.answer_sec, "sl": c.sl,
            "max_occupancy": c.max_occupancy})
        })
        .collect();
    file.1.write_all(serde_json::to_string(&json)?.as_bytes())?;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(python)
        .args(["-c", PYTHON_BENCH, file.0.to_str().unwrap_or_default(), "5"])
        .output()?;
    std::fs::remove_file(&file.0).ok();
    if !output.status.success() {
        return Err(format!(
            "pyworkforce run failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let py: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let py_rate = py["median_rate"].as_f64().unwrap_or(f64::NAN);
    let py_agents: Vec<u64> = py["agents"]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect())
        .unwrap_or_default();
    let disagreements = py_cases
        .iter()
        .zip(&py_agents)
        .filter(|(c, n)| u64::from(solve(c)) != **n)
        .count();

    println!("Erlang C staffing solves over traffic 1–2,000 Erlangs (median of runs)");
    println!(
        "  tenet-forecast: {rust_rate:>12.0} solves/s over {} cases",
        all.len()
    );
    println!(
        "  pyworkforce:    {py_rate:>12.1} solves/s over {} cases",
        py_cases.len()
    );
    println!("  ratio:          {:>12.0}×", rust_rate / py_rate);
    println!(
        "  agent counts differ on {disagreements} of {} shared cases (checksum {checksum})",
        py_agents.len()
    );
    Ok(())
}

fn tempfile_path() -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    let path = std::env::temp_dir().join(format!("tenet-erlang-bench-{}.json", std::process::id()));
    let file = std::fs::File::create(&path)?;
    Ok((path, file))
}
