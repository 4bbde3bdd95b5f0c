//! Serve static files from a directory.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use http::{HeaderValue, Method, StatusCode, header};
use tokio::io::AsyncSeekExt;
use tracing::info;

use crate::Body;
use crate::dispatcher::{BoxFuture, Context, Dispatcher, Outcome, Request, Response};

mod encoding;
mod path;
mod range;

use encoding::Coding;
pub(crate) use path::safe_relative_path;
use range::Ranged;

/// Serves the files under `root` for `GET` and `HEAD`.
///
/// - The URL path is percent-decoded and resolved below `root`; a path with
///   a `..`, `.` or empty segment, a backslash, a colon or a NUL (before or
///   after decoding) or a malformed escape is never served, and a file
///   reached through a symbolic link that leads out of `root` is refused,
///   so nothing outside `root` can be read.
/// - A directory serves its `index.html`.
/// - `Content-Type` comes from the file extension (`mime_guess`; text types
///   say `charset=utf-8`); `Last-Modified` and a weak `ETag` (size and
///   modification time) are sent, and `If-None-Match` / `If-Modified-Since`
///   answer `304 Not Modified`.
/// - A single `Range: bytes=...` (first-last, first-, or -suffix) answers
///   `206 Partial Content` with `Content-Range`; one no byte satisfies,
///   `416` with `Content-Range: bytes */LEN`. Several ranges, or an
///   `If-Range` that does not match, get the whole file. `Accept-Ranges:
///   bytes` says so on every file.
/// - With [`precompressed_br`](Files::precompressed_br) and
///   [`precompressed_gzip`](Files::precompressed_gzip), a sibling
///   `NAME.br` or `NAME.gz` is sent in place of `NAME` (with
///   `Content-Encoding` and `NAME`'s `Content-Type`) to a client whose
///   `Accept-Encoding` takes it, and every answer says `Vary:
///   Accept-Encoding`.
/// - Anything it cannot find (or will not serve) is declined, so the next
///   dispatcher (or the server's 404) answers.
///
/// # Examples
///
/// ```
/// use oneport_dispatch::{files, filter};
///
/// let static_site = filter("^/static/", files("./public").precompressed_br().precompressed_gzip());
/// # let _ = static_site;
/// ```
pub fn files(root: impl Into<PathBuf>) -> Files {
    Files {
        root: root.into(),
        precompressed: Vec::new(),
    }
}

/// The dispatcher returned by [`files`].
#[derive(Debug, Clone)]
pub struct Files {
    root: PathBuf,
    /// The siblings looked for, in order of preference.
    precompressed: Vec<Coding>,
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

/// The file chosen to answer: the one asked for, or a precompressed
/// sibling.
struct Chosen {
    path: PathBuf,
    meta: std::fs::Metadata,
    coding: Option<Coding>,
}

impl Files {
    /// Sends `NAME.br` (Brotli) in place of `NAME` to clients that accept
    /// `br`. Tried before gzip whatever the order of the calls.
    pub fn precompressed_br(mut self) -> Self {
        self.add(Coding::Brotli);
        self
    }

    /// Sends `NAME.gz` in place of `NAME` to clients that accept `gzip`.
    pub fn precompressed_gzip(mut self) -> Self {
        self.add(Coding::Gzip);
        self
    }

    fn add(&mut self, coding: Coding) {
        if !self.precompressed.contains(&coding) {
            self.precompressed.push(coding);
            // Brotli first: smaller, and every browser that sends `br`.
            self.precompressed.sort_by_key(|c| *c != Coding::Brotli);
        }
    }

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
        let real = below(&root, &path).await?;
        let chosen = self.sibling(req, &root, &path).await.unwrap_or(Chosen {
            path: real.clone(),
            meta,
            coding: None,
        });
        let len = chosen.meta.len();
        let modified = chosen.meta.modified().ok();
        let etag = modified.map(|m| etag_for(len, m, chosen.coding));
        let mut res = if not_modified(req, etag.as_deref(), modified) {
            status_only(StatusCode::NOT_MODIFIED)
        } else {
            let ranged = match req.headers().get(header::RANGE) {
                Some(r) if if_range_holds(req, modified) => {
                    r.to_str().map_or(Ranged::Whole, |r| range::parse(r, len))
                }
                _ => Ranged::Whole,
            };
            let mut file = tokio::fs::File::open(&chosen.path).await.ok()?;
            let mut r = match ranged {
                Ranged::Whole => {
                    info!(path = %chosen.path.display(), bytes = len, "file sent");
                    http::Response::new(Body::file(file, len))
                }
                Ranged::Part { start, end } => {
                    file.seek(std::io::SeekFrom::Start(start)).await.ok()?;
                    info!(path = %chosen.path.display(), start, end, "part of a file sent");
                    let mut r = http::Response::new(Body::file(file, end - start + 1));
                    *r.status_mut() = StatusCode::PARTIAL_CONTENT;
                    insert(
                        &mut r,
                        header::CONTENT_RANGE,
                        format!("bytes {start}-{end}/{len}"),
                    );
                    r
                }
                Ranged::Unsatisfiable => {
                    let mut r = status_only(StatusCode::RANGE_NOT_SATISFIABLE);
                    insert(&mut r, header::CONTENT_RANGE, format!("bytes */{len}"));
                    r
                }
            };
            insert(&mut r, header::CONTENT_TYPE, content_type(&real));
            r.headers_mut()
                .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            if let Some(coding) = chosen.coding {
                r.headers_mut().insert(
                    header::CONTENT_ENCODING,
                    HeaderValue::from_static(coding.token()),
                );
            }
            r
        };
        let h = res.headers_mut();
        if !self.precompressed.is_empty() {
            h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
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

    /// The first precompressed sibling of `path` the client accepts that
    /// exists and lies below `root`.
    async fn sibling(&self, req: &Request, root: &Path, path: &Path) -> Option<Chosen> {
        let accept = req
            .headers()
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())?;
        for &coding in &self.precompressed {
            if !encoding::accepts(accept, coding) {
                continue;
            }
            let mut name = OsString::from(path.as_os_str());
            name.push(".");
            name.push(coding.suffix());
            let sibling = PathBuf::from(name);
            let Ok(meta) = tokio::fs::metadata(&sibling).await else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            if let Some(real) = below(root, &sibling).await {
                return Some(Chosen {
                    path: real,
                    meta,
                    coding: Some(coding),
                });
            }
        }
        None
    }
}

/// `path` with its symbolic links resolved, if that lies below `root`:
/// links may point anywhere, and only what really lies below the root is
/// served.
async fn below(root: &Path, path: &Path) -> Option<PathBuf> {
    let real = tokio::fs::canonicalize(path).await.ok()?;
    real.starts_with(root).then_some(real)
}

fn status_only(status: StatusCode) -> Response {
    let mut r = http::Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

fn insert(res: &mut Response, name: header::HeaderName, value: String) {
    if let Ok(v) = HeaderValue::try_from(value) {
        res.headers_mut().insert(name, v);
    }
}

/// Whether a `Range` may be honoured: no `If-Range`, or one holding the
/// file's exact `Last-Modified` date. An entity tag never matches, since
/// this server's are weak and `If-Range` compares strongly (RFC 9110
/// section 13.1.5); the whole file is sent then.
fn if_range_holds(req: &Request, modified: Option<SystemTime>) -> bool {
    let Some(v) = req.headers().get(header::IF_RANGE) else {
        return true;
    };
    let (Some(date), Some(m)) = (
        v.to_str()
            .ok()
            .and_then(|d| httpdate::parse_http_date(d).ok()),
        modified,
    ) else {
        return false;
    };
    httpdate::fmt_http_date(date) == httpdate::fmt_http_date(m)
}

/// The media type for a file, by extension; text types in UTF-8.
pub(crate) fn content_type(path: &Path) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    if mime.type_() == mime_guess::mime::TEXT && mime.get_param("charset").is_none() {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

/// A weak tag from the size and modification time, and the coding of a
/// precompressed sibling (so that its tag never equals the plain file's).
fn etag_for(len: u64, modified: SystemTime, coding: Option<Coding>) -> String {
    let t = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    match coding {
        Some(c) => format!("W/\"{len:x}-{t:x}-{}\"", c.suffix()),
        None => format!("W/\"{len:x}-{t:x}\""),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("x/INDEX.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a.css")), "text/css; charset=utf-8");
        assert_eq!(content_type(Path::new("a.png")), "image/png");
        assert_eq!(content_type(Path::new("a.wasm")), "application/wasm");
        assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
    }
}
