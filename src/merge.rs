//! Evolve & Merge (Pedersen & Risi, GECCO 2021): every `merge.every` generations, the rules of
//! each plastic layer are clustered with k-means on their coefficient vectors (those of the ES
//! centre) and every cluster becomes one shared rule, until a layer has `merge.rules` rules.
//! The search continues in the smaller space: the centre, and each per-dimension vector of the
//! ES state (σ, optimizer moments), are averaged over the members of each cluster, so the
//! merged rule starts where the k-means centroid is.

use std::sync::Arc;

use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use linfa_clustering::KMeans;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::controller::ControllerSpec;
use crate::es::EsState;
use crate::genome::{GenomeLayout, SegmentKind};
use crate::plastic::{LayerAssignment, RuleAssignment};

/// When and how far rules are merged (`[network.merge]`, with `granularity = "merged"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MergeConfig {
    /// Rules each plastic layer ends with (the Ant's three layers at 128: 1,920 coefficients
    /// of ABCD_lr, the paper's count).
    pub rules: usize,
    /// Generations between merges (the first after this many).
    pub every: u64,
    /// Fraction of a layer's rules each merge keeps (never fewer than `rules`).
    pub keep: f64,
}

impl Default for MergeConfig {
    fn default() -> Self {
        Self {
            rules: 128,
            every: 40,
            keep: 0.25,
        }
    }
}

impl MergeConfig {
    /// Checks the ranges serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.rules == 0 {
            return Err("key `network.merge.rules`: must be at least 1".into());
        }
        if self.every == 0 {
            return Err("key `network.merge.every`: must be at least 1 (generations)".into());
        }
        if !(self.keep > 0.0 && self.keep < 1.0) {
            return Err(format!(
                "key `network.merge.keep`: must be in (0, 1) (the fraction of rules a merge \
                 keeps), got {}",
                self.keep
            ));
        }
        Ok(())
    }

    /// Whether rules are merged after generation `generation` (0-based) of a network whose
    /// layers hold `rules` rules now.
    pub fn due(&self, generation: u64, rules: &[usize]) -> bool {
        (generation + 1).is_multiple_of(self.every) && rules.iter().any(|&r| r > self.rules)
    }

    /// Rules a layer of `rules` rules keeps at the next merge.
    pub fn target(&self, rules: usize) -> usize {
        if rules <= self.rules {
            return rules;
        }
        ((rules as f64 * self.keep).ceil() as usize).max(self.rules)
    }
}

/// The rules each layer of `spec` holds now (one per synapse before the first merge).
pub fn current_rules(spec: &ControllerSpec) -> Vec<usize> {
    match &spec.assignment {
        Some(a) => a.rules(),
        None => spec
            .architecture
            .layer_shapes()
            .iter()
            .map(|(o, i)| o * i)
            .collect(),
    }
}

/// A merge: the new assignment and the ES state moved into the merged genome layout.
pub struct Merged {
    pub assignment: Arc<RuleAssignment>,
    pub state: EsState,
}

/// Merges the rules of `spec`'s network as `config` says, clustering the rules of `state`'s
/// centre. Layers already at `config.rules` keep theirs.
pub fn merge(spec: &ControllerSpec, config: &MergeConfig, state: &EsState) -> Merged {
    let rule = spec.rule.expect("merged rules need a Hebbian rule");
    let k = rule.coefficients_per_synapse();
    let old_layout = spec.layout();
    let shapes = spec.architecture.layer_shapes();
    let before = spec
        .assignment
        .as_deref()
        .cloned()
        .unwrap_or_else(|| RuleAssignment::per_synapse(&shapes));
    let mut layers = Vec::new();
    // Per layer: the cluster of every old rule.
    let mut clusters = Vec::new();
    for (l, old) in before.layers().iter().enumerate() {
        let segment = rule_segment(&old_layout, l);
        let r = old.rules;
        let points = Array2::from_shape_fn((r, k), |(rule, c)| {
            state.centre[segment.offset + c * r + rule] as f64
        });
        let labels = cluster(points, config.target(r));
        let rules = labels.iter().max().map_or(0, |m| m + 1);
        layers.push(LayerAssignment {
            rules,
            rule_of: old
                .rule_of
                .iter()
                .map(|&o| labels[o as usize] as u32)
                .collect(),
        });
        clusters.push(labels);
    }
    let assignment = RuleAssignment::new(layers, &shapes).expect("clusters are compact");
    let new_spec = ControllerSpec {
        assignment: Some(Arc::new(assignment.clone())),
        ..spec.clone()
    };
    let new_layout = new_spec.layout();
    let reduce = |v: &[f32]| reduce(v, &old_layout, &new_layout, &clusters, k);
    let state = EsState {
        centre: reduce(&state.centre),
        vectors: state
            .vectors
            .iter()
            .map(|(name, v)| (name.clone(), reduce(v)))
            .collect(),
        ..state.clone()
    };
    Merged {
        assignment: Arc::new(assignment),
        state,
    }
}

/// Layer `l`'s rules in a per-synapse (`[K, out, in]`) or merged (`[K, R]`) layout: both are
/// coefficient-major over the layer's rules.
fn rule_segment(layout: &GenomeLayout, l: usize) -> &crate::genome::Segment {
    layout
        .segment(SegmentKind::MergedCoefficients(l))
        .or_else(|| layout.segment(SegmentKind::Coefficients(l)))
        .expect("a Hebbian layout")
}

/// k-means labels of `points` (one row per rule) into at most `clusters` clusters, numbered
/// 0.. in order of first appearance, so that no cluster is empty. Deterministic: linfa's
/// fixed-seed k-means++ start. One start and at most 50 Lloyd iterations: the Ant's largest
/// merge (8,192 rules into 2,048) takes about a minute on 2 busy cores, mostly the k-means++
/// start; it happens once per `merge.every` generations (a generation at P = 256 takes about
/// as long).
fn cluster(points: Array2<f64>, clusters: usize) -> Vec<usize> {
    let r = points.nrows();
    if clusters >= r {
        return (0..r).collect();
    }
    let data = DatasetBase::from(points);
    let model = KMeans::params(clusters)
        .n_runs(1)
        .max_n_iterations(50)
        .tolerance(1e-6)
        .fit(&data)
        .expect("k-means on finite rule vectors");
    let raw = model.predict(data.records());
    let mut renumber = vec![usize::MAX; clusters];
    let mut next = 0;
    raw.iter()
        .map(|&c| {
            if renumber[c] == usize::MAX {
                renumber[c] = next;
                next += 1;
            }
            renumber[c]
        })
        .collect()
}

/// Moves a per-dimension vector of the old layout into the new one: each merged rule gets the
/// mean of its members' numbers, every other segment (conv, initial weights) is copied.
fn reduce(
    v: &[f32],
    old: &GenomeLayout,
    new: &GenomeLayout,
    clusters: &[Vec<usize>],
    k: usize,
) -> Vec<f32> {
    let mut out = vec![0.0f32; new.len()];
    for s in new.segments() {
        match s.kind {
            SegmentKind::MergedCoefficients(l) => {
                let from = rule_segment(old, l);
                let (r_old, r_new) = (clusters[l].len(), s.shape[1]);
                let mut sum = vec![0.0f64; k * r_new];
                let mut members = vec![0usize; r_new];
                for (rule, &c) in clusters[l].iter().enumerate() {
                    members[c] += 1;
                    for coefficient in 0..k {
                        sum[coefficient * r_new + c] +=
                            v[from.offset + coefficient * r_old + rule] as f64;
                    }
                }
                for (i, total) in sum.iter().enumerate() {
                    out[s.offset + i] = (total / members[i % r_new] as f64) as f32;
                }
            }
            kind => {
                let from = old.segment(kind).expect("same non-rule segments");
                out[s.offset..s.offset + s.len()]
                    .copy_from_slice(&v[from.offset..from.offset + from.len()]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_labels_are_compact_and_separate_blobs() {
        // Three well-separated blobs of 4 rules each, interleaved.
        let centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]];
        let points =
            Array2::from_shape_fn((12, 2), |(i, c)| centres[i % 3][c] + 0.01 * (i / 3) as f64);
        let labels = cluster(points, 3);
        assert_eq!(labels[..3], [0, 1, 2]);
        for (i, &l) in labels.iter().enumerate() {
            assert_eq!(l, i % 3, "rule {i}");
        }
    }

    #[test]
    fn targets_shrink_geometrically_to_the_floor() {
        let c = MergeConfig {
            rules: 128,
            every: 10,
            keep: 0.25,
        };
        assert_eq!(c.target(8192), 2048);
        assert_eq!(c.target(512), 128);
        assert_eq!(c.target(300), 128);
        assert_eq!(c.target(128), 128);
        assert!(!c.due(8, &[8192]));
        assert!(c.due(9, &[8192, 128]));
        assert!(!c.due(9, &[128, 128]));
    }
}
