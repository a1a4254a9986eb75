//! Preprocessing (96→84 INTER_AREA, /255, reference transpose), replay files, CSV and GIF.

use hebbian::env::car_racing::{
    CarRacing, OBS_SIZE, STATE_H, STATE_W, preprocess, read_actions_csv, replay, write_gif,
};

fn at(out: &[f32], c: usize, x: usize, y: usize) -> f64 {
    out[c * OBS_SIZE * OBS_SIZE + x * OBS_SIZE + y] as f64
}

/// The reference's value for grey level `v` (float64 /255 stored as float32).
fn u8f(v: u8) -> f64 {
    (v as f64 / 255.0) as f32 as f64
}

#[test]
fn preprocess_constant_frame_stays_constant() {
    let frame = vec![200u8; STATE_W * STATE_H * 3];
    let mut out = vec![0.0; 3 * OBS_SIZE * OBS_SIZE];
    preprocess(&frame, &mut out);
    assert!(out.iter().all(|&v| v == (200.0f64 / 255.0) as f32));
}

#[test]
fn preprocess_uses_area_weights_and_reference_transpose() {
    // Red varies with column x only, green with row y only, blue is a single dot.
    let mut frame = vec![0u8; STATE_W * STATE_H * 3];
    for y in 0..STATE_H {
        for x in 0..STATE_W {
            let i = (y * STATE_W + x) * 3;
            frame[i] = if x % 2 == 0 { 255 } else { 0 };
            frame[i + 1] = (y * 2) as u8;
        }
    }
    frame[(10 * STATE_W + 40) * 3 + 2] = 255;
    let mut out = vec![0.0; 3 * OBS_SIZE * OBS_SIZE];
    preprocess(&frame, &mut out);
    for y in 0..OBS_SIZE {
        // Output x=0 covers source [0, 8/7): weights 7/8 (x=0, 255) and 1/8 (x=1, 0).
        assert_eq!(at(&out, 0, 0, y), u8f(223)); // 255·7/8 = 223.125 → 223
        // x=1 covers [8/7, 16/7): 6/8 of x=1 (0) and 2/8 of x=2 (255) → 63.75 → 64.
        assert_eq!(at(&out, 0, 1, y), u8f(64));
    }
    for x in 0..OBS_SIZE {
        // Green is 2y: output y=1 → (2·6 + 4·2)/8 = 2.5 → half to even → 2 (as OpenCV);
        // y=3 → (6·4 + 8·4)/8 = 7 exactly.
        assert_eq!(at(&out, 1, x, 1), u8f(2));
        assert_eq!(at(&out, 1, x, 3), u8f(7));
        assert_eq!(at(&out, 1, x, 0), 0.0);
    }
    // The dot at source (row 10, col 40): output x=35 spans [40, 41.14) (weight 7/8);
    // rows: y=8 spans [9.14, 10.29) (2/8), y=9 spans [10.29, 11.43) (5/8) → (35, 9).
    let (mut best, mut arg) = (0.0, (0, 0));
    for x in 0..OBS_SIZE {
        for y in 0..OBS_SIZE {
            if at(&out, 2, x, y) > best {
                best = at(&out, 2, x, y);
                arg = (x, y);
            }
        }
    }
    assert_eq!(arg, (35, 9));
}

#[test]
fn preprocess_matches_opencv_inter_area_exactly() {
    // tests/data/car_racing/seed1003_step420_cv2.png holds
    // cv2.resize(frame, (84, 84), interpolation=cv2.INTER_AREA) (OpenCV 5.0.0) of the golden frame.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/car_racing");
    let frame = image::open(dir.join("seed1003_step420.png"))
        .unwrap()
        .to_rgb8();
    let cv = image::open(dir.join("seed1003_step420_cv2.png"))
        .unwrap()
        .to_rgb8();
    let mut out = vec![0.0; 3 * OBS_SIZE * OBS_SIZE];
    preprocess(frame.as_raw(), &mut out);
    for (x, y, p) in cv.enumerate_pixels() {
        for c in 0..3 {
            assert_eq!(
                at(&out, c, x as usize, y as usize),
                u8f(p.0[c]),
                "channel {c} at x {x} y {y}"
            );
        }
    }
}

#[test]
fn read_actions_csv_parses_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "steer,gas,brake\n0.5, 1, 0\n\n# comment\n-1,0,0.2\n").unwrap();
    assert_eq!(
        read_actions_csv(&good).unwrap(),
        vec![[0.5, 1.0, 0.0], [-1.0, 0.0, 0.2]]
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "0,1,0\n0,1\n").unwrap();
    let e = format!("{:#}", read_actions_csv(&bad).unwrap_err());
    assert!(
        e.contains("bad.csv:2") && e.contains("3 comma-separated"),
        "{e}"
    );
    std::fs::write(&bad, "0,1,0\n0,x,1\n").unwrap();
    let e = format!("{:#}", read_actions_csv(&bad).unwrap_err());
    assert!(e.contains("bad.csv:2") && e.contains("column 2"), "{e}");
    let missing = dir.path().join("missing.csv");
    let e = format!("{:#}", read_actions_csv(&missing).unwrap_err());
    assert!(e.contains("missing.csv"), "{e}");
}

#[test]
fn replay_writes_rewards_track_and_frames_matching_a_live_run() {
    let dir = tempfile::tempdir().unwrap();
    let actions: Vec<[f32; 3]> = (0..40)
        .map(|i| [0.0, if i < 30 { 0.8 } else { 0.0 }, 0.0])
        .collect();
    let s = replay(1000, &actions, dir.path()).unwrap();
    let mut env = CarRacing::new();
    env.reset(1000);
    let mut total = 0.0;
    let mut rewards = Vec::new();
    for a in &actions {
        let o = env.step(*a);
        total += o.reward as f64;
        rewards.push(o.reward);
    }
    assert_eq!(s.steps, 40);
    assert!(!s.done);
    assert!((s.total_reward - total).abs() < 1e-9);
    assert_eq!(s.tile_count, env.tile_count());
    assert_eq!(s.tiles_visited, env.tiles_visited());

    let csv = std::fs::read_to_string(dir.path().join("rewards.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "step,reward,done");
    assert_eq!(lines.len(), 41);
    assert_eq!(lines[1], format!("1,{},false", rewards[0]));

    let track: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("track.json")).unwrap()).unwrap();
    assert_eq!(track["tile_count"], env.tile_count());
    assert_eq!(track["track"].as_array().unwrap().len(), env.tile_count());
    assert_eq!(track["track"][0][2], env.track()[0].x);

    let last = image::open(dir.path().join("frame_00040.png"))
        .unwrap()
        .to_rgb8();
    assert_eq!(last.as_raw().as_slice(), env.frame());
    assert!(dir.path().join("frame_00000.png").exists());
}

#[test]
fn write_gif_round_trips_frame_count() {
    use image::AnimationDecoder;
    let dir = tempfile::tempdir().unwrap();
    let mut env = CarRacing::new();
    env.reset(5);
    let mut frames = Vec::new();
    for _ in 0..6 {
        env.step([0.0, 1.0, 0.0]);
        frames.push(env.render_large(120, 80));
    }
    let path = dir.path().join("run.gif");
    write_gif(&frames, &path, 25).unwrap();
    let dec = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
        std::fs::File::open(&path).unwrap(),
    ))
    .unwrap();
    let decoded = dec.into_frames().collect_frames().unwrap();
    assert_eq!(decoded.len(), 6);
    assert_eq!(decoded[0].buffer().dimensions(), (120, 80));
    assert!(write_gif(&[], &path, 25).is_err());
}
