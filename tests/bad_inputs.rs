//! The bad-input corpus (`tests/bad_inputs/cases.toml`): every case must fail cleanly (exit code
//! 1 or clap's 2, no panic, no abort), name its culprit, and change no file, neither in the run
//! folder it was pointed at nor anywhere else it could write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

#[derive(Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    args: Vec<String>,
    expect: Vec<String>,
    #[serde(default)]
    edits: Vec<(String, String)>,
    #[serde(default)]
    remove: Vec<String>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

fn hebbian(args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hebbian"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// Every file under `dir` (relative path → bytes), the run lock excepted.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name() != Some(std::ffi::OsStr::new(hebbian::run_lock::LOCK_FILE)) {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn every_bad_input_fails_cleanly_names_its_culprit_and_changes_nothing() {
    let data = corpus_dir();
    let corpus: Corpus =
        toml::from_str(&std::fs::read_to_string(data.join("cases.toml")).unwrap()).unwrap();
    assert!(corpus.case.len() >= 60, "the corpus holds ≥ 60 cases");

    let work = tempfile::tempdir().unwrap();
    let fixture = work.path().join("fixture");
    let out = hebbian(&[
        "train".into(),
        "--config".into(),
        data.join("valid.toml").display().to_string(),
        "--out".into(),
        fixture.display().to_string(),
        "--quiet".into(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut failures = Vec::new();
    for (i, case) in corpus.case.iter().enumerate() {
        let root = work.path().join(format!("case{i}"));
        let (run, tmp) = (root.join("run"), root.join("tmp"));
        copy_dir(&fixture, &run);
        std::fs::create_dir_all(&tmp).unwrap();
        for (file, source) in &case.edits {
            std::fs::copy(data.join(source), run.join(file)).unwrap();
        }
        for file in &case.remove {
            std::fs::remove_file(run.join(file)).unwrap();
        }
        let before = snapshot(&run);
        let args: Vec<String> = case
            .args
            .iter()
            .map(|a| {
                a.replace("{data}", &data.display().to_string())
                    .replace(
                        "{model}",
                        &run.join("model.safetensors").display().to_string(),
                    )
                    .replace("{run}", &run.display().to_string())
                    .replace("{tmp}", &tmp.display().to_string())
            })
            .collect();
        let out = hebbian(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut problems = Vec::new();
        match out.status.code() {
            Some(1) | Some(2) => {}
            Some(code) => problems.push(format!("exit code {code}")),
            None => problems.push("killed by a signal (abort?)".into()),
        }
        if stderr.contains("panicked") {
            problems.push("panicked".into());
        }
        for needle in &case.expect {
            if !stderr.contains(needle.as_str()) {
                problems.push(format!("message lacks `{needle}`"));
            }
        }
        if snapshot(&run) != before {
            problems.push("changed a file in the run folder".into());
        }
        let left = snapshot(&tmp);
        if !left.is_empty() || std::fs::read_dir(&tmp).unwrap().next().is_some() {
            problems.push(format!("left files behind: {:?}", left.keys()));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n    args: {:?}\n    stderr: {}",
                case.name,
                problems.join("; "),
                case.args,
                stderr.trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        corpus.case.len(),
        failures.join("\n")
    );
}
