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
