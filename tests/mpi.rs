//! Training over MPI ranks (`--features mpi`): `mpirun -np 2` on loopback gives the
//! bit-identical run folder of the same run in one process, and ranks launched with different
//! configs all refuse. Needs OpenMPI's `mpirun`; skips visibly without it unless
//! `HEBBIAN_REQUIRE_ALL=1` (set by `.ci/run`, which installs it).
#![cfg(feature = "mpi")]

use std::path::Path;
use std::process::{Command, Output};

fn mpirun_available() -> bool {
    let found = Command::new("mpirun").arg("--version").output().is_ok();
    if !found {
        if std::env::var("HEBBIAN_REQUIRE_ALL").as_deref() == Ok("1") {
            panic!("mpirun not found, and HEBBIAN_REQUIRE_ALL=1");
        }
        eprintln!("SKIPPED: tests/mpi.rs needs OpenMPI's mpirun (apt-get install openmpi-bin)");
    }
    found
}

/// `mpirun` with one `hebbian train` per argument list (MPMD: `a : b`), on this machine.
fn mpirun(ranks: &[Vec<String>]) -> Output {
    let mut cmd = Command::new("mpirun");
    // CI runs as root; oversubscribe lets two ranks share fewer cores.
    cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .arg("--oversubscribe");
    for (i, args) in ranks.iter().enumerate() {
        if i > 0 {
            cmd.arg(":");
        }
        cmd.args(["-np", "1", env!("CARGO_BIN_EXE_hebbian")])
            .args(args);
    }
    cmd.output().unwrap()
}

fn train_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "train",
        "--set",
        "generations=3",
        "--set",
        "population=32",
        // Four chunks of 8: each of the two ranks evaluates two.
        "--set",
        "run.chunk=8",
        "--quiet",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(out.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn two_ranks_write_the_bit_identical_run_of_one_process() {
    if !mpirun_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (alone, split) = (dir.path().join("alone"), dir.path().join("split"));
    let one = Command::new(env!("CARGO_BIN_EXE_hebbian"))
        .args(train_args(&alone, &[]))
        .output()
        .unwrap();
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let two = mpirun(&[train_args(&split, &[]), train_args(&split, &[])]);
    assert!(
        two.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&two.stdout),
        String::from_utf8_lossy(&two.stderr)
    );
    for file in [
        "model.safetensors",
        "checkpoint.safetensors",
        "best.safetensors",
    ] {
        assert_eq!(
            std::fs::read(alone.join(file)).unwrap(),
            std::fs::read(split.join(file)).unwrap(),
            "{file}"
        );
    }
    let fitness = |d: &Path| -> Vec<f32> {
        hebbian::metrics::read(&d.join("metrics.jsonl"))
            .unwrap()
            .iter()
            .map(|m| m.mean_fitness)
            .collect()
    };
    assert_eq!(fitness(&alone), fitness(&split));
    // Rank 0 alone printed the summary.
    let stdout = String::from_utf8_lossy(&two.stdout);
    assert_eq!(stdout.matches("model:").count(), 1, "{stdout}");
}

#[test]
fn ranks_with_different_configs_all_refuse() {
    if !mpirun_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = mpirun(&[
        train_args(&out, &["--set", "seed=1"]),
        train_args(&out, &["--set", "seed=2"]),
    ]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    for rank in 0..2 {
        assert!(
            stderr.contains(&format!("differs from rank 0's (this is rank {rank})")),
            "{stderr}"
        );
    }
    assert!(!out.join("config.toml").exists(), "nothing was written");
}
