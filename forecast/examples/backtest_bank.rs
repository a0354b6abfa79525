//! Rolling-origin backtest on the Anonymous Bank 1999 half-hourly counts: 8 weekly origins,
//! 7-day horizon. Prints WAPE and MAPE per model and origin, then the automatic choice's
//! WAPE against the best baseline.
//!
//! `cargo run --release -p tenet-forecast --example backtest_bank [-- FILE.csv]`

use std::fs::File;

use tenet_forecast::volume::{
    BacktestPlan, History, ModelChoice, ModelKind, SpecialDays, backtest,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/anonymous_bank_1999_30min_counts.csv"
        )
        .to_owned()
    });
    let history = History::from_csv(File::open(&path)?)?;
    let models = [
        ModelChoice::Auto,
        ModelChoice::Fixed(ModelKind::SeasonalNaive),
        ModelChoice::Fixed(ModelKind::MovingAverage { weeks: 4 }),
        ModelChoice::Fixed(ModelKind::Ridge),
        ModelChoice::Fixed(ModelKind::ProfileLevel),
        ModelChoice::Fixed(ModelKind::Ensemble),
        ModelChoice::Fixed(ModelKind::LocalLevel),
    ];
    let started = std::time::Instant::now();
    let report = backtest(
        &history,
        &SpecialDays::default(),
        &models,
        BacktestPlan::WEEKLY,
    )?;
    println!(
        "{:<20} {:<12} {:>8} {:>8}  used",
        "model", "origin", "WAPE", "MAPE"
    );
    for row in &report.per_origin {
        println!(
            "{:<20} {:<12} {:>8.4} {:>8.4}  {}",
            row.model, row.origin, row.wape, row.mape, row.used
        );
    }
    println!();
    for m in &report.overall {
        println!("{:<20} WAPE {:.4}  MAPE {:.4}", m.model, m.wape, m.mape);
    }
    let wape = |name: &str| {
        report
            .overall
            .iter()
            .find(|m| m.model == name)
            .map(|m| m.wape)
    };
    let best_baseline = wape("seasonal-naive")
        .unwrap_or(f64::INFINITY)
        .min(wape("moving-average-4w").unwrap_or(f64::INFINITY));
    if let Some(auto) = wape("auto") {
        println!(
            "auto WAPE {auto:.4} vs best baseline {best_baseline:.4}: {:.1} % better ({:.1} s)",
            100.0 * (1.0 - auto / best_baseline),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
