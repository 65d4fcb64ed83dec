//! The repository stands on its own: no tracked file reaches for a folder beside the
//! checkout, and every fixture path the README's commands name exists in `fixtures/`.

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

/// Folders that hold build output or downloaded packages, never sources.
const SKIPPED_DIRS: [&str; 4] = [".git", "target", "node_modules", "artifacts"];

/// The tracked files (`git ls-files`), or every file under the root outside
/// [`SKIPPED_DIRS`] when git or the repository's metadata is missing (a source tarball).
fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|out| out.status.success() && !out.stdout.is_empty());
    if let Some(out) = listed {
        return out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| root.join(String::from_utf8_lossy(p).as_ref()))
            // A file deleted in the work tree but still in the index is not there to read.
            .filter(|p| p.is_file())
            .collect();
    }
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                let name = entry.file_name();
                if !SKIPPED_DIRS.iter().any(|s| name == *s) {
                    dirs.push(path);
                }
            } else if kind.is_file() {
                files.push(path);
            }
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_file_refers_to_a_folder_beside_the_checkout() {
    let root = root();
    // Built from pieces so that this file does not match itself.
    let parent = ["..", "shared"].join("/");
    let needles = [parent.as_bytes()];
    let files = tracked_files(&root);
    assert!(
        files.iter().any(|f| f.ends_with("Cargo.toml")),
        "no files found under {}",
        root.display()
    );
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| {
            let bytes = std::fs::read(f).unwrap();
            needles.iter().any(|n| contains(&bytes, n))
        })
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "files referring to a folder outside the repository: {offenders:?}"
    );
}

#[test]
fn the_fixture_paths_in_the_readme_exist() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let paths: Vec<&str> = readme
        .split(|c: char| c.is_whitespace() || "`()[]<>\"',;".contains(c))
        .filter(|word| word.starts_with("fixtures/") && word.len() > "fixtures/".len())
        .collect();
    assert!(
        paths.iter().any(|p| p.ends_with(".wav")),
        "the README names no fixture WAV: {paths:?}"
    );
    for path in paths {
        assert!(
            root.join(path).exists(),
            "README names {path}, which is not there"
        );
    }
}

#[test]
fn the_answers_text_holds_the_words_of_the_three_answer_wavs_in_order() {
    let audio = root().join("fixtures/audio");
    let tsv = std::fs::read_to_string(audio.join("answers.tsv")).unwrap();
    let words_of = |file: &str| {
        tsv.lines()
            .find_map(|line| {
                let mut cols = line.split('\t');
                (cols.next() == Some(file)).then(|| cols.nth(1).unwrap().to_owned())
            })
            .unwrap()
    };
    let expected: Vec<String> = ["intro.wav", "conflict.wav", "incident.wav"]
        .into_iter()
        .map(words_of)
        .collect();
    let text = std::fs::read_to_string(audio.join("answers.txt")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines, expected);
    for file in ["intro.wav", "conflict.wav", "incident.wav", "question.wav"] {
        assert!(audio.join(file).is_file(), "{file} missing");
    }
}
