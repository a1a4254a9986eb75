//! The ES + rollouts + files end to end on CartPole: learning, determinism, exact resume,
//! bad input.

use std::path::Path;

use hebbian::config::{Config, QUICK_START};
use hebbian::files::{load_checkpoint, load_model, read_model_header};
use hebbian::train::{BEST_FILE, CHECKPOINT_FILE, MODEL_FILE, TrainOptions, resume, train};

fn config(overrides: &[&str]) -> Config {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    Config::parse(QUICK_START, "test", &o).unwrap()
}

fn quiet() -> TrainOptions {
    TrainOptions::default()
}

fn strip_timing(h: &[hebbian::metrics::GenerationMetrics]) -> Vec<String> {
    h.iter()
        .map(|m| {
            format!(
                "{} {} {} {} {} {} {} {}",
                m.generation,
                m.mean_fitness,
                m.max_fitness,
                m.min_fitness,
                m.std_fitness,
                m.learning_rate,
                m.sigma,
                m.env_steps
            )
        })
        .collect()
}

#[test]
fn hebbian_abcd_lr_learns_cartpole_from_random_weights() {
    let dir = tempfile::tempdir().unwrap();
    let summary = train(
        config(&["generations=25", "population=64"]),
        dir.path(),
        &quiet(),
    )
    .unwrap();
    let h = &summary.history;
    let first = h[0].mean_fitness;
    let best_late = h[h.len() - 5..]
        .iter()
        .map(|m| m.mean_fitness)
        .fold(f32::MIN, f32::max);
    // A random ABCD_lr network balances ~10-40 steps; learning must lift the population mean far
    // above that.
    assert!(
        first < 100.0,
        "generation 0 mean {first}: the task is too easy to show learning"
    );
    assert!(
        best_late > 200.0 && best_late > 3.0 * first,
        "mean fitness {first} -> {best_late}"
    );
    // The model file evaluates as well as training suggests.
    let report =
        hebbian::eval::evaluate_model(&dir.path().join(MODEL_FILE), 32, 7, None, &[]).unwrap();
    assert!(
        report.variants[0].mean > 150.0,
        "eval mean {}",
        report.variants[0].mean
    );
    for f in [
        "metrics.jsonl",
        "fitness.png",
        "config.toml",
        CHECKPOINT_FILE,
        MODEL_FILE,
    ] {
        assert!(dir.path().join(f).exists(), "{f} written");
    }
}

#[test]
fn same_seed_same_metrics_and_resume_is_exact() {
    let c = config(&["generations=6", "population=16"]);
    let straight = tempfile::tempdir().unwrap();
    let a = train(c.clone(), straight.path(), &quiet()).unwrap();
    let again = tempfile::tempdir().unwrap();
    let b = train(c.clone(), again.path(), &quiet()).unwrap();
    assert_eq!(
        strip_timing(&a.history),
        strip_timing(&b.history),
        "determinism"
    );
    assert_eq!(a.centre, b.centre);

    // Kill after 2 generations, then resume to the end.
    let split = tempfile::tempdir().unwrap();
    let stop = TrainOptions {
        stop_after: Some(2),
        ..quiet()
    };
    train(c.clone(), split.path(), &stop).unwrap();
    let resumed = resume(split.path(), &quiet()).unwrap();
    assert_eq!(resumed.centre, a.centre, "resumed centre is bit-identical");
    assert_eq!(strip_timing(&resumed.history), strip_timing(&a.history));
    let different = train(
        config(&["generations=6", "population=16", "seed=2"]),
        tempfile::tempdir().unwrap().path(),
        &quiet(),
    )
    .unwrap();
    assert_ne!(different.centre, a.centre, "the seed matters");
}

#[test]
fn a_logged_but_uncheckpointed_generation_is_not_counted_twice() {
    let c = config(&["generations=3", "population=8"]);
    let dir = tempfile::tempdir().unwrap();
    train(
        c.clone(),
        dir.path(),
        &TrainOptions {
            stop_after: Some(2),
            ..quiet()
        },
    )
    .unwrap();
    // Simulate a kill between the metrics line and the checkpoint of generation 2: roll the
    // checkpoint back one generation by replaying a 1-generation run's checkpoint.
    let one = tempfile::tempdir().unwrap();
    train(
        c.clone(),
        one.path(),
        &TrainOptions {
            stop_after: Some(1),
            ..quiet()
        },
    )
    .unwrap();
    std::fs::copy(
        one.path().join(CHECKPOINT_FILE),
        dir.path().join(CHECKPOINT_FILE),
    )
    .unwrap();
    let r = resume(dir.path(), &quiet()).unwrap();
    let gens: Vec<u64> = r.history.iter().map(|m| m.generation).collect();
    assert_eq!(gens, vec![0, 1, 2]);
}

#[test]
fn an_existing_run_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(&["generations=1", "population=4"]);
    train(c.clone(), dir.path(), &quiet()).unwrap();
    let before = std::fs::read(dir.path().join(MODEL_FILE)).unwrap();
    let err = train(c, dir.path(), &quiet()).unwrap_err().to_string();
    assert!(err.contains("--resume"), "{err}");
    assert_eq!(std::fs::read(dir.path().join(MODEL_FILE)).unwrap(), before);
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn bad_model_and_checkpoint_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(&["generations=1", "population=4"]);
    train(c.clone(), dir.path(), &quiet()).unwrap();
    let model = dir.path().join(MODEL_FILE);
    let layout = c.controller_spec(&c.task().unwrap()).layout();

    // Missing.
    let err = read_model_header(&dir.path().join("nope.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope.safetensors"), "{err}");
    // Truncated.
    let bytes = std::fs::read(&model).unwrap();
    let cut = dir.path().join("cut.safetensors");
    write(&cut, &bytes[..bytes.len() / 2]);
    let err = read_model_header(&cut).unwrap_err().to_string();
    assert!(
        err.contains("cut.safetensors") && err.contains("truncated"),
        "{err}"
    );
    // Foreign (not safetensors at all).
    let junk = dir.path().join("junk.safetensors");
    write(&junk, b"hello world, not a model");
    assert!(read_model_header(&junk).is_err());
    // A checkpoint is not a model, and vice versa.
    let err = read_model_header(&dir.path().join(CHECKPOINT_FILE))
        .unwrap_err()
        .to_string();
    assert!(err.contains("hebbian-checkpoint"), "{err}");
    let err = load_checkpoint(&model, "cartpole", "ABCD_lr", layout.len())
        .unwrap_err()
        .to_string();
    assert!(err.contains("hebbian-model"), "{err}");
    // Another task or rule.
    let err = load_model(&model, &layout, "ant", "ABCD_lr")
        .unwrap_err()
        .to_string();
    assert!(err.contains("task `cartpole`"), "{err}");
    let err = load_model(&model, &layout, "cartpole", "AD")
        .unwrap_err()
        .to_string();
    assert!(err.contains("rule `ABCD_lr`"), "{err}");
    let err = load_checkpoint(&dir.path().join(CHECKPOINT_FILE), "cartpole", "ABCD_lr", 7)
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected 7"), "{err}");
    // Resume of a folder without a run.
    let empty = tempfile::tempdir().unwrap();
    let err = resume(empty.path(), &quiet()).unwrap_err().to_string();
    assert!(err.contains("config.toml"), "{err}");
}

#[test]
fn model_files_open_in_python_safetensors() {
    // Needs Python with safetensors and numpy: skipped visibly without them, unless
    // HEBBIAN_REQUIRE_ALL=1 (as `.ci/run` sets after installing them) makes that a failure.
    let has_python = std::process::Command::new("python3")
        .args(["-c", "import safetensors.numpy, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python {
        assert!(
            std::env::var("HEBBIAN_REQUIRE_ALL").as_deref() != Ok("1"),
            "HEBBIAN_REQUIRE_ALL=1 but python3 with safetensors+numpy is missing"
        );
        eprintln!(
            "SKIPPED model_files_open_in_python_safetensors: python3 with safetensors and numpy \
             not found (pip install safetensors numpy; HEBBIAN_REQUIRE_ALL=1 makes this fail)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    train(
        config(&["generations=1", "population=4"]),
        dir.path(),
        &quiet(),
    )
    .unwrap();
    let script = "import sys, safetensors.numpy as st, safetensors\n\
        t = st.load_file(sys.argv[1])\n\
        meta = safetensors.safe_open(sys.argv[1], 'np').metadata()\n\
        print(meta['task'], meta['rule'], tuple(t['coefficients.0'].shape), t['coefficients.2'].dtype)";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(dir.path().join(MODEL_FILE))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "cartpole ABCD_lr (5, 128, 4) float32");
}

/// Dropping finished episodes from the batch must not change any result.
#[test]
fn compacting_finished_agents_changes_nothing() {
    use burn::tensor::Tensor;
    use hebbian::env::VecEnv;
    use hebbian::rollout::{EpisodeSeeds, NoHook, run_episodes, run_episodes_full_batch};
    use hebbian::task::Task;
    // (Random Ant networks all lie on their belly until the 200-step grace ends, so their
    // episodes end together and nothing would be compacted.)
    for (name, rule, p) in [
        ("cartpole", "ABCD_lr", 16),
        ("car_racing", "ABCD_lr", 6),
        ("car_racing", "static", 6),
    ] {
        let text = format!(
            "seed = 2\ngenerations = 1\npopulation = {p}\n[task]\nname = \"{name}\"\n[network]\nrule = \"{rule}\"\n"
        );
        let config = Config::parse(&text, "test", &[]).unwrap();
        let mut task = Task::by_name(name, &[]).unwrap();
        task.protocol.max_env_steps = task.protocol.max_env_steps.min(600);
        let spec = config.controller_spec(&task);
        let layout = spec.layout();
        let device = hebbian::device_from_name("flex").unwrap();
        let mut es = hebbian::es::OpenEs::new(
            config.es.clone(),
            p,
            layout.initial_centre(config.network.distribution, 3),
            5,
            &device,
        )
        .unwrap();
        let genomes: Tensor<2> = es.ask().all();
        let seeds = EpisodeSeeds {
            envs: (0..p as u64).map(|a| 100 + a).collect(),
            init: 9,
        };
        let envs = || VecEnv::new((0..p).map(|_| (task.variants[0].factory)()).collect());
        let compacted = run_episodes(
            &mut envs(),
            &task.protocol,
            &spec,
            &genomes,
            &seeds,
            &mut NoHook,
        );
        let full = run_episodes_full_batch(
            &mut envs(),
            &task.protocol,
            &spec,
            &genomes,
            &seeds,
            &mut NoHook,
        );
        assert_eq!(compacted.fitness, full.fitness, "{name}");
        assert_eq!(compacted.lengths, full.lengths, "{name}");
        // The check is only meaningful if episodes ended at different times.
        let (min, max) = (
            full.lengths.iter().min().unwrap(),
            full.lengths.iter().max().unwrap(),
        );
        assert!(min < max, "{name}: all episodes lasted {min} steps");
    }
}

/// A 4-in/2-out env whose reward is scripted by the policy step, to pin the protocol.
struct ScriptedEnv {
    t: usize,
    burn_in: usize,
    reward: fn(usize) -> f32,
}

impl hebbian::env::Env for ScriptedEnv {
    fn observation_len(&self) -> usize {
        4
    }
    fn output_len(&self) -> usize {
        2
    }
    fn reset(&mut self, _seed: u64) {
        self.t = 0;
    }
    fn observe(&self, out: &mut [f32]) {
        out.fill(0.1);
    }
    fn step(&mut self, _output: &[f32]) -> hebbian::env::EnvStep {
        self.t += 1;
        // Burn-in steps are env steps too; the reward script is indexed by policy step.
        let reward = match self.t.checked_sub(self.burn_in + 1) {
            Some(policy_t) => (self.reward)(policy_t),
            None => -5.0,
        };
        hebbian::env::EnvStep {
            reward,
            done: false,
            diverged: false,
        }
    }
}

/// The Ant protocol counts negative steps only after the 200-step grace period (reference:
/// `if t > 200: neg_count = ...`): negative progress over t = 150..260 stops at t = 231, and
/// the burn-in's negative rewards neither count nor score. Training, eval and `paper_episode`
/// share this scorer.
#[test]
fn ant_protocol_counts_negative_progress_only_after_grace() {
    use burn::tensor::{Tensor, TensorData};
    use hebbian::env::VecEnv;
    use hebbian::protocol::Protocol;
    use hebbian::rollout::{EpisodeSeeds, NoHook, run_episodes};
    let config = Config::parse(
        "seed = 0\ngenerations = 1\npopulation = 2\n[task]\nname = \"cartpole\"\n[network]\nrule = \"ABCD_lr\"\n",
        "test",
        &[],
    )
    .unwrap();
    let task = hebbian::task::Task::by_name("cartpole", &[]).unwrap();
    let spec = config.controller_spec(&task);
    let d = spec.layout().len();
    let device = hebbian::device_from_name("flex").unwrap();
    let genomes = Tensor::<2>::from_data(TensorData::new(vec![0.01f32; 2 * d], [2, d]), &device);
    let protocol = Protocol::ant();
    let scripts: [fn(usize) -> f32; 2] = [
        |t| if (150..260).contains(&t) { -1.0 } else { 1.0 },
        |t| if t < 200 { -1.0 } else { 0.5 },
    ];
    let mut envs = VecEnv::new(
        scripts
            .iter()
            .map(|&reward| ScriptedEnv {
                t: 0,
                burn_in: protocol.burn_in_steps,
                reward,
            })
            .collect(),
    );
    let seeds = EpisodeSeeds {
        envs: vec![0, 1],
        init: 0,
    };
    let stats = run_episodes(&mut envs, &protocol, &spec, &genomes, &seeds, &mut NoHook);
    // Stops after policy step t = 231, i.e. 232 steps: 150 positive, 82 negative.
    assert_eq!(stats.lengths[0], 232);
    assert_eq!(stats.fitness[0], 150.0 - 82.0);
    // Negative only during grace: runs to the time limit.
    assert_eq!(stats.lengths[1], 960);
    assert_eq!(stats.fitness[1], -200.0 + 0.5 * 760.0);
}

/// `best.safetensors` holds the centre that the best generation (by population mean) sampled
/// around: the same genome a run stopped after that many generations leaves as its model.
#[test]
fn best_model_is_the_centre_of_the_best_generation() {
    let dir = tempfile::tempdir().unwrap();
    let summary = train(
        config(&["generations=6", "population=16"]),
        dir.path(),
        &quiet(),
    )
    .unwrap();
    let means: Vec<f32> = summary.history.iter().map(|m| m.mean_fitness).collect();
    let best = (0..means.len())
        .max_by(|&a, &b| means[a].total_cmp(&means[b]).then(b.cmp(&a)))
        .unwrap();
    assert!(
        best > 0,
        "the test needs a best generation after the first: {means:?}"
    );
    let header = read_model_header(&dir.path().join(BEST_FILE)).unwrap();
    assert_eq!(header.generation, best as u64, "means {means:?}");

    let shorter = tempfile::tempdir().unwrap();
    train(
        config(&[&format!("generations={best}"), "population=16"]),
        shorter.path(),
        &quiet(),
    )
    .unwrap();
    let spec = {
        let c = config(&[]);
        c.controller_spec(&c.task().unwrap())
    };
    let layout = spec.layout();
    let load = |p: &Path| {
        load_model(p, &layout, "cartpole", "ABCD_lr")
            .unwrap()
            .genome
    };
    assert_eq!(
        load(&dir.path().join(BEST_FILE)),
        load(&shorter.path().join(MODEL_FILE))
    );
}

/// A run killed before its first checkpoint left only `config.toml` (and perhaps a metrics line
/// of its unfinished first generation): `--resume` starts it from generation 0, and the result
/// equals an uninterrupted run.
#[test]
fn a_run_killed_before_its_first_checkpoint_resumes_from_generation_zero() {
    let full = tempfile::tempdir().unwrap();
    let whole = train(
        config(&["generations=2", "population=8"]),
        full.path(),
        &quiet(),
    )
    .unwrap();

    let cut = tempfile::tempdir().unwrap();
    train(
        config(&["generations=2", "population=8"]),
        cut.path(),
        &quiet(),
    )
    .unwrap();
    for f in [CHECKPOINT_FILE, MODEL_FILE, BEST_FILE] {
        std::fs::remove_file(cut.path().join(f)).unwrap();
    }
    // A torn first metrics line, as a kill mid-generation could leave.
    std::fs::write(
        cut.path().join("metrics.jsonl"),
        "{\"generation\":0,\"mean_fi",
    )
    .unwrap();
    let resumed = resume(cut.path(), &quiet()).unwrap();
    assert_eq!(strip_timing(&resumed.history), strip_timing(&whole.history));
    assert_eq!(resumed.centre, whole.centre);
}

#[test]
fn a_second_process_on_a_run_folder_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(&["generations=2", "population=8"]);
    train(
        c.clone(),
        dir.path(),
        &TrainOptions {
            stop_after: Some(1),
            ..quiet()
        },
    )
    .unwrap();
    let metrics_before = std::fs::read(dir.path().join("metrics.jsonl")).unwrap();
    // Another process holds the run (a lock taken on the same file, as `train` takes it).
    let held = hebbian::run_lock::RunLock::acquire(dir.path()).unwrap();
    let err = format!("{:#}", resume(dir.path(), &quiet()).unwrap_err());
    assert!(err.contains("another hebbian process"), "{err}");
    let err = format!("{:#}", train(c.clone(), dir.path(), &quiet()).unwrap_err());
    assert!(err.contains("another hebbian process"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join("metrics.jsonl")).unwrap(),
        metrics_before,
        "the refused processes wrote nothing"
    );
    // Released (as on exit or a crash): the run continues.
    drop(held);
    let r = resume(dir.path(), &quiet()).unwrap();
    assert_eq!(r.history.len(), 2);
}

#[test]
fn an_edited_config_is_refused_on_resume_naming_the_keys_but_generations_may_grow() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(&["generations=2", "population=8"]);
    train(c.clone(), dir.path(), &quiet()).unwrap();
    let path = dir.path().join("config.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    let edited = original
        .replace("sigma = 0.1", "sigma = 0.05")
        .replace("seed = 1", "seed = 7");
    assert_ne!(edited, original);
    std::fs::write(&path, &edited).unwrap();
    let err = format!("{:#}", resume(dir.path(), &quiet()).unwrap_err());
    assert!(
        err.contains("`es.sigma` (0.1 → 0.05)") && err.contains("`seed` (1 → 7)"),
        "{err}"
    );
    // Only the run length changed: the run goes on, bit-identical to one run of that length.
    std::fs::write(
        &path,
        original.replace("generations = 2", "generations = 3"),
    )
    .unwrap();
    let longer = resume(dir.path(), &quiet()).unwrap();
    let straight = train(
        config(&["generations=3", "population=8"]),
        tempfile::tempdir().unwrap().path(),
        &quiet(),
    )
    .unwrap();
    assert_eq!(longer.centre, straight.centre);
    assert_eq!(
        strip_timing(&longer.history),
        strip_timing(&straight.history)
    );
}

#[test]
fn a_torn_metrics_line_is_repaired_on_resume() {
    let straight = train(
        config(&["generations=3", "population=8"]),
        tempfile::tempdir().unwrap().path(),
        &quiet(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    train(
        config(&["generations=3", "population=8"]),
        dir.path(),
        &TrainOptions {
            stop_after: Some(2),
            ..quiet()
        },
    )
    .unwrap();
    // A crash in the middle of writing generation 2's line.
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("metrics.jsonl"))
        .unwrap();
    f.write_all(b"{\"generation\":2,\"mean_fitn").unwrap();
    drop(f);
    let r = resume(dir.path(), &quiet()).unwrap();
    assert_eq!(strip_timing(&r.history), strip_timing(&straight.history));
    let on_disk = hebbian::metrics::read(&dir.path().join("metrics.jsonl")).unwrap();
    assert_eq!(strip_timing(&on_disk), strip_timing(&straight.history));
}

#[test]
fn held_out_variants_are_scored_on_the_centre_without_changing_the_run() {
    let plain = config(&["generations=3", "population=8"]);
    let watched = config(&[
        "generations=3",
        "population=8",
        "held_out.variants=[\"cartpole\"]",
        "held_out.every=2",
        "held_out.rollouts=3",
    ]);
    let a = train(plain.clone(), tempfile::tempdir().unwrap().path(), &quiet()).unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let b = train(watched, b_dir.path(), &quiet()).unwrap();
    assert_eq!(strip_timing(&a.history), strip_timing(&b.history));
    assert_eq!(
        a.centre, b.centre,
        "scoring held-out episodes changes nothing"
    );
    assert!(a.history.iter().all(|m| m.held_out.is_empty()));
    let scored: Vec<u64> = b
        .history
        .iter()
        .filter(|m| !m.held_out.is_empty())
        .map(|m| m.generation)
        .collect();
    assert_eq!(scored, [0, 2], "every 2nd generation and the last");
    let logged = hebbian::metrics::read(&b_dir.path().join("metrics.jsonl")).unwrap();
    assert_eq!(logged[2].held_out, b.history[2].held_out);

    // A run started without [held_out] may add it on resume. Generation 2 scores the centre
    // it samples around, which is the model file after two generations: `hebbian eval` of
    // that file with the held-out seed gives the same numbers.
    let split = tempfile::tempdir().unwrap();
    let stop = TrainOptions {
        stop_after: Some(2),
        ..quiet()
    };
    train(plain.clone(), split.path(), &stop).unwrap();
    let eval = hebbian::eval::evaluate_model(
        &split.path().join(MODEL_FILE),
        3,
        hebbian::held_out::seed(plain.seed),
        None,
        &["cartpole".to_string()],
    )
    .unwrap();
    let path = split.path().join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text + "\n[held_out]\nvariants = [\"cartpole\"]\nevery = 2\nrollouts = 3\n",
    )
    .unwrap();
    let resumed = resume(split.path(), &quiet()).unwrap();
    assert_eq!(resumed.centre, a.centre);
    let g2 = &resumed.history[2].held_out;
    assert_eq!(g2, &b.history[2].held_out);
    assert_eq!(g2.len(), 1);
    assert_eq!(g2[0].score, eval.variants[0]);
    assert!(
        g2[0].score.min >= 1.0,
        "CartPole returns count steps: {g2:?}"
    );
    assert_eq!((g2[0].rollouts, g2[0].seed), (3, eval.seed));
    // Resuming the finished run changes nothing but redraws its plot.
    let plot = split.path().join("fitness.png");
    std::fs::remove_file(&plot).unwrap();
    let again = resume(split.path(), &quiet()).unwrap();
    assert_eq!(again.centre, resumed.centre);
    assert!(plot.exists(), "a finished run's resume redraws fitness.png");
}
