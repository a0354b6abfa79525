//! The regularized lower incomplete gamma function in log space, as Erlang A needs it.
//!
//! Erlang A's closed forms (Mandelbaum & Zeltyn) are ratios of incomplete gamma functions
//! whose arguments grow with the number of agents times patience / AHT. For thousands of
//! Erlangs the plain values overflow or underflow, so everything here is a logarithm, and
//! the power-and-exponential prefactor uses Loader's deviance (`bd0`) and Stirling error so
//! that the large terms cancel exactly instead of numerically.

use std::f64::consts::PI;

/// Upper bound on series / continued-fraction steps; both converge in O(√a) steps, so this
/// only guards against a non-finite argument slipping through.
const MAX_STEPS: usize = 50_000_000;

/// `ln Γ(a + 1) − [(a + ½) ln a − a + ½ ln 2π]`, the error of Stirling's formula.
fn stirling_error(a: f64) -> f64 {
    if a > 15.0 {
        let a2 = a * a;
        const S0: f64 = 1.0 / 12.0;
        const S1: f64 = 1.0 / 360.0;
        const S2: f64 = 1.0 / 1260.0;
        const S3: f64 = 1.0 / 1680.0;
        const S4: f64 = 1.0 / 1188.0;
        (S0 - (S1 - (S2 - (S3 - S4 / a2) / a2) / a2) / a2) / a
    } else {
        libm::lgamma(a + 1.0) - (a + 0.5) * a.ln() + a - 0.5 * (2.0 * PI).ln()
    }
}

/// Loader's deviance `a ln(a / x) + x − a`, accurate when `a ≈ x`.
fn deviance(a: f64, x: f64) -> f64 {
    if (a - x).abs() < 0.1 * (a + x) {
        let v = (a - x) / (a + x);
        let mut s = (a - x) * v;
        let mut ej = 2.0 * a * v;
        let v2 = v * v;
        let mut j = 1.0;
        loop {
            ej *= v2;
            let next = s + ej / (2.0 * j + 1.0);
            if next == s {
                return next;
            }
            s = next;
            j += 1.0;
        }
    }
    a * (a / x).ln() + x - a
}

/// `ln( x^a e^{−x} / Γ(a + 1) )` for `a > 0`, `x > 0`.
pub(crate) fn ln_poisson_prefactor(a: f64, x: f64) -> f64 {
    -deviance(a, x) - 0.5 * (2.0 * PI * a).ln() - stirling_error(a)
}

/// `ln P(a, x)`, the log of the regularized lower incomplete gamma function, for `a > 0`,
/// `x ≥ 0` (`−∞` at `x = 0`).
pub(crate) fn ln_lower_regularized(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if x < a + 1.0 {
        ln_poisson_prefactor(a, x) + series_sum(a, x).ln()
    } else {
        // Q = prefactor · a / x^... via the continued fraction; P = 1 − Q.
        let ln_q = ln_poisson_prefactor(a, x) + a.ln() + upper_continued_fraction(a, x).ln();
        (-ln_q.exp()).ln_1p()
    }
}

/// `ln A(x, y)` where `A(x, y) = x e^y y^{−x} γ(x, y)` is the Erlang A factor: the ratio of
/// the delayed-state mass to the mass of the "all agents busy, nobody waiting" state.
pub(crate) fn ln_erlang_a_factor(x: f64, y: f64) -> f64 {
    if y <= 0.0 {
        return 0.0;
    }
    if y < x + 1.0 {
        // P(x, y) = prefactor · Σ, so A(x, y) = Σ exactly.
        series_sum(x, y).ln()
    } else {
        ln_lower_regularized(x, y) - ln_poisson_prefactor(x, y)
    }
}

/// `Σ_{n≥0} x^n / ((a+1)(a+2)…(a+n))`, convergent for all x, used for `x < a + 1`.
fn series_sum(a: f64, x: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut denom = a;
    for _ in 0..MAX_STEPS {
        denom += 1.0;
        term *= x / denom;
        sum += term;
        if term < sum * f64::EPSILON * 0.5 {
            break;
        }
    }
    sum
}

/// Lentz's continued fraction for `Γ(a, x) · e^x x^{−a}`, used for `x ≥ a + 1`.
fn upper_continued_fraction(a: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..MAX_STEPS {
        let i = i as f64;
        let an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < f64::EPSILON {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn regularized_gamma_matches_closed_forms() {
        // P(1, x) = 1 − e^{−x}; P(2, x) = 1 − (1 + x) e^{−x}.
        for x in [0.1, 1.0, 2.5, 10.0, 40.0] {
            let p1 = ln_lower_regularized(1.0, x).exp();
            assert!(close(p1, 1.0 - (-x).exp(), 1e-13), "P(1,{x}) = {p1}");
            let p2 = ln_lower_regularized(2.0, x).exp();
            assert!(
                close(p2, 1.0 - (1.0 + x) * (-x).exp(), 1e-13),
                "P(2,{x}) = {p2}"
            );
        }
    }

    #[test]
    fn regularized_gamma_is_finite_for_huge_arguments() {
        // Half of the mass lies below the mean for large a (P(a, a) → ½).
        let p = ln_lower_regularized(1e7, 1e7).exp();
        assert!((p - 0.5).abs() < 1e-3, "P(1e7, 1e7) = {p}");
        // Far in the left tail the log stays finite where the value would underflow.
        let ln_p = ln_lower_regularized(1e7, 9e6);
        assert!(ln_p.is_finite() && ln_p < -40_000.0, "ln P = {ln_p}");
    }

    #[test]
    fn stirling_error_is_continuous_at_the_switch() {
        let below =
            libm::lgamma(16.0) - (15.0 + 0.5) * 15.0_f64.ln() + 15.0 - 0.5 * (2.0 * PI).ln();
        assert!(close(stirling_error(15.000001), below, 1e-5));
    }
}
