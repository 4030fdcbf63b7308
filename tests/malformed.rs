//! The malformed-pipeline corpus: every file in `tests/pipelines/bad` says
//! in its header what `slate run` must answer (`# expect:`) and on which line
//! (`# line:`). Each must exit 2 with that message, and nothing may panic.

use slate_e2e::*;

struct Case {
    path: std::path::PathBuf,
    expect: String,
    line: usize,
}

fn corpus() -> Vec<Case> {
    let dir = repo().join("tests/pipelines/bad");
    let mut cases: Vec<Case> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let header = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
                    .unwrap_or_else(|| panic!("{} has no `# {key}:` header", path.display()))
                    .to_owned()
            };
            Case {
                expect: header("expect"),
                line: header("line").parse().unwrap(),
                path,
            }
        })
        .collect();
    cases.sort_by(|a, b| a.path.cmp(&b.path));
    cases
}

#[test]
fn every_malformed_pipeline_exits_2_with_its_message() {
    let cases = corpus();
    assert!(cases.len() >= 15, "the corpus shrank to {} files", cases.len());
    let scratch = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let output = slate(scratch.path())
            .args(["run", "--duration", "2s"])
            .arg(&case.path)
            .output()
            .unwrap();
        let (_, stderr) = texts(&output);
        assert_no_panic(&stderr, &case.path.display().to_string());
        let place = format!("{}:{}:", case.path.display(), case.line);
        if output.status.code() != Some(2) || !stderr.contains(&case.expect) || !stderr.contains(&place) {
            failures.push(format!(
                "{}: exit {:?}, expected `{place}` and `{}`, got:\n{stderr}",
                case.path.display(),
                output.status.code(),
                case.expect
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn validate_agrees_with_run_on_files_that_never_start() {
    // `validate` builds without starting anything, so only the settings an
    // element checks when it starts (bad-cues) are left to `run`.
    let scratch = tempfile::tempdir().unwrap();
    for case in corpus().iter().filter(|c| !c.path.ends_with("bad-cues.toml")) {
        let output = slate(scratch.path()).arg("validate").arg(&case.path).output().unwrap();
        let (_, stderr) = texts(&output);
        assert_no_panic(&stderr, &case.path.display().to_string());
        assert_eq!(output.status.code(), Some(2), "{}: {stderr}", case.path.display());
        assert!(stderr.contains(&case.expect), "{}: {stderr}", case.path.display());
    }
}
