//! Every shipped experiment file parses, validates and builds its task and controller.

use hebbian::config::Config;
use hebbian::task::Task;

#[test]
fn every_shipped_config_is_valid() {
    let mut seen = 0;
    for entry in std::fs::read_dir("configs").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let config = Config::load(&path, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let task = config
            .task()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let spec = config.controller_spec(&task);
        assert!(!spec.layout().is_empty());
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} configs found");
}

#[test]
fn ant_trains_on_intact_and_right_damaged_and_keeps_left_unseen() {
    let train = Task::by_name("ant", &[]).unwrap();
    let names: Vec<_> = train.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["intact", "right_damaged"]);
    let eval = Task::for_evaluation("ant", &[]).unwrap();
    let names: Vec<_> = eval.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["intact", "right_damaged", "left_damaged"]);
    // An MJCF file is a variant too; a bad name lists the known ones.
    let file = format!(
        "{}/models/morphologies/ant_asym_left.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    let custom = Task::by_name("ant", &[file]).unwrap();
    assert_eq!(custom.variants[0].name, "ant_asym_left");
    let err = Task::by_name("ant", &["tripod".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("tripod") && err.contains("left_damaged"),
        "{err}"
    );
    let err = Task::by_name("pong", &[]).err().unwrap().to_string();
    assert!(err.contains("car_racing"), "{err}");
}

#[test]
fn pixel_and_bullet_defaults_follow_the_reference() {
    let car = Task::by_name("car_racing", &[]).unwrap();
    assert!(car.default_normalize && car.architecture.conv.is_some());
    assert_eq!(car.protocol.max_negative_streak, Some(20));
    let ant = Task::by_name("ant", &[]).unwrap();
    assert!(!ant.default_normalize);
    assert_eq!(
        (ant.protocol.burn_in_steps, ant.protocol.checks_after),
        (40, Some(200))
    );
}

#[test]
fn random_damage_trains_on_redrawn_bodies_and_evaluates_on_the_fixed_three() {
    let config = Config::load(std::path::Path::new("configs/ant_random_damage.toml"), &[]).unwrap();
    let task = config.task().unwrap();
    let names: Vec<&str> = task.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["intact", "random_damage", "random_damage"]);
    // Two random-damage variants give different bodies to one candidate (their env seeds
    // differ), and a reset with the same seed gives the same body.
    let mut a = (task.variants[1].factory)();
    let mut b = (task.variants[2].factory)();
    let seed = |v| hebbian::rollout::env_seed(3, v, 1, 0);
    let run = |env: &mut Box<dyn hebbian::env::Env>, s| {
        env.reset(s);
        (0..40).map(|_| env.step(&[0.7; 8]).reward).sum::<f32>()
    };
    assert_ne!(run(&mut a, seed(1)), run(&mut b, seed(2)));
    assert_eq!(run(&mut a, seed(1)), run(&mut b, seed(1)));
    let eval = Task::for_evaluation("ant", &[]).unwrap();
    let names: Vec<&str> = eval.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["intact", "right_damaged", "left_damaged"]);

    // Sparing the front-left leg keeps the paper's unseen body unseen.
    let spare = Config::load(
        std::path::Path::new("configs/ant_random_damage_spare_left.toml"),
        &[],
    )
    .unwrap();
    let task = spare.task().unwrap();
    assert_eq!(task.variants[1].name, "random_damage_legs_234");
    let held_out = spare
        .held_out_task(spare.held_out.as_ref().unwrap())
        .unwrap();
    assert_eq!(held_out.variants[0].name, "left_damaged");
    let err = Task::by_name("ant", &["random_damage_legs_15".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("random_damage_legs_15") && err.contains("1..=4"),
        "{err}"
    );
}

/// `legK_shin_F` names a damaged body wherever a variant is named (a damage sweep is a list of
/// `--variant`s): `leg1_shin_0.25` is the paper's left-damaged body and scores as it does on
/// the same env seed; a bad one is refused naming the form.
#[test]
fn damaged_shin_variants_are_named_bodies() {
    let task =
        Task::for_evaluation("ant", &["leg1_shin_0.25".into(), "left_damaged".into()]).unwrap();
    let names: Vec<&str> = task.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["leg1_shin_0.250", "left_damaged"]);
    let run = |v: usize| {
        let mut env = (task.variants[v].factory)();
        env.reset(11);
        (0..60)
            .map(|t| env.step(&[if t % 20 < 10 { 0.8 } else { -0.8 }; 8]).reward)
            .sum::<f32>()
    };
    assert_eq!(run(0), run(1));
    for bad in ["leg5_shin_0.5", "leg1_shin_2"] {
        let err = Task::for_evaluation("ant", &[bad.into()])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(bad) && err.contains("legK_shin_F"), "{err}");
    }
    let err = Task::for_evaluation("ant", &["leg1_knee".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("legK_shin_F"), "{err}");
}

/// `[task.physics]` sets the Ant's physics for a run: every variant (shipped, file, damaged
/// shin, random damage) is built with it, the run's model carries it so that evaluation replays
/// the physics the model trained on, and a bad key or a non-Ant task is refused by name.
#[test]
fn task_physics_sets_the_ant_physics_of_a_run_and_travels_with_its_model() {
    use hebbian::env::Env;
    let ant_toml = |physics: &str| {
        format!(
            "seed = 0\ngenerations = 1\npopulation = 2\n[task]\nname = \"ant\"\n\
             variants = [\"intact\", \"leg4_shin_0.5\", \"random_damage\"]\n{physics}\n\
             [network]\nrule = \"ABCD_lr\"\n"
        )
    };
    let bullet_like = "[task.physics]\npipeline_steps = 4\nsolver_iterations = 1\n\
                       pgs_iterations = 6\nwarmstart = 0.0\nstabilization_iterations = 0\n";
    let custom = Config::parse(&ant_toml(bullet_like), "test", &[]).unwrap();
    let plain = Config::parse(&ant_toml(""), "test", &[]).unwrap();
    let physics = custom.task.physics.expect("parsed [task.physics]");
    assert_eq!((physics.pipeline_steps, physics.pgs_iterations), (4, 6));
    // Unset keys keep the defaults.
    let defaults = hebbian::env::quadruped::PhysicsConfig::default();
    assert_eq!(physics.ground_friction, defaults.ground_friction);
    assert_eq!(plain.task.physics, None);

    // The same actions on every variant: the physics changes the trajectory, and only it.
    let run = |config: &Config| -> Vec<Vec<f32>> {
        let task = config.task().unwrap();
        task.variants
            .iter()
            .map(|v| {
                let mut env = (v.factory)();
                env.reset(7);
                let mut obs = vec![0.0; env.observation_len()];
                for t in 0..120 {
                    let a = (t as f32 * 0.15).sin();
                    env.step(&[a, -a, a, a, -a, a, -a, -a]);
                }
                env.observe(&mut obs);
                obs
            })
            .collect()
    };
    let (a, b, again) = (run(&custom), run(&plain), run(&custom));
    assert_eq!(a, again, "same physics, same seed: same episode");
    for (k, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_ne!(x, y, "variant {k}: [task.physics] did not reach the env");
    }

    // The model of a run carries the physics; opening it for evaluation rebuilds it.
    let dir = tempfile::tempdir().unwrap();
    hebbian::train::train(custom.clone(), dir.path(), &Default::default()).unwrap();
    let model = dir.path().join(hebbian::train::MODEL_FILE);
    let loaded = hebbian::eval::LoadedModel::open(&model, None, &[]).unwrap();
    assert_eq!(loaded.config.task.physics, Some(physics));
    assert_eq!(loaded.task.ant_physics, physics);
    assert_eq!(
        loaded.task.variants.len(),
        3,
        "evaluation: all three shipped bodies"
    );

    // Bad input is refused by name.
    let typo = ant_toml("[task.physics]\npipline_steps = 4\n");
    let err = Config::parse(&typo, "typo.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("task.physics") && err.contains("pipline_steps"),
        "{err}"
    );
    let zero = ant_toml("[task.physics]\npgs_iterations = 0\n");
    let err = Config::parse(&zero, "zero.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("task.physics.pgs_iterations"), "{err}");
    let erp = ant_toml("[task.physics]\nlimit_erp = 1.5\n");
    let err = Config::parse(&erp, "erp.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("task.physics.limit_erp"), "{err}");
    let cartpole = "seed = 0\ngenerations = 1\npopulation = 2\n[task]\nname = \"cartpole\"\n[task.physics]\npgs_iterations = 6\n\
                    [network]\nrule = \"ABCD_lr\"\n";
    let err = Config::parse(cartpole, "cartpole.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("physics") && err.contains("cartpole"), "{err}");
}

#[test]
fn held_out_variants_are_checked_by_name() {
    let ant = std::fs::read_to_string("configs/ant.toml").unwrap();
    let with = |section: &str| format!("{ant}\n[held_out]\n{section}");
    let ok = Config::parse(
        &with("variants = [\"left_damaged\", \"leg1_shin_0.5\"]\n"),
        "ok.toml",
        &[],
    )
    .unwrap();
    let h = ok.held_out.as_ref().unwrap();
    assert_eq!((h.every, h.rollouts), (10, 10), "defaults");
    let task = ok.held_out_task(h).unwrap();
    let names: Vec<_> = task.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["left_damaged", "leg1_shin_0.500"]);
    assert_eq!(
        ok.task().unwrap().variants.len(),
        2,
        "held-out bodies stay out of the fitness"
    );
    for (section, key) in [
        ("variants = [\"tripod\"]\n", "held_out.variants"),
        ("variants = []\n", "held_out.variants"),
        (
            "variants = [\"left_damaged\"]\nevery = 0\n",
            "held_out.every",
        ),
        (
            "variants = [\"left_damaged\"]\nrollouts = 0\n",
            "held_out.rollouts",
        ),
        ("variants = [\"left_damaged\"]\nevry = 5\n", "evry"),
    ] {
        let err = Config::parse(&with(section), "bad.toml", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(key) && err.contains("bad.toml"),
            "{section}: {err}"
        );
    }
}
