//! The layering README.md describes ("How the code is laid out"), checked:
//! every `crate::` path a file names leads to a file of its own layer or a
//! lower one. Leaves know no resource, models know no operation or handler,
//! operations know no handler, and only the wiring knows the routes.

use std::fs;
use std::path::{Path, PathBuf};

const LEAVES: u8 = 0;
const MODELS: u8 = 1;
const OPERATIONS: u8 = 2;
const HANDLERS: u8 = 3;
const WIRING: u8 = 4;

/// The layer of a file under `src/`, by its path.
fn layer(file: &str) -> u8 {
    let folder = file.split('/').next().unwrap_or(file);
    match (folder, file) {
        (_, "routes.rs" | "startup.rs" | "openapi.rs" | "bootstrap.rs") => WIRING,
        ("demo", _) => WIRING,
        ("operations", _) => OPERATIONS,
        (
            _,
            "auth/logins.rs"
            | "auth/throttle.rs"
            | "participants/search.rs"
            | "participants/consent.rs",
        ) => MODELS,
        ("access", _) => MODELS,
        ("audit", "audit/model.rs" | "audit/mod.rs") => LEAVES,
        ("auth", "auth/password.rs" | "auth/token.rs") => LEAVES,
        ("vocab" | "error" | "db" | "sheets", _) => LEAVES,
        (
            _,
            "id.rs" | "paging.rs" | "crypto.rs" | "lang.rs" | "local_time.rs" | "validation.rs"
            | "rows.rs" | "config.rs",
        ) => LEAVES,
        (_, f) if f.ends_with("/model.rs") => MODELS,
        // A resource folder's mod.rs re-exports its model's types.
        (_, f) if f.ends_with("/mod.rs") && folder != "auth" && folder != "reports" => MODELS,
        _ => HANDLERS,
    }
}

fn files(dir: &Path, root: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under src/").to_string_lossy().into_owned();
            if rel != "main.rs" && rel != "lib.rs" {
                out.push(rel.replace('\\', "/"));
            }
        }
    }
}

/// The file that `crate::a::b::…` names: the longest prefix that is a file,
/// followed through a `mod.rs`'s `pub use sub::item` to the file of `sub`.
fn target(root: &Path, path: &[&str]) -> Option<String> {
    (1..=path.len()).rev().find_map(|n| {
        let stem: PathBuf = path[..n].iter().collect();
        let found = [stem.with_extension("rs"), stem.join("mod.rs")]
            .into_iter()
            .find(|candidate| root.join(candidate).is_file())?;
        let item = path.get(n);
        let through = item.and_then(|item| reexported_from(root, &found, item));
        Some(through.unwrap_or(found).to_string_lossy().replace('\\', "/"))
    })
}

/// The sibling file that a `mod.rs` re-exports `item` from, if it does.
fn reexported_from(root: &Path, module: &Path, item: &str) -> Option<PathBuf> {
    if module.file_name()? != "mod.rs" {
        return None;
    }
    let text = fs::read_to_string(root.join(module)).ok()?;
    let folder = module.parent()?;
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("pub use ")?.trim_end_matches(';');
        let (sub, names) = rest.trim_start_matches("self::").split_once("::")?;
        let names = names.trim_matches(|c| c == '{' || c == '}');
        names
            .split(',')
            .any(|name| name.trim() == item)
            .then(|| folder.join(sub).with_extension("rs"))
            .filter(|file| root.join(file).is_file())
    })
}

/// Every `crate::` path in `text` outside its tests (tests may reach
/// anything), with each leaf of a `crate::a::{b, c::{d, e}}` tree on its own,
/// over as many lines as it spans.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let code: Vec<&str> = code.lines().map(|l| l.split("//").next().unwrap_or("")).collect();
    let code = code.join(" ");
    let mut paths = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let read = use_tree(rest, &[], &mut paths);
        rest = &rest[read..];
    }
    paths
}

/// Reads the use tree at the start of `s` below `prefix` into `out`; gives
/// how many bytes it read.
fn use_tree(s: &str, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let bytes = s.as_bytes();
    let skip_space = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let word_end = |mut i: usize| {
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        i
    };
    let mut path = prefix.to_vec();
    let mut i = skip_space(0);
    loop {
        if bytes.get(i) == Some(&b'{') {
            i += 1;
            loop {
                while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b',') {
                    i += 1;
                }
                match bytes.get(i) {
                    None => return i,
                    Some(b'}') => return i + 1,
                    Some(_) => i += use_tree(&s[i..], &path, out),
                }
            }
        }
        let end = word_end(i);
        if end > i {
            path.push(s[i..end].to_owned());
        }
        i = end;
        if s[i..].starts_with("::") {
            i += 2;
            continue;
        }
        // `name as alias` names the same path.
        let after = skip_space(i);
        if s[after..].starts_with("as ") {
            i = word_end(skip_space(after + "as ".len()));
        }
        out.push(path);
        return i;
    }
}

#[test]
fn dependencies_run_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&root, &root, &mut all);
    assert!(all.len() > 50, "found only {} files", all.len());
    let mut wrong = Vec::new();
    for file in &all {
        let text = fs::read_to_string(root.join(file)).expect("readable");
        for path in crate_paths(&text) {
            let segments: Vec<&str> = path.iter().map(String::as_str).collect();
            let Some(to) = target(&root, &segments) else { continue };
            if layer(&to) > layer(file) {
                wrong.push(format!(
                    "{file} (layer {}) uses {to} (layer {})",
                    layer(file),
                    layer(&to)
                ));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
}

/// A cycle in `edges` (a graph on files), if there is one, that passes
/// through more than one folder.
fn cycle_across_folders(edges: &[(String, String)]) -> Option<Vec<String>> {
    fn folder(file: &str) -> &str {
        file.rsplit_once('/').map_or(file, |(dir, _)| dir)
    }
    fn walk(
        at: &str,
        edges: &[(String, String)],
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|p| p == at) {
            let cycle = path[start..].to_vec();
            let first = folder(&cycle[0]);
            return cycle.iter().any(|f| folder(f) != first).then_some(cycle);
        }
        if done.iter().any(|d| d == at) {
            return None;
        }
        path.push(at.to_owned());
        for (_, to) in edges.iter().filter(|(from, _)| from == at) {
            if let Some(cycle) = walk(to, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.push(at.to_owned());
        None
    }
    let mut done = Vec::new();
    edges.iter().find_map(|(from, _)| walk(from, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_circle_spans_folders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&root, &root, &mut all);
    let mut edges = Vec::new();
    for file in &all {
        let text = fs::read_to_string(root.join(file)).expect("readable");
        for path in crate_paths(&text) {
            let segments: Vec<&str> = path.iter().map(String::as_str).collect();
            if let Some(to) = target(&root, &segments).filter(|to| to != file) {
                edges.push((file.clone(), to));
            }
        }
    }
    edges.sort();
    edges.dedup();
    assert_eq!(cycle_across_folders(&edges), None);
    let circle = [("a/x.rs", "b/y.rs"), ("b/y.rs", "a/x.rs")];
    let circle: Vec<_> = circle.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert!(cycle_across_folders(&circle).is_some(), "a circle the check must see");
}

#[test]
fn the_check_sees_a_wrong_import() {
    let paths = crate_paths("use crate::operations::{accounts, walk_ins::WalkInPerson};");
    assert_eq!(paths.len(), 2);
    assert_eq!(paths[1], ["operations", "walk_ins", "WalkInPerson"]);
    let nested = crate_paths("use crate::{\n    a::{b as c, d::{e, f}},\n    g,\n};\nfn x() {}");
    assert_eq!(nested, [vec!["a", "b"], vec!["a", "d", "e"], vec!["a", "d", "f"], vec!["g"]]);
    assert!(layer("operations/accounts.rs") > layer("users/model.rs"));
    assert!(layer("users/api.rs") > layer("operations/accounts.rs"));
    assert!(layer("routes.rs") > layer("users/api.rs"));
    assert_eq!(layer("vocab/people.rs"), LEAVES);
}
