//! Random leg damage, the paper's closing hypothesis (§5: "training on a diverse set of randomly
//! damaged bodies"): every episode, one leg's lower limb (the shin capsule) is cut to a random
//! fraction of its length, 0 leaving only the ball at the knee. The paper's two damaged bodies
//! are points of this distribution: `right_damaged` is leg 4 at 0.25, `left_damaged` leg 1 at
//! 0.25 (a test checks the first bit for bit).
//!
//! The damaged body is built from the intact MJCF with the shin's `fromto` scaled, and parsed by
//! the same loader as every other morphology, so masses and inertias follow pybullet's rules.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Ant, Morphology, MorphologyError, PhysicsConfig};
use crate::env::{Env, EnvStep};

/// The name of the random-damage variant (`task.variants = ["random_damage"]`); with the
/// suffix `_legs_` and leg numbers (e.g. `random_damage_legs_234`) only those legs are damaged,
/// so a leg can stay unseen-damaged in training.
pub const RANDOM_DAMAGE: &str = "random_damage";

/// All four legs, in action order.
const ALL_LEGS: [usize; 4] = [0, 1, 2, 3];

/// The legs a random-damage variant name damages (0-based, action order): `random_damage` all
/// four, `random_damage_legs_K…` legs K… (1–4, each at most once). `None` for names of
/// another form; an error for this form with a bad leg list.
pub fn random_damage_legs(name: &str) -> Option<Result<Vec<usize>, String>> {
    if name == RANDOM_DAMAGE {
        return Some(Ok(ALL_LEGS.to_vec()));
    }
    let digits = name.strip_prefix(RANDOM_DAMAGE)?.strip_prefix("_legs_")?;
    let mut legs = Vec::new();
    for c in digits.chars() {
        match c.to_digit(10) {
            Some(k @ 1..=4) if !legs.contains(&(k as usize - 1)) => legs.push(k as usize - 1),
            _ => {
                return Some(Err(format!(
                    "`{name}`: a random-damage variant is random_damage or random_damage_legs_K… \
                     with each K in 1..=4 at most once (e.g. random_damage_legs_234)"
                )));
            }
        }
    }
    if legs.is_empty() {
        return Some(Err(format!(
            "`{name}`: name at least one leg (e.g. random_damage_legs_234)"
        )));
    }
    legs.sort_unstable();
    Some(Ok(legs))
}

/// The shin geoms of the intact ant, in leg (action) order.
const SHIN_GEOMS: [&str; 4] = [
    "left_ankle_geom",
    "right_ankle_geom",
    "third_ankle_geom",
    "fourth_ankle_geom",
];

/// One damage: leg `leg` (0-based, action order) with its shin at `fraction` of its length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Damage {
    pub leg: usize,
    pub fraction: f32,
}

impl Damage {
    /// The damage of the episode with env seed `seed`: a leg uniformly, a fraction uniformly in
    /// [0, 1).
    pub fn from_seed(seed: u64) -> Self {
        Self::from_seed_among(seed, &ALL_LEGS)
    }

    /// [`Self::from_seed`] on one of `legs` (non-empty, 0-based), uniformly; on all four legs
    /// it is the same draw.
    pub fn from_seed_among(seed: u64, legs: &[usize]) -> Self {
        let mut rng =
            ChaCha8Rng::seed_from_u64(crate::seeds::derive(seed, 0, crate::seeds::Purpose::Damage));
        Self {
            leg: legs[rng.random_range(0..legs.len())],
            fraction: rng.random_range(0.0f32..1.0),
        }
    }

    /// The damage a variant name such as `leg1_shin_0.75` names (leg 1–4 in action order, the
    /// shin at that fraction of its length; the name [`Self::morphology`] gives its body), so a
    /// sweep over damages is a list of `--variant`s. `None` for names of another form; an
    /// error for this form with a leg or fraction out of range.
    pub fn from_name(name: &str) -> Option<Result<Self, String>> {
        let (leg, fraction) = name.strip_prefix("leg")?.split_once("_shin_")?;
        let parsed = match (leg.parse::<usize>(), fraction.parse::<f32>()) {
            (Ok(leg @ 1..=4), Ok(fraction)) if (0.0..=1.0).contains(&fraction) => Ok(Self {
                leg: leg - 1,
                fraction,
            }),
            _ => Err(format!(
                "`{name}`: a damaged-shin variant is legK_shin_F with K in 1..=4 and F in [0, 1]"
            )),
        };
        Some(parsed)
    }

    /// The intact ant with this damage.
    pub fn morphology(&self) -> Result<Morphology, MorphologyError> {
        let name = format!("leg{}_shin_{:.3}", self.leg + 1, self.fraction);
        let invalid = |msg: String| MorphologyError::Invalid {
            file: format!("<{name}>"),
            msg,
        };
        if self.leg >= 4 || !(0.0..=1.0).contains(&self.fraction) {
            return Err(invalid(format!(
                "leg must be 0..4 and fraction in [0, 1], got {self:?}"
            )));
        }
        let xml = Morphology::intact_mjcf();
        let geom = SHIN_GEOMS[self.leg];
        let needle = format!("name=\"{geom}\"");
        let line = xml
            .lines()
            .find(|l| l.contains(&needle))
            .ok_or_else(|| invalid(format!("the intact ant has no `{geom}`")))?;
        let fromto = line
            .split("fromto=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or_else(|| invalid(format!("`{geom}` has no fromto")))?;
        let v: Vec<f32> = fromto
            .split_whitespace()
            .map(|t| {
                t.parse()
                    .map_err(|_| invalid(format!("bad fromto `{fromto}`")))
            })
            .collect::<Result<_, _>>()?;
        if v.len() != 6 {
            return Err(invalid(format!("fromto `{fromto}` is not 6 numbers")));
        }
        let end: Vec<String> = (0..3)
            .map(|i| format!("{}", v[i] + (v[i + 3] - v[i]) * self.fraction))
            .collect();
        let scaled = format!("{} {} {} {}", v[0], v[1], v[2], end.join(" "));
        let new_line = line.replace(
            &format!("fromto=\"{fromto}\""),
            &format!("fromto=\"{scaled}\""),
        );
        Morphology::from_mjcf_str(&name, &format!("<{name}>"), &xml.replace(line, &new_line))
    }
}

/// An Ant whose body is re-drawn at every reset: one random [`Damage`] per episode, drawn from
/// the episode's seed (so the same seed gives the same body and episode).
pub struct RandomDamageAnt {
    ant: Ant,
    /// The legs it damages (0-based).
    legs: Vec<usize>,
    damage: Option<Damage>,
}

impl Default for RandomDamageAnt {
    fn default() -> Self {
        Self::new()
    }
}

impl RandomDamageAnt {
    pub fn new() -> Self {
        Self::with_config(PhysicsConfig::default())
    }

    /// On the given physics (every re-drawn body keeps it).
    pub fn with_config(physics: PhysicsConfig) -> Self {
        Self::on_legs(physics, &ALL_LEGS)
    }

    /// Damaging only `legs` (0-based, non-empty; e.g. from [`random_damage_legs`]).
    pub fn on_legs(physics: PhysicsConfig, legs: &[usize]) -> Self {
        assert!(
            !legs.is_empty() && legs.iter().all(|&l| l < 4),
            "legs {legs:?}"
        );
        let intact = Morphology::builtin("intact").expect("shipped morphology parses");
        Self {
            ant: Ant::with_config(&intact, physics),
            legs: legs.to_vec(),
            damage: None,
        }
    }

    /// The damage of the current episode (`None` before the first reset).
    pub fn damage(&self) -> Option<Damage> {
        self.damage
    }
}

impl Env for RandomDamageAnt {
    fn observation_len(&self) -> usize {
        self.ant.observation_len()
    }

    fn output_len(&self) -> usize {
        self.ant.output_len()
    }

    fn reset(&mut self, seed: u64) {
        let damage = Damage::from_seed_among(seed, &self.legs);
        let morph = damage
            .morphology()
            .expect("a damage of the shipped intact ant parses");
        self.ant = Ant::with_config(&morph, self.ant.config());
        self.damage = Some(damage);
        Env::reset(&mut self.ant, seed);
    }

    fn observe(&self, out: &mut [f32]) {
        self.ant.observe(out)
    }

    fn step(&mut self, network_output: &[f32]) -> EnvStep {
        Env::step(&mut self.ant, network_output)
    }

    fn render(&self, width: u32, height: u32) -> Option<image::RgbImage> {
        self.ant.render(width, height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_papers_right_damaged_body_is_a_point_of_the_distribution() {
        let right = Morphology::builtin("right_damaged").unwrap();
        let drawn = Damage {
            leg: 3,
            fraction: 0.25,
        }
        .morphology()
        .unwrap();
        assert_eq!(drawn.legs, right.legs);
        assert_eq!(drawn.torso, right.torso);
        let left = Morphology::builtin("left_damaged").unwrap();
        let drawn = Damage {
            leg: 0,
            fraction: 0.25,
        }
        .morphology()
        .unwrap();
        assert_eq!(drawn.legs, left.legs);
    }

    #[test]
    fn damage_variant_names_parse_and_out_of_range_ones_are_refused() {
        let d = |name: &str| Damage::from_name(name);
        assert_eq!(
            d("leg1_shin_0.25"),
            Some(Ok(Damage {
                leg: 0,
                fraction: 0.25
            }))
        );
        assert_eq!(
            d("leg4_shin_1"),
            Some(Ok(Damage {
                leg: 3,
                fraction: 1.0
            }))
        );
        for bad in [
            "leg0_shin_0.5",
            "leg5_shin_0.5",
            "leg1_shin_1.5",
            "leg1_shin_-0.1",
            "leg1_shin_x",
            "leg1_shin_nan",
        ] {
            let err = d(bad).unwrap().unwrap_err();
            assert!(err.contains(bad) && err.contains("legK_shin_F"), "{err}");
        }
        assert_eq!(d("intact"), None);
        assert_eq!(d("left_damaged"), None);
        // The name the body reports parses back to the same damage.
        let body = Damage {
            leg: 2,
            fraction: 0.5,
        }
        .morphology()
        .unwrap();
        assert_eq!(
            d(body.name()),
            Some(Ok(Damage {
                leg: 2,
                fraction: 0.5
            }))
        );
    }

    #[test]
    fn damages_cover_every_leg_and_fraction_and_follow_the_seed() {
        let draws: Vec<Damage> = (0..400).map(Damage::from_seed).collect();
        for leg in 0..4 {
            assert!(
                draws.iter().filter(|d| d.leg == leg).count() > 60,
                "leg {leg}"
            );
        }
        assert!(draws.iter().any(|d| d.fraction < 0.1) && draws.iter().any(|d| d.fraction > 0.9));
        assert_eq!(Damage::from_seed(7), Damage::from_seed(7));
        // A shorter shin weighs less; a cut one leaves the knee ball.
        let intact = Morphology::builtin("intact").unwrap();
        let stub = Damage {
            leg: 2,
            fraction: 0.0,
        }
        .morphology()
        .unwrap();
        assert!(stub.legs[2].shin.mass < 0.5 * intact.legs[2].shin.mass);
        assert_eq!(stub.legs[1], intact.legs[1]);
    }

    #[test]
    fn random_damage_can_spare_legs() {
        assert_eq!(
            random_damage_legs("random_damage"),
            Some(Ok(vec![0, 1, 2, 3]))
        );
        assert_eq!(
            random_damage_legs("random_damage_legs_423"),
            Some(Ok(vec![1, 2, 3]))
        );
        for bad in [
            "random_damage_legs_",
            "random_damage_legs_15",
            "random_damage_legs_22",
            "random_damage_legs_x",
        ] {
            let err = random_damage_legs(bad).unwrap().unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
        assert_eq!(random_damage_legs("intact"), None);
        assert_eq!(random_damage_legs("random_damages"), None);
        // All four legs: the draw of `random_damage`, seed for seed; fewer: only those legs,
        // each of them.
        for seed in 0..200 {
            assert_eq!(
                Damage::from_seed_among(seed, &[0, 1, 2, 3]),
                Damage::from_seed(seed)
            );
        }
        let draws: Vec<Damage> = (0..300)
            .map(|s| Damage::from_seed_among(s, &[1, 2, 3]))
            .collect();
        assert!(draws.iter().all(|d| d.leg != 0));
        for leg in 1..4 {
            assert!(
                draws.iter().filter(|d| d.leg == leg).count() > 70,
                "leg {leg}"
            );
        }
        let mut env = RandomDamageAnt::on_legs(PhysicsConfig::default(), &[1, 2, 3]);
        for seed in 0..20 {
            env.reset(seed);
            assert_ne!(env.damage().unwrap().leg, 0);
        }
    }

    #[test]
    fn each_reset_draws_the_body_of_its_seed() {
        let mut env = RandomDamageAnt::new();
        let obs = |env: &mut RandomDamageAnt, seed| {
            env.reset(seed);
            let mut o = vec![0.0; env.observation_len()];
            for _ in 0..30 {
                env.step(&[0.5; 8]);
            }
            env.observe(&mut o);
            (env.damage().unwrap(), o)
        };
        let (d1, o1) = obs(&mut env, 11);
        let (_, o2) = obs(&mut env, 12);
        let (d1_again, o1_again) = obs(&mut env, 11);
        assert_eq!(d1, d1_again);
        assert_eq!(o1, o1_again, "same seed, same body, same episode");
        assert_ne!(o1, o2);
    }
}
