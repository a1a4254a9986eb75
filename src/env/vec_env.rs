//! P environments stepped in parallel on CPU threads, with per-agent done masks.

use rayon::prelude::*;

use super::{Env, EnvStep};

/// A batch of environments; inactive ones (done) are skipped.
pub struct VecEnv<E: Env> {
    envs: Vec<E>,
}

impl<E: Env> VecEnv<E> {
    pub fn new(envs: Vec<E>) -> Self {
        assert!(!envs.is_empty(), "a VecEnv needs at least one env");
        Self { envs }
    }

    pub fn len(&self) -> usize {
        self.envs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    pub fn observation_len(&self) -> usize {
        self.envs[0].observation_len()
    }

    pub fn output_len(&self) -> usize {
        self.envs[0].output_len()
    }

    pub fn envs_mut(&mut self) -> &mut [E] {
        &mut self.envs
    }

    /// Resets env `i` with `seeds[i]`.
    pub fn reset(&mut self, seeds: &[u64]) {
        self.envs
            .par_iter_mut()
            .zip(seeds)
            .for_each(|(e, &s)| e.reset(s));
    }

    /// Writes all observations into `out` (`[P, obs]`, row-major).
    pub fn observe(&mut self, out: &mut [f32]) {
        let n = self.observation_len();
        self.envs
            .par_iter_mut()
            .zip(out.par_chunks_mut(n))
            .for_each(|(e, o)| e.observe(o));
    }

    /// Writes the observations of envs `rows` (increasing indices) into `out`
    /// (`[rows.len(), obs]`), e.g. only the episodes still running.
    pub fn observe_rows(&mut self, rows: &[usize], out: &mut [f32]) {
        let n = self.observation_len();
        assert_eq!(
            out.len(),
            rows.len() * n,
            "one observation row per selected env"
        );
        let mut chunks = out.chunks_mut(n);
        let mut wanted = rows.iter().copied().peekable();
        let mut pairs = Vec::with_capacity(rows.len());
        for (i, env) in self.envs.iter_mut().enumerate() {
            if wanted.peek() == Some(&i) {
                wanted.next();
                pairs.push((env, chunks.next().expect("row buffer")));
            }
        }
        assert!(
            wanted.next().is_none(),
            "rows must be increasing env indices"
        );
        pairs.into_par_iter().for_each(|(e, o)| e.observe(o));
    }

    /// Steps every active env with its row of `outputs` (`[P, A]`); inactive envs report a
    /// default step and are left untouched.
    pub fn step(&mut self, outputs: &[f32], active: &[bool], steps: &mut [EnvStep]) {
        let a = self.output_len();
        self.envs
            .par_iter_mut()
            .zip(outputs.par_chunks(a))
            .zip(active.par_iter())
            .zip(steps.par_iter_mut())
            .for_each(|(((e, out), &on), step)| {
                *step = if on { e.step(out) } else { EnvStep::default() };
            });
    }
}
