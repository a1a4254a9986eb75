//! The nine Hebbian rule variants of the reference code, one rule per synapse.
//!
//! Every variant is a special case of one general form,
//! `dw = eta * (A*pre*post + B*pre + C*post + D_in) + D_out`,
//! so the batched update only ever needs four *folded* arrays
//! `A' = eta*A`, `B' = eta*B`, `C' = eta*C`, `D' = eta*D_in + D_out`
//! and computes `dw = (A'*post + B')*pre + C'*post + D'`. Folding happens once per episode
//! (coefficients are constant during a lifetime), which halves the memory traffic of the
//! per-step update.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Tensor;

/// A Hebbian rule variant, named exactly as in the reference implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Rule {
    #[serde(rename = "A")]
    A,
    #[serde(rename = "AD")]
    Ad,
    #[serde(rename = "AD_lr")]
    AdLr,
    #[serde(rename = "ABC")]
    Abc,
    #[serde(rename = "ABC_lr")]
    AbcLr,
    #[serde(rename = "ABCD")]
    Abcd,
    #[serde(rename = "ABCD_lr")]
    AbcdLr,
    #[serde(rename = "ABCD_lr_D_out")]
    AbcdLrDOut,
    #[serde(rename = "ABCD_lr_D_in_and_out")]
    AbcdLrDInAndOut,
}

/// Where each named coefficient sits in a rule's K-vector (`None` = absent).
///
/// `eta: None` means a learning rate of 1; absent A..D mean 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoefficientSlots {
    pub a: Option<usize>,
    pub b: Option<usize>,
    pub c: Option<usize>,
    pub d_in: Option<usize>,
    pub eta: Option<usize>,
    pub d_out: Option<usize>,
}

impl Rule {
    /// All variants, in the reference's order.
    pub const ALL: [Rule; 9] = [
        Rule::A,
        Rule::Ad,
        Rule::AdLr,
        Rule::Abc,
        Rule::AbcLr,
        Rule::Abcd,
        Rule::AbcdLr,
        Rule::AbcdLrDOut,
        Rule::AbcdLrDInAndOut,
    ];

    /// The reference name (`ABCD_lr`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Rule::A => "A",
            Rule::Ad => "AD",
            Rule::AdLr => "AD_lr",
            Rule::Abc => "ABC",
            Rule::AbcLr => "ABC_lr",
            Rule::Abcd => "ABCD",
            Rule::AbcdLr => "ABCD_lr",
            Rule::AbcdLrDOut => "ABCD_lr_D_out",
            Rule::AbcdLrDInAndOut => "ABCD_lr_D_in_and_out",
        }
    }

    /// Coefficients per synapse (K).
    pub fn coefficients_per_synapse(self) -> usize {
        match self {
            Rule::A => 1,
            Rule::Ad => 2,
            Rule::AdLr | Rule::Abc => 3,
            Rule::AbcLr | Rule::Abcd => 4,
            Rule::AbcdLr | Rule::AbcdLrDOut => 5,
            Rule::AbcdLrDInAndOut => 6,
        }
    }

    /// The positions of A, B, C, D_in, eta and D_out in the K-vector, as the reference orders them.
    pub fn slots(self) -> CoefficientSlots {
        let none = CoefficientSlots {
            a: Some(0),
            b: None,
            c: None,
            d_in: None,
            eta: None,
            d_out: None,
        };
        match self {
            Rule::A => none,
            Rule::Ad => CoefficientSlots {
                d_in: Some(1),
                ..none
            },
            Rule::AdLr => CoefficientSlots {
                d_in: Some(1),
                eta: Some(2),
                ..none
            },
            Rule::Abc => CoefficientSlots {
                b: Some(1),
                c: Some(2),
                ..none
            },
            Rule::AbcLr => CoefficientSlots {
                b: Some(1),
                c: Some(2),
                eta: Some(3),
                ..none
            },
            Rule::Abcd => CoefficientSlots {
                b: Some(1),
                c: Some(2),
                d_in: Some(3),
                ..none
            },
            Rule::AbcdLr => CoefficientSlots {
                b: Some(1),
                c: Some(2),
                eta: Some(3),
                d_in: Some(4),
                ..none
            },
            Rule::AbcdLrDOut => CoefficientSlots {
                b: Some(1),
                c: Some(2),
                eta: Some(3),
                d_out: Some(4),
                ..none
            },
            Rule::AbcdLrDInAndOut => CoefficientSlots {
                b: Some(1),
                c: Some(2),
                eta: Some(3),
                d_in: Some(4),
                d_out: Some(5),
                ..none
            },
        }
    }

    /// The weight change of one synapse, written plainly; the oracle the batched paths are tested
    /// against. `h` holds this synapse's K coefficients.
    pub fn delta(self, h: &[f32], pre: f32, post: f32) -> f32 {
        let s = self.slots();
        let get = |slot: Option<usize>, default: f32| slot.map_or(default, |k| h[k]);
        let inner = get(s.a, 0.0) * pre * post
            + get(s.b, 0.0) * pre
            + get(s.c, 0.0) * post
            + get(s.d_in, 0.0);
        get(s.eta, 1.0) * inner + get(s.d_out, 0.0)
    }

    /// Folds per-synapse coefficients `[P, K, out, in]` into the four arrays of the general form.
    pub fn fold(self, coefficients: Tensor<4>) -> FoldedCoefficients {
        let [p, k, out, inp] = coefficients.dims();
        assert_eq!(
            k,
            self.coefficients_per_synapse(),
            "coefficient count for rule {self}"
        );
        let slot = |i: usize| coefficients.clone().narrow(1, i, 1).reshape([p, out, inp]);
        let s = self.slots();
        let zeros = || Tensor::<3>::zeros([p, out, inp], &coefficients.device());
        let scaled = |term: Option<usize>| -> Tensor<3> {
            match (term, s.eta) {
                (None, _) => zeros(),
                (Some(t), None) => slot(t),
                (Some(t), Some(e)) => slot(t) * slot(e),
            }
        };
        let a = scaled(s.a);
        let b = scaled(s.b);
        let c = scaled(s.c);
        let mut d = scaled(s.d_in);
        if let Some(t) = s.d_out {
            d = d + slot(t);
        }
        FoldedCoefficients {
            a,
            b,
            c,
            d,
            has_b: s.b.is_some(),
            has_c: s.c.is_some(),
            has_d: s.d_in.is_some() || s.d_out.is_some(),
        }
    }
}

/// The four arrays `[P, out, in]` of the general rule form, with eta folded in.
#[derive(Clone, Debug)]
pub struct FoldedCoefficients {
    pub a: Tensor<3>,
    pub b: Tensor<3>,
    pub c: Tensor<3>,
    pub d: Tensor<3>,
    /// Whether B/C/D are present at all (lets the tensor-op path skip zero terms).
    pub has_b: bool,
    pub has_c: bool,
    pub has_d: bool,
}

impl FoldedCoefficients {
    /// The same rule with `f` applied to each of the four arrays (storage precision, dense
    /// copies, a subset of agents).
    pub fn map(self, f: impl Fn(Tensor<3>) -> Tensor<3>) -> Self {
        FoldedCoefficients {
            a: f(self.a),
            b: f(self.b),
            c: f(self.c),
            d: f(self.d),
            ..self
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Rule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rule::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Rule::ALL.iter().map(|r| r.name()).collect();
                format!(
                    "unknown Hebbian rule `{s}`; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// A network's rule as an experiment file names it: a Hebbian rule, or `static` for the
/// fixed-weight baseline. Stored typed; written and read as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleChoice {
    Static,
    Hebbian(Rule),
}

impl RuleChoice {
    /// The Hebbian rule, or `None` for the static baseline.
    pub fn hebbian(self) -> Option<Rule> {
        match self {
            RuleChoice::Static => None,
            RuleChoice::Hebbian(r) => Some(r),
        }
    }
}

impl fmt::Display for RuleChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleChoice::Static => f.write_str("static"),
            RuleChoice::Hebbian(r) => f.write_str(r.name()),
        }
    }
}

impl FromStr for RuleChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "static" {
            return Ok(RuleChoice::Static);
        }
        s.parse()
            .map(RuleChoice::Hebbian)
            .map_err(|e| format!("{e}, or static"))
    }
}

impl serde::Serialize for RuleChoice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RuleChoice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_counts_match_reference() {
        let ks: Vec<usize> = Rule::ALL
            .iter()
            .map(|r| r.coefficients_per_synapse())
            .collect();
        assert_eq!(ks, vec![1, 2, 3, 3, 4, 4, 5, 5, 6]);
        for r in Rule::ALL {
            assert_eq!(r.name().parse::<Rule>().unwrap(), r);
        }
        assert!("ABCD_LR".parse::<Rule>().is_err());
    }

    #[test]
    fn abcd_lr_is_eta_times_the_four_terms() {
        // [A, B, C, eta, D]
        let h = [2.0, 3.0, 5.0, 0.5, 7.0];
        let got = Rule::AbcdLr.delta(&h, 0.3, -0.4);
        let want = 0.5 * (2.0 * 0.3 * -0.4 + 3.0 * 0.3 + 5.0 * -0.4 + 7.0);
        assert!((got - want).abs() < 1e-6);
        // D_out sits outside eta.
        let got = Rule::AbcdLrDOut.delta(&h, 0.3, -0.4);
        let want = 0.5 * (2.0 * 0.3 * -0.4 + 3.0 * 0.3 + 5.0 * -0.4) + 7.0;
        assert!((got - want).abs() < 1e-6);
    }
}
