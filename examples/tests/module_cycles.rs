//! No import cycles between the modules of the library crates and of `examples/src`: a
//! module may use its ancestors' items (Rust's usual nesting), otherwise the edges of
//! `use crate::…`, `use super::…` and paths in code must form no cycle. The graph is read
//! from the source text: comments and each file's trailing `#[cfg(test)] mod tests` are
//! left out, and a path counts as an edge to the deepest module it names.

#![allow(clippy::unwrap_used)] // the repository's own files are trusted input

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

/// The module path of `file` under the crate root `src`: `["crate", "server", "web"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = vec!["crate".to_owned()];
    parts.extend(rel.iter().map(|p| p.to_string_lossy().into_owned()));
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without comment lines and without its trailing test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path in `code` that starts at `crate`, `super` or `self`, as segments; a group
/// (`super::{a, b::c}`) gives one path per item, with its first segment.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let bytes: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != ':';
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        if !(starts_word
            && (rest.starts_with("crate::")
                || rest.starts_with("super::")
                || rest.starts_with("self::")))
        {
            i += 1;
            continue;
        }
        let mut segments = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < bytes.len() && is_ident(bytes[j]) {
                j += 1;
            }
            segments.push(bytes[start..j].iter().collect::<String>());
            if bytes.get(j) == Some(&':') && bytes.get(j + 1) == Some(&':') {
                j += 2;
                if bytes.get(j) == Some(&'{') {
                    let end = bytes[j..]
                        .iter()
                        .position(|&c| c == '}')
                        .map_or(bytes.len(), |p| j + p);
                    let group: String = bytes[j + 1..end].iter().collect();
                    for item in group.split(',') {
                        let first: String =
                            item.trim().chars().take_while(|&c| is_ident(c)).collect();
                        if !first.is_empty() && first != "self" {
                            let mut path = segments.clone();
                            path.push(first);
                            out.push(path);
                        }
                    }
                    j = end;
                    segments.clear();
                    break;
                }
                continue;
            }
            break;
        }
        if !segments.is_empty() {
            out.push(segments);
        }
        i = j.max(i + 1);
    }
    out
}

/// The deepest known module `path` names, seen from module `from`.
fn resolve(
    from: &[String],
    path: &[String],
    modules: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let (mut base, rest) = match path.first().map(String::as_str) {
        Some("crate") => (vec!["crate".to_owned()], &path[1..]),
        Some("self") => (from.to_vec(), &path[1..]),
        Some("super") => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            (
                from[..from.len().saturating_sub(ups)].to_vec(),
                &path[ups..],
            )
        }
        _ => return None,
    };
    let mut best = modules.contains(&base).then(|| base.clone());
    for segment in rest {
        base.push(segment.clone());
        if modules.contains(&base) {
            best = Some(base.clone());
        }
    }
    best
}

/// The module cycles of the crate whose sources are under `src`, each as its members.
fn cycles(src: &Path) -> Vec<Vec<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(src, f)).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &files {
        let from = module_of(src, file);
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let targets = edges.entry(from.clone()).or_default();
        for path in paths_in(&code) {
            if let Some(to) = resolve(&from, &path, &modules) {
                // A module may use its ancestors: nesting, not a cycle.
                if to != from && !from.starts_with(&to) {
                    targets.insert(to);
                }
            }
        }
    }
    // Strongly connected components (Tarjan), keeping those of two or more modules.
    struct Tarjan<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<Vec<String>, (usize, usize)>,
        stack: Vec<Vec<String>>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: &Vec<String>) {
            self.index.insert(v.clone(), (self.next, self.next));
            self.next += 1;
            self.stack.push(v.clone());
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.index[w].1.min(self.index[v].1);
                    self.index.get_mut(v).unwrap().1 = low;
                } else if self.stack.contains(w) {
                    let low = self.index[w].0.min(self.index[v].1);
                    self.index.get_mut(v).unwrap().1 = low;
                }
            }
            if self.index[v].0 == self.index[v].1 {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    let done = &w == v;
                    component.push(w.join("::"));
                    if done {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        edges: &edges,
        index: BTreeMap::new(),
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.found
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn no_crate_has_a_module_cycle() {
    for src in [
        "preppal-core/src",
        "preppal-gemini/src",
        "preppal-store/src",
        "examples/src",
    ] {
        let found = cycles(&root().join(src));
        assert!(found.is_empty(), "module cycles in {src}: {found:?}");
    }
}

#[test]
fn the_checker_finds_a_cycle_and_leaves_nesting_alone() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
    // a/mod.rs uses its child, the child uses its parent: nesting.
    std::fs::write(src.join("a/mod.rs"), "mod c;\nuse self::c::X;\n").unwrap();
    std::fs::write(src.join("a/c.rs"), "use super::Y;\npub struct X;\n").unwrap();
    std::fs::write(
        src.join("b.rs"),
        "// use crate::a::c::X; a comment is no edge\n",
    )
    .unwrap();
    assert!(cycles(src).is_empty());
    // b uses a::c (through a group) and a::c uses b (a path in code): a cycle.
    std::fs::write(src.join("b.rs"), "use crate::a::{c::X};\npub struct Z;\n").unwrap();
    std::fs::write(
        src.join("a/c.rs"),
        "use super::Y;\npub struct X(crate::b::Z);\n",
    )
    .unwrap();
    assert_eq!(
        cycles(src),
        [vec!["crate::a::c".to_owned(), "crate::b".to_owned()]]
    );
}
