//! Behaviour of the Ant env: morphology loading, observation layout, contact flags, determinism,
//! robustness, the paper protocol, replay and rendering.

use hebbian::env::quadruped::observation::{OBS_FEET, OBS_JOINTS, scaled_joint_pos};
use hebbian::env::quadruped::{
    Ant, DIVERGED_FITNESS, Morphology, OBS_DIM, mean_paper_fitness, paper_episode,
    read_actions_csv, render, replay, write_gif,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn intact() -> Morphology {
    Morphology::builtin("intact").unwrap()
}

#[test]
fn builtin_morphologies() {
    for (name, mass) in [
        ("intact", 182.176),
        ("right_damaged", 173.646),
        ("left_damaged", 173.646),
    ] {
        let m = Morphology::builtin(name).unwrap();
        assert_eq!(m.name(), name);
        assert!(
            (m.total_mass() - mass).abs() < 0.01,
            "{name}: {}",
            m.total_mass()
        );
    }
    // The damaged shin is leg 4 (front-right) resp. leg 1 (front-left).
    let r = Morphology::builtin("right_damaged").unwrap();
    let l = Morphology::builtin("left_damaged").unwrap();
    assert!(r.legs[3].shin.mass < 5.0 && r.legs[0].shin.mass > 13.0);
    assert!(l.legs[0].shin.mass < 5.0 && l.legs[3].shin.mass > 13.0);
    let err = Morphology::builtin("tripod").unwrap_err().to_string();
    assert!(err.contains("tripod") && err.contains("intact"), "{err}");
}

#[test]
fn mjcf_files_load_and_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/morphologies/ant_asym_left.xml"
    );
    let m = Morphology::from_mjcf_file(shipped).unwrap();
    assert_eq!(m.name(), "ant_asym_left");
    assert_eq!(m.legs, Morphology::builtin("left_damaged").unwrap().legs);

    let missing = dir.path().join("nope.xml");
    let e = Morphology::from_mjcf_file(&missing)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope.xml"), "{e}");

    let text = std::fs::read_to_string(shipped).unwrap();
    let cases = [
        (
            "broken.xml",
            text.replace("</worldbody>", ""),
            "invalid XML",
        ),
        (
            "box.xml",
            text.replace(
                r#"name="torso_geom" pos="0 0 0" size="0.25" type="sphere""#,
                r#"name="torso_geom" pos="0 0 0" size="0.25" type="box""#,
            ),
            "torso_geom",
        ),
        (
            "three_legs.xml",
            {
                let a = text.find(r#"<body name="right_back_leg""#).unwrap();
                let b = text[a..].find("      </body>\n    </body>").unwrap() + a + 14;
                format!("{}{}", &text[..a], &text[b..])
            },
            "expected 8 hinge joints",
        ),
        (
            "slide.xml",
            text.replace(
                r#"name="hip_2" pos="0.0 0.0 0.0" range="-40 40" type="hinge""#,
                r#"name="hip_2" pos="0.0 0.0 0.0" range="-40 40" type="slide""#,
            ),
            "hip_2",
        ),
    ];
    for (file, body, needle) in cases {
        let p = dir.path().join(file);
        std::fs::write(&p, body).unwrap();
        let e = Morphology::from_mjcf_file(&p).unwrap_err().to_string();
        assert!(e.contains(file), "error should name the file: {e}");
        assert!(e.contains(needle), "error should say `{needle}`: {e}");
    }
}

#[test]
fn observation_layout_at_reset() {
    let m = intact();
    let mut ant = Ant::new(&m);
    let q0 = [0.05, -0.07, 0.02, 0.09, -0.03, 0.01, 0.08, -0.04];
    ant.reset_with_joints(&q0);
    let o = ant.observation();
    assert_eq!(o.len(), OBS_DIM);
    assert_eq!(o[0], 0.0, "z − initial_z");
    // Body at ≈ the origin, facing +x, target at (1000, 0): angle ≈ 0.
    assert!(o[1].abs() < 1e-3 && (o[2] - 1.0).abs() < 1e-6);
    assert!(
        o[3..8].iter().all(|x| x.abs() < 1e-6),
        "velocity, roll, pitch: {:?}",
        &o[3..8]
    );
    let joints = m.joints();
    for j in 0..8 {
        let want = scaled_joint_pos(q0[j], joints[j].range);
        assert!((o[OBS_JOINTS + 2 * j] - want).abs() < 1e-5, "joint {j} pos");
        assert_eq!(o[OBS_JOINTS + 2 * j + 1], 0.0, "joint {j} vel");
    }
    // Ankles start ≈0.5 rad out of range: scaled positions below −1 / above +1 occur.
    assert!(o[OBS_JOINTS + 2] < -1.5 && o[OBS_JOINTS + 6] > 1.5);
    assert!(o[OBS_FEET..].iter().all(|f| *f == 0.0));

    // While falling: velocity entries use 0.3·v (z), and every entry stays within ±5.
    for _ in 0..10 {
        ant.step(&[1.0; 8]);
    }
    let o = ant.observation();
    let vz = ant.torso_velocity()[2];
    assert!((o[5] - 0.3 * vz).abs() < 1e-4, "{} vs {}", o[5], 0.3 * vz);
    assert!(o.iter().all(|x| x.abs() <= 5.0));
    let js = ant.joint_state();
    assert!((o[OBS_JOINTS + 1] - 0.1 * js.qd[0]).abs() < 1e-5);
}

#[test]
fn foot_contacts_appear_one_step_late() {
    let mut ant = Ant::new(&intact());
    ant.reset(3);
    let mut prev = [false; 4];
    let mut seen = false;
    for _ in 0..40 {
        ant.step(&[0.0; 8]);
        let o = ant.observation();
        for k in 0..4 {
            assert_eq!(
                o[OBS_FEET + k],
                prev[k] as u8 as f32,
                "leg {k}: flag must be last step's"
            );
        }
        let now = ant.foot_contacts();
        seen |= now.iter().any(|f| *f) && now != prev;
        prev = now;
    }
    assert!(seen, "feet should touch down during the burn-in");
    assert!(prev.iter().all(|f| *f));
}

#[test]
fn ground_contacts_carry_the_weight_of_a_resting_ant() {
    let mut ant = Ant::new(&intact());
    ant.reset(0);
    ant.step(&[0.0; 8]);
    // Released at z = 0.75: nothing touches the ground yet.
    assert!(ant.ground_contacts().iter().all(|c| c.points == 0));
    for _ in 1..40 {
        ant.step(&[0.0; 8]);
    }
    let c = ant.ground_contacts();
    let total: f32 = c.iter().map(|c| c.normal_force).sum();
    let weight = intact().total_mass() * 9.8;
    assert!(
        (total - weight).abs() < 0.05 * weight,
        "normal forces {total} N against a weight of {weight} N: {c:?}"
    );
    // On its belly: the torso sphere touches with one point and carries most of it. Bodies
    // follow the action order (1 + joint): thighs are odd, shins (the feet) even.
    assert_eq!(c[0].points, 1);
    assert!(c[0].normal_force > 0.5 * weight, "{c:?}");
    for (b, contact) in c.iter().enumerate().skip(1) {
        if contact.points > 0 && b % 2 == 1 {
            assert!(contact.normal_force < 0.05 * weight, "thigh {b}: {c:?}");
        }
    }
    let feet = ant.foot_contacts();
    for k in 0..4 {
        assert_eq!(feet[k], c[2 + 2 * k].points > 0, "leg {k}: {c:?}");
    }
}

fn random_actions(seed: u64, n: usize) -> Vec<[f32; 8]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| std::array::from_fn(|_| rng.random_range(-1.0f32..1.0)))
        .collect()
}

#[test]
fn deterministic_per_seed() {
    let m = Morphology::builtin("right_damaged").unwrap();
    let actions = random_actions(7, 300);
    let run = |seed: u64| {
        let mut ant = Ant::new(&m);
        ant.reset(seed);
        let mut trace = Vec::new();
        for a in &actions {
            let s = ant.step(a);
            trace.push((ant.observation(), s.reward.to_bits()));
        }
        trace
    };
    let a = run(11);
    let b = run(11);
    assert!(a == b, "same seed, same actions → identical trajectory");
    let c = run(12);
    assert!(a != c, "different seeds → different initial joints");
    // reset reproduces a fresh env exactly.
    let mut ant = Ant::new(&m);
    ant.reset(11);
    for a in &actions[..50] {
        ant.step(a);
    }
    ant.reset(11);
    let first = ant.observation();
    let mut fresh = Ant::new(&m);
    fresh.reset(11);
    assert_eq!(first, fresh.observation());
}

#[test]
fn non_finite_and_huge_actions_never_panic() {
    let mut ant = Ant::new(&intact());
    ant.reset(1);
    let bad = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e30,
        -1e30,
        f32::NAN,
        0.5,
        -0.5,
    ];
    for t in 0..200 {
        let a = if t % 2 == 0 { bad } else { [f32::NAN; 8] };
        let s = ant.step(&a);
        assert!(s.reward.is_finite() || s.diverged, "step {t}");
        assert!(
            !s.diverged,
            "clipped/zeroed actions must not blow up the physics"
        );
        assert!(ant.observation().iter().all(|x| x.is_finite()));
    }
    // Random full torques for a whole episode stay sane too.
    let mut ant = Ant::new(&Morphology::builtin("left_damaged").unwrap());
    ant.reset(2);
    for a in random_actions(3, 1000) {
        let s = ant.step(&a);
        assert!(!s.diverged);
    }
}

#[test]
fn divergence_ends_the_episode_with_worst_fitness() {
    // A torso placed absurdly high is outside the sane box at the first step: the env must flag
    // divergence (not panic), stay diverged, and the protocol must return the worst fitness.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/morphologies/ant.xml"
    ))
    .unwrap()
    .replace(
        r#"<body name="torso" pos="0 0 0.75">"#,
        r#"<body name="torso" pos="0 0 200000">"#,
    );
    let m = Morphology::from_mjcf_str("far", "<test>", &text).unwrap();
    let mut ant = Ant::new(&m);
    let s = ant.step(&[0.0; 8]);
    assert!(s.diverged && s.done);
    let s = ant.step(&[1.0; 8]);
    assert!(s.diverged && s.done && s.reward == 0.0);
    let out = paper_episode(&mut ant, 0, |_| [0.0; 8]);
    assert!(out.diverged);
    assert_eq!(out.fitness, DIVERGED_FITNESS);
}

#[test]
fn paper_protocol_zero_policy() {
    let m = intact();
    let mut ant = Ant::new(&m);
    let mut first: Option<[f32; OBS_DIM]> = None;
    let out = paper_episode(&mut ant, 5, |o| {
        first.get_or_insert(*o);
        [0.0; 8]
    });
    // The policy's first input is the reset observation (burn-in observations are discarded).
    let first = first.unwrap();
    assert_eq!(first[0], 0.0);
    assert!(first[OBS_FEET..].iter().all(|f| *f == 0.0));
    // Lying on its belly the ant is `done` from step ≈21, but `done` is ignored while t ≤ 200:
    // the episode is cut at t = 201, i.e. after 202 policy steps.
    assert_eq!(out.steps, 202);
    assert!(!out.diverged && out.fitness.abs() < 5.0, "{out:?}");
    // Mean over morphologies is the plain mean of the per-morphology episodes.
    let ms = [intact(), Morphology::builtin("right_damaged").unwrap()];
    let mean = mean_paper_fitness(&ms, 5, |_| |_: &[f32; OBS_DIM]| [0.0f32; 8]);
    let mut a0 = Ant::new(&ms[0]);
    let mut a1 = Ant::new(&ms[1]);
    let f0 = paper_episode(&mut a0, 5, |_| [0.0; 8]).fitness;
    let f1 = paper_episode(&mut a1, 5, |_| [0.0; 8]).fitness;
    assert!((mean - 0.5 * (f0 + f1)).abs() < 1e-6);
}

#[test]
fn replay_writes_csv_and_action_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("actions.csv");
    let mut text =
        String::from("# comment\nhip_1,ankle_1,hip_2,ankle_2,hip_3,ankle_3,hip_4,ankle_4\n");
    let acts = random_actions(9, 30);
    for a in &acts {
        let row: Vec<String> = a.iter().map(|x| format!("{x}")).collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    std::fs::write(&path, &text).unwrap();
    let read = read_actions_csv(&path).unwrap();
    assert_eq!(read, acts);

    let out = dir.path().join("out");
    let m = intact();
    let sum = replay(&m, 4, &read, &out).unwrap();
    assert_eq!(sum.steps, 30);
    let csv = std::fs::read_to_string(&sum.csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines.len(),
        1 + 31,
        "header + reset row + one row per action"
    );
    let ncol = lines[0].split(',').count();
    assert_eq!(ncol, 1 + 8 + 7 + 12 + 28);
    assert!(lines.iter().all(|l| l.split(',').count() == ncol));
    // The CSV agrees with a direct run.
    let mut ant = Ant::new(&m);
    ant.reset(4);
    let mut total = 0.0;
    for a in &read {
        total += ant.step(a).progress;
    }
    assert!((total - sum.total_progress).abs() < 1e-4);
    let last: Vec<f32> = lines[31].split(',').map(|x| x.parse().unwrap()).collect();
    assert_eq!(last[last.len() - OBS_DIM..], ant.observation());

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "0,0,0,0,0,0,0,0\n0,0,0\n").unwrap();
    let e = read_actions_csv(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.csv:2") && e.contains("8"), "{e}");
    std::fs::write(&bad, "0,0,0,0,0,0,0,0\n0,0,0,x,0,0,0,0\n").unwrap();
    let e = read_actions_csv(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.csv:2") && e.contains("column 4"), "{e}");
    let e = read_actions_csv(dir.path().join("missing.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.csv"), "{e}");
}

#[test]
fn render_shows_the_ant_and_writes_a_gif() {
    let mut ant = Ant::new(&intact());
    ant.reset(0);
    let img = render(&ant, 160, 120);
    assert_eq!(img.dimensions(), (160, 120));
    // The torso is orange-ish (r ≫ b) around the image centre.
    let orange = img
        .pixels()
        .filter(|p| p[0] > 150 && (p[0] as i32 - p[2] as i32) > 80)
        .count();
    assert!(orange > 100, "torso visible: {orange} pixels");
    let mut frames = vec![img];
    for _ in 0..2 {
        for _ in 0..10 {
            ant.step(&[0.0; 8]);
        }
        frames.push(render(&ant, 160, 120));
    }
    assert_ne!(frames[0], frames[2], "the falling ant changes the picture");
    let dir = tempfile::tempdir().unwrap();
    let gif = dir.path().join("ant.gif");
    write_gif(&frames, &gif, 20).unwrap();
    let bytes = std::fs::read(&gif).unwrap();
    assert!(bytes.starts_with(b"GIF89a"));
    assert!(write_gif(&[], &gif, 20).is_err());
}
