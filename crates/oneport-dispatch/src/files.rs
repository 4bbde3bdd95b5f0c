//! Serve static files from a directory.

use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use http::{HeaderValue, Method, StatusCode, header};
use tracing::info;

use crate::Body;
use crate::dispatcher::{BoxFuture, Context, Dispatcher, Outcome, Request, Response};

/// Serves the files under `root` for `GET` and `HEAD`.
///
/// - The URL path is percent-decoded and resolved below `root`; a path with
///   a `..`, `.` or empty segment, a backslash or a NUL is never served, and
///   a file reached through a symbolic link that leads out of `root` is
///   refused, so nothing outside `root` can be read.
/// - A directory serves its `index.html`.
/// - `Content-Type` comes from the file extension; `Last-Modified` and a
///   weak `ETag` (size and modification time) are sent, and
///   `If-None-Match` / `If-Modified-Since` answer `304 Not Modified`.
/// - Anything it cannot find (or will not serve) is declined, so the next
///   dispatcher (or the server's 404) answers.
///
/// # Examples
///
/// ```
/// use oneport_dispatch::{files, filter};
///
/// let static_site = filter("^/static/", files("./public"));
/// # let _ = static_site;
/// ```
pub fn files(root: impl Into<PathBuf>) -> Files {
    Files { root: root.into() }
}

/// The dispatcher returned by [`files`].
#[derive(Debug, Clone)]
pub struct Files {
    root: PathBuf,
}

impl Dispatcher for Files {
    fn dispatch<'a>(&'a self, req: Request, _cx: &'a Context) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            if req.method() != Method::GET && req.method() != Method::HEAD {
                return Outcome::Declined(req);
            }
            match self.lookup(&req).await {
                Some(res) => Outcome::Response(res),
                None => Outcome::Declined(req),
            }
        })
    }
}

impl Files {
    async fn lookup(&self, req: &Request) -> Option<Response> {
        let rel = safe_relative_path(req.uri().path())?;
        let root = tokio::fs::canonicalize(&self.root).await.ok()?;
        let mut path = root.join(&rel);
        let mut meta = tokio::fs::metadata(&path).await.ok()?;
        if meta.is_dir() {
            path.push("index.html");
            meta = tokio::fs::metadata(&path).await.ok()?;
        }
        if !meta.is_file() {
            return None;
        }
        // Symbolic links may point anywhere: serve only what really lies
        // below the root.
        let real = tokio::fs::canonicalize(&path).await.ok()?;
        if !real.starts_with(&root) {
            return None;
        }
        let modified = meta.modified().ok();
        let etag = modified.map(|m| etag_for(meta.len(), m));
        let mut res = if not_modified(req, etag.as_deref(), modified) {
            let mut r = http::Response::new(Body::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else {
            let file = tokio::fs::File::open(&real).await.ok()?;
            info!(path = %real.display(), bytes = meta.len(), "file sent");
            let mut r = http::Response::new(Body::file(file, meta.len()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&real)),
            );
            r
        };
        let h = res.headers_mut();
        if let Some(m) = modified {
            if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(m)) {
                h.insert(header::LAST_MODIFIED, v);
            }
        }
        if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
            h.insert(header::ETAG, tag);
        }
        Some(res)
    }
}

/// Turns a URL path into a relative file path, or `None` if it could reach
/// outside the root.
pub(crate) fn safe_relative_path(url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
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

/// Decodes `%XX` escapes; `None` on a bad escape or non-UTF-8 result.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hi = (hex[0] as char).to_digit(16)?;
                let lo = (hex[1] as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn etag_for(len: u64, modified: SystemTime) -> String {
    let t = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("W/\"{len:x}-{t:x}\"")
}

fn not_modified(req: &Request, etag: Option<&str>, modified: Option<SystemTime>) -> bool {
    let h = req.headers();
    // If-None-Match takes precedence over If-Modified-Since (RFC 9110 13.2.2).
    if let Some(inm) = h.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        let Some(etag) = etag else { return false };
        return inm.trim() == "*"
            || inm
                .split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag.trim_start_matches("W/"));
    }
    if let (Some(ims), Some(m)) = (
        h.get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok()),
        modified,
    ) {
        // HTTP dates have one-second resolution.
        let secs = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        };
        return secs(m) <= secs(ims);
    }
    false
}

/// The media type for a file, by extension.
pub(crate) fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("pdf") => "application/pdf",
        Some("xml") => "application/xml",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        _ => "application/octet-stream",
    }
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
            "/a/./b",
            "//etc/passwd",
            "/c:/windows",
            "/a%00b",
            "/%zz",
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
        assert_eq!(safe_relative_path("/dir/"), Some(PathBuf::from("dir")));
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("x/INDEX.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a.png")), "image/png");
        assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
    }
}
