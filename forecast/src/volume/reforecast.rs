//! Intraday reforecast: today's remaining intervals rescaled by how today's actuals so far
//! compare with the forecast for the same intervals.
//!
//! The scale factor is `(actual so far + k) / (forecast so far + k)` with a prior weight `k`
//! of contacts, so a few early contacts barely move the day while a large elapsed volume
//! dominates it (a Gamma–Poisson update of the day's level).

/// Share of the day's forecast volume used as the prior weight `k`.
const PRIOR_SHARE: f64 = 0.2;

/// The day's intervals after a reforecast: actuals for the elapsed intervals, rescaled
/// forecast for the rest. `actual_so_far` holds the elapsed intervals (its length is how
/// many have elapsed); intervals beyond `forecast.len()` are ignored.
#[must_use]
pub fn reforecast_day(forecast: &[f64], actual_so_far: &[f64]) -> Vec<f64> {
    let elapsed = actual_so_far.len().min(forecast.len());
    let factor = day_factor(forecast, actual_so_far);
    actual_so_far[..elapsed]
        .iter()
        .copied()
        .chain(forecast[elapsed..].iter().map(|f| f * factor))
        .collect()
}

/// The factor [`reforecast_day`] scales the remaining intervals by.
#[must_use]
pub fn day_factor(forecast: &[f64], actual_so_far: &[f64]) -> f64 {
    let elapsed = actual_so_far.len().min(forecast.len());
    let forecast_elapsed: f64 = forecast[..elapsed].iter().sum();
    let actual_elapsed: f64 = actual_so_far[..elapsed].iter().sum();
    let prior = PRIOR_SHARE * forecast.iter().sum::<f64>();
    if forecast_elapsed + prior > 0.0 {
        (actual_elapsed + prior) / (forecast_elapsed + prior)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busier_morning_raises_the_afternoon() {
        let forecast = vec![10.0; 10];
        let out = reforecast_day(&forecast, &[15.0; 5]);
        assert_eq!(&out[..5], &[15.0; 5]);
        // (75 + 20) / (50 + 20) = 95 / 70.
        assert!((out[5] - 10.0 * 95.0 / 70.0).abs() < 1e-12);
    }

    #[test]
    fn first_interval_moves_the_day_only_a_little() {
        let forecast = vec![10.0; 10];
        let out = reforecast_day(&forecast, &[20.0]);
        // (20 + 20) / (10 + 20): a doubled first interval lifts the rest by a third.
        assert!((out[1] - 10.0 * 40.0 / 30.0).abs() < 1e-12);
    }

    #[test]
    fn without_actuals_the_forecast_stands() {
        let forecast = vec![3.0, 4.0];
        assert_eq!(reforecast_day(&forecast, &[]), forecast);
    }
}
