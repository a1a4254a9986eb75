//! A task bundles environment variants, the network shape and the fitness protocol.

use std::sync::Arc;

use crate::architecture::Architecture;
use crate::env::Env;
use crate::env::car_racing::CarRacing;
use crate::env::cartpole::CartPole;
use crate::env::quadruped::{
    Ant, BUILTIN_NAMES, Damage, Morphology, PhysicsConfig, RandomDamageAnt, random_damage_legs,
};
pub use crate::protocol::Protocol;

/// A task or variant name this build does not know, or a morphology file it cannot load.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("unknown task `{name}`; expected one of: {}", Task::names().join(", "))]
    UnknownTask { name: String },
    #[error("task `{task}` has no variant `{variant}`; known: {known}")]
    UnknownVariant {
        task: String,
        variant: String,
        known: String,
    },
    #[error(transparent)]
    Morphology(#[from] crate::env::quadruped::MorphologyError),
    #[error("`physics` sets the Ant's physics; task `{task}` has none")]
    PhysicsNotAnt { task: String },
    #[error("task `{task}`: {why}")]
    BadVariant { task: String, why: String },
}

/// Builds a fresh environment of one variant (e.g. one morphology).
pub type EnvFactory = Arc<dyn Fn() -> Box<dyn Env> + Send + Sync>;

/// One environment variant of a task; the training fitness averages over all variants.
#[derive(Clone)]
pub struct EnvVariant {
    pub name: String,
    pub factory: EnvFactory,
}

/// A task: env variants + network + fitness protocol.
#[derive(Clone)]
pub struct Task {
    pub name: String,
    pub architecture: Architecture,
    pub protocol: Protocol,
    /// The reference normalises weights for every env that is not a Bullet env (CarRacing,
    /// CartPole); Ant weights grow unbounded.
    pub default_normalize: bool,
    pub variants: Vec<EnvVariant>,
    /// The physics every Ant variant is built with (other tasks ignore it).
    pub ant_physics: PhysicsConfig,
}

impl Task {
    pub fn cartpole() -> Self {
        Self {
            name: "cartpole".into(),
            architecture: Architecture::cartpole(),
            protocol: Protocol::cartpole(),
            // Not a Bullet env, so the reference normalises; without it the N(0,1) rules blow
            // the weights up within a few steps and ES finds no gradient.
            default_normalize: true,
            variants: vec![variant("cartpole", CartPole::new)],
            ant_physics: PhysicsConfig::default(),
        }
    }

    /// CarRacing-v0 on our gym-faithful env, pixels through the evolved conv front end.
    pub fn car_racing() -> Self {
        Self {
            name: "car_racing".into(),
            architecture: Architecture::car_racing(),
            protocol: Protocol::car_racing(),
            default_normalize: true,
            variants: vec![variant("car_racing", CarRacing::new)],
            ant_physics: PhysicsConfig::default(),
        }
    }

    /// The Ant with all three shipped morphologies (intact, right_damaged, left_damaged).
    pub fn ant() -> Self {
        Self::ant_with(PhysicsConfig::default())
    }

    /// The Ant with all three shipped morphologies on the given physics.
    pub fn ant_with(physics: PhysicsConfig) -> Self {
        let variants = BUILTIN_NAMES
            .iter()
            .map(|name| {
                let morph = Morphology::builtin(name).expect("shipped morphology parses");
                ant_variant(morph, physics)
            })
            .collect();
        Self {
            name: "ant".into(),
            architecture: Architecture::ant(),
            protocol: Protocol::ant(),
            default_normalize: false,
            variants,
            ant_physics: physics,
        }
    }

    /// The names of the tasks this build knows.
    pub fn names() -> &'static [&'static str] {
        &["cartpole", "car_racing", "ant"]
    }

    /// A task with every variant it knows, and the variants it trains on by default; `physics`
    /// (the Ant only) replaces the default physics.
    fn known(
        name: &str,
        physics: Option<PhysicsConfig>,
    ) -> Result<(Self, &'static [&'static str]), TaskError> {
        if physics.is_some() && name != "ant" && Self::names().contains(&name) {
            return Err(TaskError::PhysicsNotAnt { task: name.into() });
        }
        match name {
            "cartpole" => Ok((Self::cartpole(), &[])),
            "car_racing" => Ok((Self::car_racing(), &[])),
            // The paper trains on the mean over intact and right-damaged; left stays unseen.
            "ant" => Ok((
                Self::ant_with(physics.unwrap_or_default()),
                &["intact", "right_damaged"],
            )),
            other => Err(TaskError::UnknownTask {
                name: other.to_string(),
            }),
        }
    }

    /// The task for a name with its training variants (`variants`: names of env variants, or
    /// for the Ant paths to MJCF files; empty = the task's default training set).
    pub fn by_name(name: &str, variants: &[String]) -> Result<Self, TaskError> {
        Self::by_name_with(name, variants, None)
    }

    /// [`Self::by_name`] with the Ant's physics (`None` = the default physics).
    pub fn by_name_with(
        name: &str,
        variants: &[String],
        physics: Option<PhysicsConfig>,
    ) -> Result<Self, TaskError> {
        let (task, defaults) = Self::known(name, physics)?;
        if variants.is_empty() {
            let defaults: Vec<String> = defaults.iter().map(|s| s.to_string()).collect();
            return task.with_variants(&defaults);
        }
        task.with_variants(variants)
    }

    /// The task with every variant it knows (evaluation reports each one), or only `variants`.
    pub fn for_evaluation(name: &str, variants: &[String]) -> Result<Self, TaskError> {
        Self::for_evaluation_with(name, variants, None)
    }

    /// [`Self::for_evaluation`] with the Ant's physics (`None` = the default physics).
    pub fn for_evaluation_with(
        name: &str,
        variants: &[String],
        physics: Option<PhysicsConfig>,
    ) -> Result<Self, TaskError> {
        Self::known(name, physics)?.0.with_variants(variants)
    }

    /// Keeps only the named variants (in that order); empty keeps them all. For the Ant a name
    /// ending in `.xml` loads that MJCF morphology, `legK_shin_F` is the intact body with leg
    /// K's shin at fraction F of its length, and `random_damage` is a body with one randomly
    /// cut shin, re-drawn every episode (list it N times for N bodies per candidate;
    /// `random_damage_legs_234` cuts only legs 2–4).
    pub fn with_variants(mut self, names: &[String]) -> Result<Self, TaskError> {
        if names.is_empty() {
            return Ok(self);
        }
        let mut chosen = Vec::new();
        for n in names {
            if let Some(v) = self.variants.iter().find(|v| &v.name == n) {
                chosen.push(v.clone());
            } else if self.name == "ant"
                && let Some(legs) = random_damage_legs(n)
            {
                let legs = legs.map_err(|why| TaskError::BadVariant {
                    task: self.name.clone(),
                    why,
                })?;
                let physics = self.ant_physics;
                chosen.push(variant(n, move || RandomDamageAnt::on_legs(physics, &legs)));
            } else if self.name == "ant"
                && (Morphology::is_file_name(n) || Damage::from_name(n).is_some())
            {
                let morph = Morphology::by_name_or_file(n)?;
                chosen.push(ant_variant(morph, self.ant_physics));
            } else {
                let known: Vec<_> = self.variants.iter().map(|v| v.name.as_str()).collect();
                let files = if self.name == "ant" {
                    ", random_damage (random_damage_legs_K…: only legs K…), a damaged shin \
                     (legK_shin_F: leg K's shin at fraction F) or an MJCF file (*.xml)"
                } else {
                    ""
                };
                return Err(TaskError::UnknownVariant {
                    task: self.name.clone(),
                    variant: n.clone(),
                    known: format!("{}{files}", known.join(", ")),
                });
            }
        }
        self.variants = chosen;
        Ok(self)
    }
}

fn variant<E: Env + 'static>(
    name: &str,
    make: impl Fn() -> E + Send + Sync + 'static,
) -> EnvVariant {
    EnvVariant {
        name: name.into(),
        factory: Arc::new(move || Box::new(make()) as Box<dyn Env>),
    }
}

fn ant_variant(morph: Morphology, physics: PhysicsConfig) -> EnvVariant {
    let name = morph.name().to_string();
    let morph = Arc::new(morph);
    variant(&name, move || Ant::with_config(&morph, physics))
}
