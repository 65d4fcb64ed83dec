//! The layering holds: `preppal-gemini`'s default features are the client only (no web
//! framework), and the architecture notes name only things that exist in the code.

#![allow(clippy::unwrap_used)] // the repository's own files are trusted input

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (this crate lives in `examples/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `cargo tree -p preppal-gemini -e normal --prefix none` with `extra` arguments: one
/// `name version` line per normal dependency.
fn gemini_tree(extra: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "preppal-gemini",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(extra)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn lists(tree: &str, package: &str) -> bool {
    tree.lines().any(|l| l.starts_with(&format!("{package} ")))
}

#[test]
fn preppal_gemini_default_features_pull_no_web_framework() {
    let default = gemini_tree(&[]);
    assert!(lists(&default, "tokio-tungstenite"), "{default}");
    for package in ["axum", "hound", "rubato"] {
        assert!(
            !lists(&default, package),
            "{package} is back in preppal-gemini's default features:\n{default}"
        );
    }
    // The simulator feature is what brings them.
    let simulator = gemini_tree(&["--features", "simulator"]);
    for package in ["axum", "hound", "rubato"] {
        assert!(lists(&simulator, package), "{package}:\n{simulator}");
    }
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn architecture_notes_name_only_what_the_code_has() {
    let root = root();
    let notes = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let current = notes.as_str();
    let mut files = Vec::new();
    for dir in [
        "preppal-core/src",
        "preppal-gemini/src",
        "preppal-store/src",
        "examples/src",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    files.push(root.join("proto/interview.proto"));
    let code: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();

    // Code spans that are Rust paths or names (`InterviewSession::handle_client`,
    // `CLIENT_PING_INTERVAL`, `goAway`), not commands, URLs or mime types.
    let mut names = Vec::new();
    for span in current.split('`').skip(1).step_by(2) {
        let is_name = !span.is_empty()
            && span
                .split("::")
                .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            && span.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        if is_name {
            names.push(span);
        }
    }
    assert!(names.len() > 40, "too few names found: {names:?}");
    let missing: Vec<&str> = names
        .iter()
        .flat_map(|n| n.split("::"))
        .filter(|segment| !code.contains(segment))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md names what the code does not have: {missing:?}"
    );
    // Every link to a file in the repository resolves.
    for link in current.split("](").skip(1) {
        let target = link.split(')').next().unwrap();
        if !target.starts_with("http") {
            assert!(
                root.join("docs").join(target).exists(),
                "broken link in docs/architecture.md: {target}"
            );
        }
    }
}
