//! The processes one training run is spread over: one, or every rank of an MPI job
//! (`mpirun -np N hebbian train ...`, Cargo feature `mpi`, rsmpi over the system MPI).
//!
//! Every rank holds the same ES state and draws the same noise from the shared seed, so nothing
//! but fitness crosses the network: each rank evaluates its contiguous share of the population's
//! chunks, the fitness values are all-gathered in rank order, and every rank takes the same ES
//! step. Rank 0 alone writes the run folder.

use std::ops::Range;

/// This process's place in the run.
pub struct Cluster {
    rank: usize,
    size: usize,
    #[cfg(feature = "mpi")]
    universe: Option<mpi::environment::Universe>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cluster(rank {} of {})", self.rank, self.size)
    }
}

/// Environment variables an MPI launcher sets (OpenMPI, MPICH/Hydra, PMIx).
const LAUNCHER_VARIABLES: [&str; 3] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"];

impl Cluster {
    /// A run in this process alone.
    pub fn single() -> Self {
        Self {
            rank: 0,
            size: 1,
            #[cfg(feature = "mpi")]
            universe: None,
        }
    }

    /// Joins the MPI job this process was launched in, or runs alone when no MPI launcher
    /// started it (or the build has no `mpi` feature).
    pub fn from_environment() -> Result<Self, String> {
        let launched = LAUNCHER_VARIABLES
            .iter()
            .any(|v| std::env::var_os(v).is_some());
        if !launched {
            return Ok(Self::single());
        }
        Self::join_mpi()
    }

    #[cfg(feature = "mpi")]
    fn join_mpi() -> Result<Self, String> {
        use mpi::traits::Communicator;
        // Only the main thread calls MPI; rayon's threads compute.
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .ok_or("MPI was already initialised")?;
        let world = universe.world();
        Ok(Self {
            rank: world.rank() as usize,
            size: world.size() as usize,
            universe: Some(universe),
        })
    }

    #[cfg(not(feature = "mpi"))]
    fn join_mpi() -> Result<Self, String> {
        let size = std::env::var("OMPI_COMM_WORLD_SIZE")
            .or_else(|_| std::env::var("PMI_SIZE"))
            .unwrap_or_default();
        if size.is_empty() || size == "1" {
            return Ok(Self::single());
        }
        Err(format!(
            "launched by an MPI launcher with {size} ranks, but this build has no `mpi` feature \
             (build with `--features mpi`); every rank would train the whole run alone"
        ))
    }

    pub fn rank(&self) -> usize {
        self.rank
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Rank 0, the one that writes files and talks to the user.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// This rank's contiguous, balanced share of `items`: `[r·n/size, (r+1)·n/size)`.
    pub fn share(&self, items: usize) -> Range<usize> {
        (self.rank * items / self.size)..((self.rank + 1) * items / self.size)
    }

    /// Every rank's `local` values, concatenated in rank order.
    pub fn gather_f32(&self, local: &[f32]) -> Vec<f32> {
        #[cfg(feature = "mpi")]
        if let Some(universe) = &self.universe {
            use mpi::datatype::PartitionMut;
            use mpi::traits::CommunicatorCollectives;
            let world = universe.world();
            let mut counts = vec![0 as mpi::Count; self.size];
            world.all_gather_into(&(local.len() as mpi::Count), &mut counts[..]);
            let displs: Vec<mpi::Count> = counts
                .iter()
                .scan(0, |acc, &c| {
                    let d = *acc;
                    *acc += c;
                    Some(d)
                })
                .collect();
            let total = counts.iter().sum::<mpi::Count>() as usize;
            let mut all = vec![0.0f32; total];
            {
                let mut partition = PartitionMut::new(&mut all[..], counts, &displs[..]);
                world.all_gather_varcount_into(local, &mut partition);
            }
            return all;
        }
        local.to_vec()
    }

    /// The sum of `value` over all ranks.
    pub fn sum_f64(&self, value: f64) -> f64 {
        self.gather_f64(value).iter().sum()
    }

    fn gather_f64(&self, value: f64) -> Vec<f64> {
        #[cfg(feature = "mpi")]
        if let Some(universe) = &self.universe {
            use mpi::traits::CommunicatorCollectives;
            let mut all = vec![0.0f64; self.size];
            universe.world().all_gather_into(&value, &mut all[..]);
            return all;
        }
        vec![value]
    }

    /// Fails, on every rank, when the ranks disagree on `value` (e.g. the resolved config):
    /// each rank compares every rank's SHA-256 prefix of it.
    pub fn check_agreement(&self, what: &str, value: &str) -> Result<(), String> {
        #[cfg(feature = "mpi")]
        if let Some(universe) = &self.universe {
            use mpi::traits::CommunicatorCollectives;
            use sha2::Digest;
            let digest = sha2::Sha256::digest(value.as_bytes());
            let mine = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
            let mut all = vec![0u64; self.size];
            universe.world().all_gather_into(&mine, &mut all[..]);
            if let Some(r) = all.iter().position(|&h| h != all[0]) {
                // Every rank says so before any exits: mpirun ends the whole job when the first
                // rank exits with an error, which could cut off the others' messages.
                eprintln!(
                    "MPI rank {r}'s {what} differs from rank 0's (this is rank {}): every rank \
                     must run the same experiment",
                    self.rank
                );
                universe.world().barrier();
                return Err(format!(
                    "the MPI ranks' {what}s differ (see above); nothing was run or written"
                ));
            }
        }
        let _ = (what, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_contiguous_balanced_and_cover_everything() {
        let share = |rank, size, n| {
            Cluster {
                rank,
                size,
                #[cfg(feature = "mpi")]
                universe: None,
            }
            .share(n)
        };
        assert_eq!(share(0, 1, 7), 0..7);
        let parts: Vec<_> = (0..3).map(|r| share(r, 3, 7)).collect();
        assert_eq!(parts, vec![0..2, 2..4, 4..7]);
        assert_eq!(share(1, 2, 1), 0..1);
        let single = Cluster::single();
        assert_eq!(single.gather_f32(&[1.0, 2.0]), vec![1.0, 2.0]);
        assert_eq!(single.sum_f64(2.5), 2.5);
        assert!(single.check_agreement("config", "x").is_ok());
    }
}
