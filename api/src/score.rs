//! Compute a traceability score from counts: pure, integer arithmetic, so that every node of a
//! consortium computes the same score to the last digit.
//!
//! Each [`Component`] counts how many things met its measure out of how many it measured
//! (`measure.rs` does the counting over an enterprise's records). Its value is the share
//! `met × 10,000 / out_of` in basis points, rounded down; a component with nothing to measure
//! has no value and does not count. With `W` the sum of the weights of the components that
//! count:
//!
//! - the total is the weighted mean of the values, `Σ value × weight / W`, rounded down: 0 to
//!   10,000, and 10,000 for a record with nothing against it;
//! - each component contributes `value × weight / W` rounded down, and the basis points the
//!   rounding left over (fewer than the components that count) go one each to the components
//!   with the largest remainders, the earlier component first on a tie. So the contributions
//!   add up to exactly the total.
//!
//! ```text
//! completeness 2/4 → 5000 bp × 20 / 100 = 1000
//! recalls      3/3 → 10000 bp × 15 / 100 = 1500   …   total = Σ contributions
//! ```

use suyuan_ledger::genesis::ScoreWeights;

/// Basis points in a whole: a share of 10,000 is 100 %.
pub(crate) const WHOLE_BP: u32 = 10_000;

/// One component of the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Component {
    /// Optional fields the SAMR content asks for, filled in the enterprise's own records.
    Completeness,
    /// Its dated records committed soon after their event.
    Timeliness,
    /// Its commissioned codes with a sale or shipment record.
    SaleCoverage,
    /// Inspections of its codes and models that found them conformant.
    InspectionOutcomes,
    /// Its commissioned codes never recalled.
    Recalls,
    /// Its keys never revoked (a rotation is not a revocation).
    KeyRevocations,
}

impl Component {
    /// Every component, in the order views list them.
    pub(crate) const ALL: [Component; 6] = [
        Component::Completeness,
        Component::Timeliness,
        Component::SaleCoverage,
        Component::InspectionOutcomes,
        Component::Recalls,
        Component::KeyRevocations,
    ];

    /// Its name in JSON and in the genesis file's `score_weights`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Component::Completeness => "completeness",
            Component::Timeliness => "timeliness",
            Component::SaleCoverage => "sale_coverage",
            Component::InspectionOutcomes => "inspection_outcomes",
            Component::Recalls => "recalls",
            Component::KeyRevocations => "key_revocations",
        }
    }

    /// The consortium's weight for it.
    pub(crate) fn weight(self, weights: &ScoreWeights) -> u32 {
        match self {
            Component::Completeness => weights.completeness,
            Component::Timeliness => weights.timeliness,
            Component::SaleCoverage => weights.sale_coverage,
            Component::InspectionOutcomes => weights.inspection_outcomes,
            Component::Recalls => weights.recalls,
            Component::KeyRevocations => weights.key_revocations,
        }
    }
}

/// How many things met a measure, out of how many were measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Count {
    /// Met the measure.
    pub(crate) met: u64,
    /// Measured; never less than `met`.
    pub(crate) out_of: u64,
}

impl Count {
    /// The share in basis points, rounded down; `None` when nothing was measured.
    pub(crate) fn share_bp(self) -> Option<u32> {
        debug_assert!(
            self.met <= self.out_of,
            "a count meets at most all it measures"
        );
        if self.out_of == 0 {
            return None;
        }
        let met = u128::from(self.met.min(self.out_of));
        let share = met * u128::from(WHOLE_BP) / u128::from(self.out_of);
        // met ≤ out_of, so the share is at most WHOLE_BP.
        Some(share as u32)
    }
}

/// One component's part of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ComponentScore {
    /// The component.
    pub(crate) component: Component,
    /// Its count.
    pub(crate) count: Count,
    /// Its value: the count's share, `None` if it measured nothing.
    pub(crate) value_bp: Option<u32>,
    /// Its weight.
    pub(crate) weight: u32,
    /// Its part of the total.
    pub(crate) contribution_bp: u32,
}

/// A score and its components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Score {
    /// The sum of the contributions, 0 to [`WHOLE_BP`]; `None` when no component with a
    /// positive weight measured anything.
    pub(crate) total_bp: Option<u32>,
    /// Every component, in [`Component::ALL`] order.
    pub(crate) components: Vec<ComponentScore>,
}

/// The score of `counts` (one per component; a component not given measured nothing) under
/// `weights`. See the module docs for the arithmetic.
pub(crate) fn score(weights: &ScoreWeights, counts: &[(Component, Count)]) -> Score {
    let count_of = |component: Component| {
        counts
            .iter()
            .find(|(c, _)| *c == component)
            .map_or(Count::default(), |(_, count)| *count)
    };
    let mut components: Vec<ComponentScore> = Component::ALL
        .iter()
        .map(|&component| {
            let count = count_of(component);
            ComponentScore {
                component,
                count,
                value_bp: count.share_bp(),
                weight: component.weight(weights),
                contribution_bp: 0,
            }
        })
        .collect();
    // Each value is at most 10,000 and each weight at most u32::MAX: the products and their sum
    // over six components fit in u64 many times over.
    let weighted = |c: &ComponentScore| c.value_bp.map(|v| u64::from(v) * u64::from(c.weight));
    let counting_weight: u64 = components
        .iter()
        .filter(|c| c.value_bp.is_some())
        .map(|c| u64::from(c.weight))
        .sum();
    if counting_weight == 0 {
        return Score {
            total_bp: None,
            components,
        };
    }
    let weighted_sum: u64 = components.iter().filter_map(weighted).sum();
    // A weighted mean of values of at most 10,000 is at most 10,000.
    let total_bp = (weighted_sum / counting_weight) as u32;
    let mut remainders = Vec::new();
    for (position, component) in components.iter_mut().enumerate() {
        if let Some(product) = weighted(component) {
            component.contribution_bp = (product / counting_weight) as u32;
            remainders.push((product % counting_weight, position));
        }
    }
    let floored: u32 = components.iter().map(|c| c.contribution_bp).sum();
    // Σ ⌊pᵢ / W⌋ ≤ ⌊Σ pᵢ / W⌋ < Σ ⌊pᵢ / W⌋ + (number of terms).
    let left_over = (total_bp - floored) as usize;
    debug_assert!(left_over < remainders.len().max(1));
    remainders.sort_by_key(|&(remainder, position)| (std::cmp::Reverse(remainder), position));
    for &(_, position) in remainders.iter().take(left_over) {
        components[position].contribution_bp += 1;
    }
    Score {
        total_bp: Some(total_bp),
        components,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(met: u64, out_of: u64) -> Count {
        Count { met, out_of }
    }

    fn contributions(score: &Score) -> Vec<u32> {
        score.components.iter().map(|c| c.contribution_bp).collect()
    }

    #[test]
    fn shares_round_down_in_basis_points() {
        assert_eq!(count(0, 0).share_bp(), None);
        assert_eq!(count(0, 3).share_bp(), Some(0));
        assert_eq!(count(1, 3).share_bp(), Some(3_333));
        assert_eq!(count(2, 3).share_bp(), Some(6_666));
        assert_eq!(count(3, 3).share_bp(), Some(10_000));
        assert_eq!(count(1, 7).share_bp(), Some(1_428));
        assert_eq!(count(u64::MAX - 1, u64::MAX).share_bp(), Some(9_999));
    }

    #[test]
    fn default_weights_with_every_component_measured() {
        let score = score(
            &ScoreWeights::DEFAULT,
            &[
                (Component::Completeness, count(2, 4)),
                (Component::Timeliness, count(3, 3)),
                (Component::SaleCoverage, count(1, 3)),
                (Component::InspectionOutcomes, count(0, 1)),
                (Component::Recalls, count(2, 3)),
                (Component::KeyRevocations, count(1, 1)),
            ],
        );
        // Weights 20, 15, 15, 25, 15, 10 sum to 100: the weighted sum is 499,985, so the total
        // is 4,999. Rounded down the parts are 1000, 1500, 499 (499.95), 0, 999 (999.9), 1000,
        // 4,998: the one point left over goes to the largest remainder, sale coverage's.
        assert_eq!(
            contributions(&score),
            vec![1_000, 1_500, 500, 0, 999, 1_000]
        );
        assert_eq!(score.total_bp, Some(4_999));
        let values: Vec<_> = score.components.iter().map(|c| c.value_bp).collect();
        assert_eq!(
            values,
            vec![
                Some(5_000),
                Some(10_000),
                Some(3_333),
                Some(0),
                Some(6_666),
                Some(10_000)
            ]
        );
    }

    #[test]
    fn components_with_nothing_to_measure_leave_their_weight_to_the_others() {
        // An enterprise with no codes and no inspections: fields and keys only.
        let score = score(
            &ScoreWeights::DEFAULT,
            &[
                (Component::Completeness, count(1, 2)),
                (Component::KeyRevocations, count(2, 2)),
            ],
        );
        // W = 20 + 10 = 30: 5000×20/30 = 3333.3, 10000×10/30 = 3333.3.
        assert_eq!(contributions(&score), vec![3_333, 0, 0, 0, 0, 3_333]);
        assert_eq!(score.total_bp, Some(6_666));
        assert_eq!(score.components[1].value_bp, None);
        assert_eq!(score.components[1].weight, 15, "the weight is still shown");
    }

    #[test]
    fn a_perfect_record_scores_the_whole_and_weights_only_shift_blame() {
        let perfect: Vec<_> = Component::ALL.iter().map(|&c| (c, count(5, 5))).collect();
        assert_eq!(
            score(&ScoreWeights::DEFAULT, &perfect).total_bp,
            Some(10_000)
        );
        let weights = ScoreWeights {
            recalls: 80,
            ..ScoreWeights::DEFAULT
        };
        let mut recalled = perfect.clone();
        recalled[4] = (Component::Recalls, count(0, 5));
        // W = 165: the recalls' 80 of it score 0; the other 85 score in full, each rounded down.
        let score = score(&weights, &recalled);
        assert_eq!(contributions(&score), vec![1_212, 909, 909, 1_515, 0, 606]);
        assert_eq!(score.total_bp, Some(5_151));
    }

    #[test]
    fn left_over_points_keep_a_clean_record_whole() {
        // A distributor: fields, timeliness and keys count, W = 45. Rounded down the parts are
        // 4444.4, 3333.3 and 2222.2, 9,999 in all; the point left over goes to the largest
        // remainder, and a clean record scores the whole.
        let clean = score(
            &ScoreWeights::DEFAULT,
            &[
                (Component::Completeness, count(1, 1)),
                (Component::Timeliness, count(1, 1)),
                (Component::KeyRevocations, count(1, 1)),
            ],
        );
        assert_eq!(contributions(&clean), vec![4_445, 3_333, 0, 0, 0, 2_222]);
        assert_eq!(clean.total_bp, Some(10_000));
        // Equal remainders: the earlier component takes the point.
        let even = ScoreWeights {
            completeness: 1,
            timeliness: 1,
            sale_coverage: 1,
            inspection_outcomes: 0,
            recalls: 0,
            key_revocations: 0,
        };
        let thirds = score(
            &even,
            &[
                (Component::Completeness, count(1, 1)),
                (Component::Timeliness, count(1, 1)),
                (Component::SaleCoverage, count(1, 1)),
            ],
        );
        assert_eq!(contributions(&thirds), vec![3_334, 3_333, 3_333, 0, 0, 0]);
        assert_eq!(thirds.total_bp, Some(10_000));
    }

    #[test]
    fn no_counting_weight_means_no_score() {
        let zero_but_keys = ScoreWeights {
            completeness: 0,
            timeliness: 0,
            sale_coverage: 0,
            inspection_outcomes: 0,
            recalls: 0,
            key_revocations: 1,
        };
        let unmeasured = score(&zero_but_keys, &[(Component::Completeness, count(1, 1))]);
        assert_eq!(unmeasured.total_bp, None);
        assert!(unmeasured.components.iter().all(|c| c.contribution_bp == 0));
        let nothing = score(&ScoreWeights::DEFAULT, &[]);
        assert_eq!(nothing.total_bp, None);
        let keys_only = score(&zero_but_keys, &[(Component::KeyRevocations, count(1, 2))]);
        assert_eq!(keys_only.total_bp, Some(5_000));
    }

    #[test]
    fn names_match_the_genesis_weights() {
        let weights = ScoreWeights {
            completeness: 1,
            timeliness: 2,
            sale_coverage: 3,
            inspection_outcomes: 4,
            recalls: 5,
            key_revocations: 6,
        };
        for (component, (name, weight)) in Component::ALL.iter().zip(weights.by_name()) {
            assert_eq!(component.name(), name);
            assert_eq!(component.weight(&weights), weight);
        }
    }
}
