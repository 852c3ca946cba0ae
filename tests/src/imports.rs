//! Read which files of a crate import which, and find the circles among them.
//!
//! A file is a module: `lib.rs` or `main.rs` is the crate root (`crate`), `a.rs` or `a/mod.rs`
//! is `a`, `a/b.rs` is `a::b`. A file imports a module when its code (not its comments) names a
//! path into it: `crate::a::b::Item`, `super::…` and `self::…` from the file's top level, or a
//! child module by its bare name (`routes::status::status` in the root). A path names the
//! deepest module it passes through. Test code is left out: `#[cfg(test)]` modules, inline or
//! in files of their own, may import what they test. This is a reader for this workspace's
//! code, not a Rust parser: it sees what `rustfmt`-formatted code writes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each module of the crate under `src`, and the modules it imports (itself excluded).
pub fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    collect_files(src, src, &mut files);
    let test_modules: BTreeSet<String> = files
        .iter()
        .flat_map(|(module, text)| test_module_files(module, text))
        .collect();
    files.retain(|(module, _)| {
        !test_modules
            .iter()
            .any(|test| module == test || module.starts_with(&format!("{test}::")))
    });
    let files: Vec<(String, String)> = files
        .into_iter()
        .map(|(module, text)| (module, strip_test_blocks(&text)))
        .collect();
    let modules: BTreeSet<String> = files.iter().map(|(module, _)| module.clone()).collect();
    files
        .iter()
        .map(|(module, text)| {
            let mut imports = imports_of(module, text, &modules);
            imports.remove(module);
            (module.clone(), imports)
        })
        .collect()
}

/// The circles of `graph`: each set of two or more modules that all reach one another through
/// imports (its strongly connected components), sorted.
pub fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let names: Vec<&String> = graph.keys().collect();
    let index_of: BTreeMap<&String, usize> = names
        .iter()
        .enumerate()
        .map(|(i, name)| (*name, i))
        .collect();
    let edges: Vec<Vec<usize>> = names
        .iter()
        .map(|name| {
            graph[*name]
                .iter()
                .filter_map(|target| index_of.get(target).copied())
                .collect()
        })
        .collect();
    strongly_connected(&edges)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            let mut members: Vec<String> = component.iter().map(|&i| names[i].clone()).collect();
            members.sort();
            members
        })
        .collect()
}

/// Every `.rs` file below `dir`, as (module path, text without comments).
fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_files(root, &path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
            let relative = path.strip_prefix(root).expect("below the root");
            out.push((module_path(relative), strip_comments(&text)));
        }
    }
}

/// `lib.rs` → `crate`, `a/mod.rs` → `a`, `a/b.rs` → `a::b`.
fn module_path(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        return "crate".to_owned();
    }
    parts.join("::")
}

/// The text with line comments (doc comments included) removed.
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string (a URL) is rare in paths' lines; cut at the first one
            // that starts the line's code or follows white space.
            Some(at) if line[..at].trim().is_empty() || line[..at].ends_with(' ') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules that `text` (of module `module`) declares as test code in files of their own:
/// `#[cfg(test)]` then `mod name;`.
fn test_module_files(module: &str, text: &str) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .windows(2)
        .filter(|pair| pair[0] == "#[cfg(test)]")
        .filter_map(|pair| {
            let name = pair[1].strip_prefix("mod ")?.strip_suffix(';')?;
            let mut path = segments(module);
            path.push(name.to_owned());
            Some(path.join("::"))
        })
        .collect()
}

/// The text without its inline `#[cfg(test)] mod name { … }` blocks.
fn strip_test_blocks(text: &str) -> String {
    let mut kept = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let opens_test_block = line.trim() == "#[cfg(test)]"
            && lines.peek().is_some_and(|next| {
                next.trim_start().starts_with("mod ") && next.trim_end().ends_with('{')
            });
        if !opens_test_block {
            kept.push(line);
            continue;
        }
        let mut depth = 0i64;
        for inner in lines.by_ref() {
            depth += inner.matches('{').count() as i64 - inner.matches('}').count() as i64;
            if depth <= 0 {
                break;
            }
        }
    }
    kept.join("\n")
}

/// The modules `text` (of module `module`) names paths into.
fn imports_of(module: &str, text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    let children: Vec<&str> = modules
        .iter()
        .filter_map(|other| child_name(module, other))
        .collect();
    let mut at = 0;
    while at < bytes.len() {
        if !is_ident_start(bytes[at]) || (at > 0 && is_path_char(bytes[at - 1])) {
            at += 1;
            continue;
        }
        let end = ident_end(bytes, at);
        let word = &text[at..end];
        if !text[end..].starts_with("::") {
            at = end;
            continue;
        }
        let base: Option<Vec<String>> = match word {
            "crate" => Some(Vec::new()),
            "super" if at_top_level(text, at) => Some(parent_of(module)),
            "self" if at_top_level(text, at) => Some(segments(module)),
            other if children.contains(&other) => {
                let mut base = segments(module);
                base.push(other.to_owned());
                // The child's own name is consumed: parse what follows it.
                let mut paths = Vec::new();
                parse_tree(text, end + 2, base.clone(), &mut paths);
                if paths.is_empty() {
                    paths.push(base);
                }
                for path in paths {
                    found.insert(deepest_module(&path, modules));
                }
                at = end;
                continue;
            }
            _ => None,
        };
        if let Some(mut base) = base {
            let mut from = end + 2;
            while word == "super" && text[from..].starts_with("super::") {
                base.pop();
                from += "super::".len();
            }
            let mut paths = Vec::new();
            parse_tree(text, from, base.clone(), &mut paths);
            for path in paths {
                found.insert(deepest_module(&path, modules));
            }
        }
        at = end;
    }
    found
}

/// The name of `other` if it is a direct child module of `module`.
fn child_name<'a>(module: &str, other: &'a str) -> Option<&'a str> {
    let rest = if module == "crate" {
        other
    } else {
        other.strip_prefix(module)?.strip_prefix("::")?
    };
    (other != "crate" && !rest.contains("::")).then_some(rest)
}

/// Whether the word at `at` sits on a line that starts at column 0 (a file-level item, not one
/// inside an inline module, where `super` would name this file).
fn at_top_level(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |newline| newline + 1);
    !text[line_start..].starts_with([' ', '\t'])
}

/// Parses a path tree (`a::b::C`, `a::{b, c::D}`) starting at `at`, below `prefix`, and pushes
/// every full path it names onto `out`.
fn parse_tree(text: &str, mut at: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let bytes = text.as_bytes();
    at = skip_space(bytes, at);
    if at < bytes.len() && bytes[at] == b'{' {
        at += 1;
        loop {
            at = skip_space(bytes, at);
            if at >= bytes.len() {
                return at;
            }
            match bytes[at] {
                b'}' => return at + 1,
                b',' => at += 1,
                _ => {
                    let next = parse_tree(text, at, prefix.clone(), out);
                    at = if next == at { at + 1 } else { next };
                }
            }
        }
    }
    if at >= bytes.len() || !is_ident_start(bytes[at]) {
        out.push(prefix);
        return at;
    }
    let end = ident_end(bytes, at);
    let mut path = prefix;
    path.push(text[at..end].to_owned());
    if text[end..].starts_with("::") {
        parse_tree(text, end + 2, path, out)
    } else {
        out.push(path);
        end
    }
}

/// The deepest module that `path` passes through (the crate root when none).
fn deepest_module(path: &[String], modules: &BTreeSet<String>) -> String {
    (1..=path.len())
        .rev()
        .map(|len| path[..len].join("::"))
        .find(|candidate| modules.contains(candidate))
        .unwrap_or_else(|| "crate".to_owned())
}

fn segments(module: &str) -> Vec<String> {
    if module == "crate" {
        Vec::new()
    } else {
        module.split("::").map(str::to_owned).collect()
    }
}

fn parent_of(module: &str) -> Vec<String> {
    let mut parts = segments(module);
    parts.pop();
    parts
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && bytes[at].is_ascii_whitespace() {
        at += 1;
    }
    at
}

fn ident_end(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
        at += 1;
    }
    at
}

fn is_ident_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

/// Whether `byte` continues a path or identifier, so that a word after it is not a path start.
fn is_path_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b':' || byte == b'.'
}

/// Tarjan's algorithm, iteratively: the strongly connected components of `edges`.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = edges.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next_index = 0;
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        // (node, next edge to look at)
        let mut work = vec![(start, 0)];
        while let Some(&mut (node, ref mut edge)) = work.last_mut() {
            if *edge == 0 && index[node] == usize::MAX {
                index[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&target) = edges[node].get(*edge) {
                *edge += 1;
                if index[target] == usize::MAX {
                    work.push((target, 0));
                } else if on_stack[target] {
                    low[node] = low[node].min(index[target]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        edges
            .iter()
            .map(|(from, to)| {
                (
                    (*from).to_owned(),
                    to.iter().map(|t| (*t).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn test_code_is_left_out() {
        let text = "use crate::a::X;\n#[cfg(test)]\nmod tests {\n    use crate::b::Y;\n    fn f() {\n    }\n}\nuse crate::c::Z;\n#[cfg(test)]\nmod more;\n";
        let stripped = strip_test_blocks(text);
        assert!(stripped.contains("crate::a") && stripped.contains("crate::c"));
        assert!(!stripped.contains("crate::b"), "{stripped}");
        assert_eq!(test_module_files("x", text), vec!["x::more".to_owned()]);
        assert_eq!(test_module_files("crate", text), vec!["more".to_owned()]);
    }

    #[test]
    fn finds_a_three_file_circle_and_ignores_a_chain() {
        let g = graph(&[
            ("crate", &["a"]),
            ("a", &["b"]),
            ("b", &["c"]),
            ("c", &["a"]),
            ("d", &["crate"]),
        ]);
        assert_eq!(circles(&g), vec![vec!["a", "b", "c"]]);
        let chain = graph(&[("crate", &["a"]), ("a", &["b"]), ("b", &[])]);
        assert!(circles(&chain).is_empty());
    }

    #[test]
    fn reads_crate_super_self_and_child_paths() {
        let modules: BTreeSet<String> = ["crate", "routes", "routes::status", "types", "schemas"]
            .iter()
            .map(|m| (*m).to_owned())
            .collect();
        let root = "use crate::types::{Body, Other};\nfn f() { routes::status::get(); }\n";
        assert_eq!(
            imports_of("crate", root, &modules),
            ["routes::status", "types"]
                .iter()
                .map(|m| (*m).to_owned())
                .collect()
        );
        let status = "use super::super::schemas::Hash;\nuse crate::{ApiState, types::X};\n\
                      mod tests {\n    use super::*;\n}\n";
        // `super::super` from routes::status is the root; the root's item and `types` are read
        // through the braces; the inline module's `super` is this file.
        let found = imports_of("routes::status", &strip_comments(status), &modules);
        assert_eq!(
            found,
            ["crate", "schemas", "types"]
                .iter()
                .map(|m| (*m).to_owned())
                .collect()
        );
        assert!(!found.contains("routes::status::tests"));
        let commented = "/// See [`crate::types`].\n// crate::schemas\nfn g() {}\n";
        assert!(imports_of("routes", &strip_comments(commented), &modules).is_empty());
    }
}
