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
}
