//! The fitness protocol of an episode (reference §4.1, §4.2): burn-in, time limit, grace period
//! and early stops. One implementation, used by training, evaluation, experiments and the Ant's
//! own [`crate::env::quadruped::paper_episode`], so that they cannot disagree.

/// How an episode is scored and when it stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protocol {
    /// Zero-action steps after reset: rewards ignored, no network call, no Hebbian update.
    /// They count toward `max_env_steps`. The first network input is the reset observation.
    pub burn_in_steps: usize,
    /// The time limit in env steps, burn-in included.
    pub max_env_steps: usize,
    /// Termination checks (and the negative-reward count) run only on policy steps
    /// `t > checks_after` (0-based); `None` = always.
    pub checks_after: Option<usize>,
    /// Stop when more than this many consecutive steps had a negative reward; `None` = never.
    pub max_negative_streak: Option<usize>,
}

/// AntBulletEnv-v0's burn-in: zero-action steps after reset.
pub const ANT_BURN_IN_STEPS: usize = 40;
/// gym's TimeLimit for AntBulletEnv-v0 and CarRacing-v0 (env steps).
pub const TIME_LIMIT: usize = 1000;
/// Bullet envs: nothing stops the episode (not even `done`) while t ≤ this.
pub const ANT_GRACE_STEPS: usize = 200;
/// Bullet envs: stop once more than this many consecutive steps had a negative reward.
pub const ANT_MAX_NEGATIVE_STEPS: usize = 30;
/// CarRacing: stop on the 21st consecutive negative step.
pub const CAR_RACING_MAX_NEGATIVE_STEPS: usize = 20;

impl Protocol {
    /// CartPole-v1: stop when the pole falls, 500 steps.
    pub fn cartpole() -> Self {
        Self {
            burn_in_steps: 0,
            max_env_steps: crate::env::cartpole::MAX_STEPS,
            checks_after: None,
            max_negative_streak: None,
        }
    }

    /// CarRacing-v0: stop on done or on the 21st consecutive negative step; 1000 steps.
    pub fn car_racing() -> Self {
        Self {
            burn_in_steps: 0,
            max_env_steps: TIME_LIMIT,
            checks_after: None,
            max_negative_streak: Some(CAR_RACING_MAX_NEGATIVE_STEPS),
        }
    }

    /// AntBulletEnv-v0 as the paper runs it: 40-step burn-in, nothing checked or counted while
    /// t ≤ 200, then stop on a fall or after more than 30 negative-progress steps; 1000 env
    /// steps. So the earliest stop for negative progress is t = 231.
    pub fn ant() -> Self {
        Self {
            burn_in_steps: ANT_BURN_IN_STEPS,
            max_env_steps: TIME_LIMIT,
            checks_after: Some(ANT_GRACE_STEPS),
            max_negative_streak: Some(ANT_MAX_NEGATIVE_STEPS),
        }
    }

    /// Policy steps at most (the time limit less the burn-in).
    pub fn policy_steps(&self) -> usize {
        self.max_env_steps.saturating_sub(self.burn_in_steps)
    }
}

/// One agent's running score under a [`Protocol`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpisodeScore {
    /// Σ reward over the policy steps so far.
    pub total: f32,
    /// Policy steps taken.
    pub steps: usize,
    negative_streak: usize,
}

impl EpisodeScore {
    /// Records policy step `t` (0-based) with its reward and the env's `done`; returns whether
    /// the episode ends here. As the reference: `if t > 200: neg = neg+1 if r < 0 else 0;
    /// if done or neg > 30: break` — the streak is only counted while checks are on.
    pub fn record(&mut self, protocol: &Protocol, t: usize, reward: f32, done: bool) -> bool {
        self.total += reward;
        self.steps += 1;
        let checking = protocol.checks_after.is_none_or(|after| t > after);
        if !checking {
            return false;
        }
        self.negative_streak = if reward < 0.0 {
            self.negative_streak + 1
        } else {
            0
        };
        let streak_over = protocol
            .max_negative_streak
            .is_some_and(|m| self.negative_streak > m);
        done || streak_over
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a reward sequence until the protocol stops it; returns the stopping step.
    fn stop_step(p: &Protocol, reward: impl Fn(usize) -> f32) -> usize {
        let mut s = EpisodeScore::default();
        for t in 0..p.policy_steps() {
            if s.record(p, t, reward(t), false) {
                return t;
            }
        }
        p.policy_steps()
    }

    #[test]
    fn ant_counts_negative_steps_only_after_the_grace_period() {
        let p = Protocol::ant();
        // Negative for all of t = 150..260: counting starts at 201, the 31st is t = 231.
        let t = stop_step(&p, |t| if (150..260).contains(&t) { -1.0 } else { 1.0 });
        assert_eq!(t, 231);
        // Negative throughout: still 231, never 201.
        assert_eq!(stop_step(&p, |_| -1.0), 231);
        // Negative only inside the grace period: never stops.
        assert_eq!(stop_step(&p, |t| if t < 200 { -1.0 } else { 0.0 }), 960);
    }

    #[test]
    fn car_racing_stops_on_the_21st_negative_step() {
        let p = Protocol::car_racing();
        assert_eq!(stop_step(&p, |_| -0.1), 20);
        assert_eq!(
            stop_step(&p, |t| if t < 50 { 1.0 } else { -0.1 }),
            70,
            "counts from the first negative step"
        );
    }

    #[test]
    fn done_is_ignored_during_grace() {
        let p = Protocol::ant();
        let mut s = EpisodeScore::default();
        assert!(!s.record(&p, 200, 1.0, true));
        assert!(s.record(&p, 201, 1.0, true));
        assert_eq!(s.total, 2.0);
    }
}
