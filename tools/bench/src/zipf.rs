//! Draw ranks from a Zipf law: of `n` ranks, rank `k` (from 1) is drawn with probability
//! proportional to `1 / k^s`, where `s` is the exponent.
//!
//! With `s = 1` over 10,000 ranks, the first carries about 10% of the draws, the first 1%
//! (100 ranks) about half, and the last half about 7%: a few large enterprises report most
//! of the traffic and a long tail reports a little, as firm sizes and traffic do in practice.
//! `s = 0` is the uniform law.

use rand::Rng;

/// The largest exponent accepted: beyond it nearly every draw is the first rank.
pub(crate) const MAX_EXPONENT: f64 = 4.0;

/// A Zipf law over `n` ranks, drawn by inverting its cumulative distribution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Zipf {
    /// `cumulative[i]`: the probability of drawing one of ranks `1..=i + 1`; the last is 1.
    cumulative: Vec<f64>,
}

impl Zipf {
    /// The law over `n` ranks (at least one) with exponent `exponent`, from 0 to
    /// [`MAX_EXPONENT`] (the command line checks).
    pub(crate) fn new(n: usize, exponent: f64) -> Zipf {
        assert!(n > 0, "a Zipf law needs at least one rank");
        assert!(
            (0.0..=MAX_EXPONENT).contains(&exponent),
            "exponent {exponent} out of range"
        );
        let weights: Vec<f64> = (1..=n).map(|rank| (rank as f64).powf(-exponent)).collect();
        let total: f64 = weights.iter().sum();
        let mut sum = 0.0;
        let mut cumulative: Vec<f64> = weights
            .iter()
            .map(|weight| {
                sum += weight;
                sum / total
            })
            .collect();
        // Rounding may leave the last a hair under 1; a draw must always land on a rank.
        *cumulative.last_mut().expect("n > 0") = 1.0;
        Zipf { cumulative }
    }

    /// How many ranks.
    pub(crate) fn len(&self) -> usize {
        self.cumulative.len()
    }

    /// The probability of drawing index `index` (rank `index + 1`).
    #[cfg(test)]
    pub(crate) fn share(&self, index: usize) -> f64 {
        let below = if index == 0 {
            0.0
        } else {
            self.cumulative[index - 1]
        };
        self.cumulative[index] - below
    }

    /// Draws an index, `0..n`: rank minus one.
    pub(crate) fn sample(&self, rng: &mut impl Rng) -> usize {
        let uniform: f64 = rng.r#gen();
        let index = self
            .cumulative
            .partition_point(|&cumulative| cumulative <= uniform);
        debug_assert!(index < self.len(), "the last cumulative is 1 > any draw");
        index.min(self.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn shares_follow_one_over_rank() {
        let zipf = Zipf::new(10_000, 1.0);
        let harmonic: f64 = (1..=10_000).map(|k| 1.0 / k as f64).sum();
        assert!((zipf.share(0) - 1.0 / harmonic).abs() < 1e-12);
        assert!((zipf.share(9) - 0.1 / harmonic).abs() < 1e-12);
        assert!((zipf.share(0) / zipf.share(1) - 2.0).abs() < 1e-9);
        let total: f64 = (0..zipf.len()).map(|index| zipf.share(index)).sum();
        assert!((total - 1.0).abs() < 1e-9);
        // The module doc's figures: about 10%, about half, about 7%.
        let top_percent: f64 = (0..100).map(|index| zipf.share(index)).sum();
        let last_half: f64 = (5_000..10_000).map(|index| zipf.share(index)).sum();
        assert!((0.10..0.11).contains(&zipf.share(0)), "{}", zipf.share(0));
        assert!((0.5..0.55).contains(&top_percent), "{top_percent}");
        assert!((0.06..0.08).contains(&last_half), "{last_half}");
    }

    #[test]
    fn draws_match_the_shares() {
        let zipf = Zipf::new(1_000, 1.0);
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = vec![0usize; zipf.len()];
        let draws = 200_000;
        for _ in 0..draws {
            counts[zipf.sample(&mut rng)] += 1;
        }
        for index in [0, 1, 9, 99] {
            let observed = counts[index] as f64 / draws as f64;
            let expected = zipf.share(index);
            assert!(
                (observed - expected).abs() < 0.1 * expected + 0.001,
                "rank {}: {observed} drawn, {expected} expected",
                index + 1
            );
        }
        assert!(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[999]);
    }

    #[test]
    fn exponent_zero_is_uniform_and_one_rank_is_always_drawn() {
        let uniform = Zipf::new(4, 0.0);
        for index in 0..4 {
            assert!((uniform.share(index) - 0.25).abs() < 1e-12);
        }
        let single = Zipf::new(1, 1.0);
        let mut rng = StdRng::seed_from_u64(1);
        assert!((0..100).all(|_| single.sample(&mut rng) == 0));
    }
}
