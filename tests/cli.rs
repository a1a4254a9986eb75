//! The `hebbian` binary: parameter counts and clear errors on bad arguments.

use std::process::Command;

fn hebbian(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hebbian"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn info_prints_the_papers_counts() {
    let (ok, out, _) = hebbian(&["info", "--task", "car_racing", "--rule", "ABCD_lr"]);
    assert!(ok);
    assert!(out.contains("92690 = 1362 conv + 91328 plastic"), "{out}");
    assert!(out.contains("coefficients: 456640"), "{out}");
    assert!(
        out.contains("evolved numbers per candidate: 458002"),
        "{out}"
    );
    let (ok, out, _) = hebbian(&["info", "--task", "ant"]);
    assert!(
        ok && out.contains("12288") && out.contains("61440"),
        "{out}"
    );
    assert!(
        out.contains("neuron-level coefficients") && out.contains(": 1104 (56x fewer"),
        "{out}"
    );
    let (ok, out, _) = hebbian(&["info", "--task", "ant", "--static"]);
    assert!(
        ok && out.contains("evolved numbers per candidate: 12288"),
        "{out}"
    );
}

#[test]
fn bad_arguments_fail_cleanly() {
    let (ok, _, err) = hebbian(&["info", "--rule", "ABCDX"]);
    assert!(!ok && err.contains("ABCDX"), "{err}");
    let (ok, _, err) = hebbian(&[
        "train",
        "--set",
        "population=7",
        "--out",
        "/tmp/never-created-hebbian",
    ]);
    assert!(
        !ok && err.contains("population") && !err.contains("panicked"),
        "{err}"
    );
    assert!(!std::path::Path::new("/tmp/never-created-hebbian").exists());
    let (ok, _, err) = hebbian(&["train", "--config", "/no/such/file.toml"]);
    assert!(!ok && err.contains("/no/such/file.toml"), "{err}");
    let (ok, _, err) = hebbian(&["train", "--device", "tpu"]);
    assert!(!ok && err.contains("run.device"), "{err}");
    let (ok, _, err) = hebbian(&["eval", "/no/model.safetensors"]);
    assert!(
        !ok && err.contains("/no/model.safetensors") && !err.contains("panicked"),
        "{err}"
    );
    // A refused value names its key once (toml's own "in `KEY`" suffix is dropped).
    let (ok, _, err) = hebbian(&["train", "--set", "population=-3"]);
    assert!(
        !ok && err.contains("key `population`") && !err.contains("in `population`"),
        "{err}"
    );
    // A folder that is not a run: named as such, and left as it was (no lock file).
    let not_a_run = tempfile::tempdir().unwrap();
    let dir = not_a_run.path().to_str().unwrap();
    let (ok, _, err) = hebbian(&["train", "--resume", dir]);
    assert!(!ok && err.contains("not a run folder"), "{err}");
    assert_eq!(std::fs::read_dir(not_a_run.path()).unwrap().count(), 0);
}

/// `--device wgpu` on a machine with no GPU driver: a clear error naming the fix, before any
/// run folder exists (the GPU runtime itself panics on its own thread at the first tensor).
/// The drivers are hidden from this one process through the Vulkan loader's and glvnd's
/// variables.
#[cfg(feature = "wgpu")]
#[test]
fn wgpu_without_an_adapter_fails_cleanly() {
    let out_dir = tempfile::tempdir().unwrap();
    let run = out_dir.path().join("run");
    let out = Command::new(env!("CARGO_BIN_EXE_hebbian"))
        .args([
            "train",
            "--device",
            "wgpu",
            "--set",
            "generations=1",
            "--quiet",
        ])
        .arg("--out")
        .arg(&run)
        .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("VK_LOADER_DRIVERS_DISABLE", "*")
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent/egl.json")
        .env("__EGL_VENDOR_LIBRARY_DIRS", "/nonexistent")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        // A driver these variables do not reach (a Windows or macOS adapter, say).
        eprintln!("skipped: this machine's GPU adapter could not be hidden");
        return;
    }
    assert!(
        err.contains("no GPU adapter")
            && err.contains("--device flex")
            && !err.contains("panicked"),
        "{err}"
    );
    assert!(!run.exists(), "a run folder was created");
}

/// Trains a 1-generation model of `config` into a fresh folder and returns it.
fn tiny_model(config: &str, extra: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut args = vec![
        "train",
        "--config",
        config,
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(["--set", "population=4", "--set", "generations=1"]);
    args.extend(extra);
    let (ok, stdout, err) = hebbian(&args);
    assert!(ok, "{stdout}\n{err}");
    dir
}

#[test]
fn render_writes_a_gif_whose_replay_matches_the_episode() {
    for (config, variant) in [
        ("configs/car_racing.toml", None),
        ("configs/ant.toml", Some("left_damaged")),
    ] {
        let dir = tiny_model(config, &[]);
        let model = dir.path().join("run/model.safetensors");
        let gif = dir.path().join("episode.gif");
        let mut args = vec![
            "render",
            "--model",
            model.to_str().unwrap(),
            "--out",
            gif.to_str().unwrap(),
            "--every",
            "8",
        ];
        if let Some(v) = variant {
            args.extend(["--variant", v]);
        }
        let (ok, out, err) = hebbian(&args);
        assert!(ok, "{out}\n{err}");
        let bytes = std::fs::read(&gif).unwrap();
        assert_eq!(&bytes[..6], b"GIF89a", "{config}");
        // "fitness F (replayed R)": the rendered replay reproduces the rollout exactly.
        let fitness = out
            .split("fitness ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        let replayed = out
            .split("(replayed ")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap();
        assert_eq!(fitness, replayed, "{out}");
        if let Some(v) = variant {
            assert!(out.starts_with(v), "{out}");
        }
        let m = model.to_str().unwrap();
        let (ok, _, err) = hebbian(&["render", "--model", m, "--variant", "wheels"]);
        assert!(
            !ok && err.contains("wheels") && !err.contains("panicked"),
            "{err}"
        );
        let (ok, _, err) = hebbian(&["render", "--model", m, "--task", "cartpole"]);
        assert!(!ok && err.contains("cartpole"), "{err}");
    }
    // No model: a random Hebbian network drives (generation 0 of the ES).
    let dir = tempfile::tempdir().unwrap();
    let gif = dir.path().join("random.gif");
    let (ok, out, err) = hebbian(&[
        "render",
        "--task",
        "ant",
        "--morphology",
        "right_damaged",
        "--seed",
        "4",
        "--every",
        "10",
        "--out",
        gif.to_str().unwrap(),
    ]);
    assert!(ok && out.starts_with("right_damaged"), "{out}\n{err}");
    assert!(gif.exists());
    let (ok, _, err) = hebbian(&["render", "--out", gif.to_str().unwrap()]);
    assert!(!ok && err.contains("--task"), "{err}");
}

#[test]
fn replay_runs_action_files_and_rejects_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("car.csv");
    std::fs::write(&csv, "steer,gas,brake\n0,1,0\n0,1,0\n0.2,0.5,0\n").unwrap();
    let out = dir.path().join("car");
    let (ok, stdout, err) = hebbian(&[
        "replay",
        "--task",
        "car_racing",
        "--actions",
        csv.to_str().unwrap(),
        "--gym-seed",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok && stdout.starts_with("3 steps"), "{stdout}\n{err}");
    assert!(out.join("rewards.csv").exists());

    let ant = dir.path().join("ant.csv");
    std::fs::write(&ant, "0,0,0,0,0,0,0,0\n0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5\n").unwrap();
    let (ok, stdout, err) = hebbian(&[
        "replay",
        "--task",
        "ant",
        "--actions",
        ant.to_str().unwrap(),
        "--morphology",
        "right_damaged",
        "--out",
        dir.path().join("ant").to_str().unwrap(),
    ]);
    assert!(ok && stdout.starts_with("2 steps"), "{stdout}\n{err}");

    std::fs::write(&ant, "0,0,0\n").unwrap();
    let (ok, _, err) = hebbian(&[
        "replay",
        "--task",
        "ant",
        "--actions",
        ant.to_str().unwrap(),
        "--out",
        dir.path().join("bad").to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("ant.csv") && !err.contains("panicked"),
        "{err}"
    );
    let (ok, _, err) = hebbian(&[
        "replay",
        "--task",
        "pong",
        "--actions",
        csv.to_str().unwrap(),
        "--out",
        "/tmp/x",
    ]);
    assert!(!ok && err.contains("pong"), "{err}");
}
