//! From a URL path to a file path that cannot leave the root.

use std::path::{Component, PathBuf};

use percent_encoding::percent_decode_str;

/// Turns a URL path into a relative file path, or `None` if it could reach
/// outside the root: a `..`, `.` or empty segment, a backslash, a colon
/// (a drive letter or an alternate data stream) or a NUL, before or after
/// percent-decoding, and any escape that is not `%` and two hex digits.
pub(crate) fn safe_relative_path(url_path: &str) -> Option<PathBuf> {
    if !escapes_are_well_formed(url_path) {
        return None;
    }
    let decoded = percent_decode_str(url_path).decode_utf8().ok()?;
    let mut out = PathBuf::new();
    let trimmed = decoded.strip_prefix('/')?;
    if trimmed.is_empty() {
        return Some(out);
    }
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    for seg in trimmed.split('/') {
        if seg.is_empty()
            || seg == "."
            || seg == ".."
            || seg.contains('\\')
            || seg.contains('\0')
            || seg.contains(':')
        {
            return None;
        }
        out.push(seg);
    }
    // Defence in depth: the result must be made of plain names only.
    if out.components().all(|c| matches!(c, Component::Normal(_))) {
        Some(out)
    } else {
        None
    }
}

/// Whether every `%` starts an escape of two hex digits (a decoder that
/// passes `%zz` through would otherwise make one file answer to two
/// spellings).
fn escapes_are_well_formed(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || b.get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused() {
        for bad in [
            "/../etc/passwd",
            "/a/../../b",
            "/%2e%2e/secret",
            "/a/%2E%2E/%2e%2e/x",
            "/a%2f..%2f..%2fx",
            "/a\\..\\b",
            "/a%5c..%5cb",
            "/a/./b",
            "//etc/passwd",
            "/c:/windows",
            "/c%3a/windows",
            "/a%00b",
            "/%zz",
            "/%2",
            "/%c3%28",
            "relative",
        ] {
            assert_eq!(safe_relative_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn plain_paths_resolve() {
        assert_eq!(safe_relative_path("/"), Some(PathBuf::new()));
        assert_eq!(
            safe_relative_path("/a/b.txt"),
            Some(PathBuf::from("a").join("b.txt"))
        );
        assert_eq!(
            safe_relative_path("/with%20space.html"),
            Some(PathBuf::from("with space.html"))
        );
        assert_eq!(
            safe_relative_path("/caf%C3%A9.txt"),
            Some(PathBuf::from("caf\u{e9}.txt"))
        );
        assert_eq!(safe_relative_path("/dir/"), Some(PathBuf::from("dir")));
    }
}
