//! The rolling-origin backtest on the Anonymous Bank's 1999 half-hourly counts:
//! 8 weekly origins, 7-day horizon, no special days configured. The automatic forecast has
//! to beat the better of the two baselines by at least 5 % relative WAPE.

use std::fs::File;

use tenet_forecast::volume::{
    BacktestPlan, History, ModelChoice, ModelKind, SpecialDays, backtest,
};

const BANK_COUNTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/anonymous_bank_1999_30min_counts.csv"
);

#[test]
fn auto_beats_the_best_baseline_by_five_percent_on_the_bank_weekly_backtest() {
    let history = History::from_csv(File::open(BANK_COUNTS).expect("shared bank data")).unwrap();
    let models = [
        ModelChoice::Auto,
        ModelChoice::Fixed(ModelKind::SeasonalNaive),
        ModelChoice::Fixed(ModelKind::MovingAverage { weeks: 4 }),
    ];

    let report = backtest(
        &history,
        &SpecialDays::default(),
        &models,
        BacktestPlan::WEEKLY,
    )
    .unwrap();

    for row in &report.per_origin {
        println!(
            "{:<18} {} WAPE {:.4} MAPE {:.4}  {}",
            row.model, row.origin, row.wape, row.mape, row.used
        );
    }
    let wape = |name: &str| {
        report
            .overall
            .iter()
            .find(|m| m.model == name)
            .map(|m| m.wape)
            .unwrap()
    };
    let (auto, naive, average) = (
        wape("auto"),
        wape("seasonal-naive"),
        wape("moving-average-4w"),
    );
    let best_baseline = naive.min(average);
    let gain = 1.0 - auto / best_baseline;
    println!(
        "WAPE auto {auto:.4}, seasonal-naive {naive:.4}, moving-average-4w {average:.4}: \
         auto is {:.1} % better than the best baseline",
        100.0 * gain
    );
    let origins: Vec<String> = report
        .per_origin
        .iter()
        .filter(|r| r.model == "auto")
        .map(|r| r.origin.to_string())
        .collect();
    assert_eq!(origins.first().map(String::as_str), Some("1999-11-06"));
    assert_eq!(origins.len(), 8);
    assert!(
        gain >= 0.05,
        "auto WAPE {auto:.4} is only {:.1} % below the best baseline {best_baseline:.4}",
        100.0 * gain
    );
}
