//! TLS for the server (the `tls` feature): a certificate and key from PEM,
//! swapped without a restart, and the handshake bounded in time and in
//! how many run at once.
//!
//! rustls with the ring provider: ring builds with a C compiler alone (no
//! cmake, no assembler beyond what it ships), which every machine with a
//! Rust linker has, and is as fast as the alternatives for the
//! ECDHE-with-AES-GCM or ChaCha20 suites browsers pick.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::stream::ServerStream;

/// Default for [`TlsConfig::handshake_timeout`]: 10 seconds.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`TlsConfig::max_handshakes`]: 256 handshakes at once.
pub const DEFAULT_MAX_HANDSHAKES: usize = 256;

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What reading it gave.
        source: std::io::Error,
    },
    /// The PEM text holds no certificate, or one that does not parse.
    #[error("no usable certificate in the PEM: {0}")]
    Certificate(String),
    /// The PEM text holds no private key, or one that does not parse.
    #[error("no usable private key in the PEM: {0}")]
    Key(String),
    /// rustls refused the pair (for instance, a key that does not match).
    #[error("rustls refused the certificate and key: {0}")]
    Rustls(#[from] rustls::Error),
    /// The configuration has no files to reload from.
    #[error("this TLS configuration was not made from files")]
    NoFiles,
}

/// The server's TLS settings, shared by every clone: reloading through one
/// clone changes the certificate every later handshake presents, while
/// connections already open keep theirs.
///
/// ```no_run
/// use oneport_dispatch::{Server, TlsConfig, servlet, Request};
///
/// # #[allow(dead_code)]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// let server = Server::builder().tls(tls.clone()).bind("127.0.0.1:8443").await?;
/// // Later, after the files were renewed:
/// tls.reload()?;
/// # server.serve(servlet(|_req: Request| "hi")).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    current: Arc<RwLock<Arc<ServerConfig>>>,
    files: Option<Arc<(PathBuf, PathBuf)>>,
    handshake_timeout: Duration,
    handshakes: Arc<Semaphore>,
    max_handshakes: usize,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("files", &self.files)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_handshakes", &self.max_handshakes)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// A rustls server config for a PEM certificate chain and key, offering
/// ALPN `http/1.1` (the only protocol served).
fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    if chain.is_empty() {
        return Err(TlsError::Certificate("none found".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

impl TlsConfig {
    /// From PEM text: a certificate chain (leaf first) and its private
    /// key (PKCS#8, PKCS#1 or SEC1).
    ///
    /// # Errors
    ///
    /// A [`TlsError`] saying which part is unusable.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        Ok(Self {
            current: Arc::new(RwLock::new(server_config(cert_pem, key_pem)?)),
            files: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            handshakes: Arc::new(Semaphore::new(DEFAULT_MAX_HANDSHAKES)),
            max_handshakes: DEFAULT_MAX_HANDSHAKES,
        })
    }

    /// From PEM files, which [`reload`](Self::reload) reads again.
    ///
    /// # Errors
    ///
    /// A [`TlsError`]: a file that cannot be read, or an unusable part.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, TlsError> {
        let (cert, key) = (cert.as_ref().to_owned(), key.as_ref().to_owned());
        let mut config = Self::from_pem(&read(&cert)?, &read(&key)?)?;
        config.files = Some(Arc::new((cert, key)));
        Ok(config)
    }

    /// Reads the PEM files again and presents the new certificate from the
    /// next handshake on. Open connections are not touched. On an error
    /// the current certificate stays.
    ///
    /// # Errors
    ///
    /// [`TlsError::NoFiles`] for a configuration made from PEM text, or
    /// what [`from_pem_files`](Self::from_pem_files) can give.
    pub fn reload(&self) -> Result<(), TlsError> {
        let files = self.files.as_ref().ok_or(TlsError::NoFiles)?;
        let (cert, key) = (read(&files.0)?, read(&files.1)?);
        self.replace(&cert, &key)
    }

    /// Presents this certificate and key from the next handshake on.
    ///
    /// # Errors
    ///
    /// As [`from_pem`](Self::from_pem); the current certificate stays.
    pub fn replace(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<(), TlsError> {
        let next = server_config(cert_pem, key_pem)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = next;
        Ok(())
    }

    /// How long a client has to finish its TLS handshake, from the accept.
    /// A client that sends nothing, garbage, or stalls half-way is dropped
    /// then, without delaying anyone else: each handshake runs on its
    /// connection's own task.
    ///
    /// Default is [`DEFAULT_HANDSHAKE_TIMEOUT`] (10 seconds).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How many TLS handshakes may run at once (they are the expensive part
    /// of a connection). Further connections wait for a turn, within their
    /// handshake timeout.
    ///
    /// Default is [`DEFAULT_MAX_HANDSHAKES`] (256).
    #[must_use]
    pub fn max_handshakes(mut self, n: usize) -> Self {
        self.max_handshakes = n.max(1);
        self.handshakes = Arc::new(Semaphore::new(self.max_handshakes));
        self
    }

    /// Runs the server side of the handshake on `tcp`, within the
    /// handshake timeout and the limit on concurrent handshakes.
    pub(crate) async fn accept(&self, tcp: TcpStream) -> std::io::Result<ServerStream> {
        let config = Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let handshake = async {
            let _turn = self
                .handshakes
                .acquire()
                .await
                .map_err(|_| std::io::Error::other("handshake limit closed"))?;
            acceptor.accept(tcp).await
        };
        match tokio::time::timeout(self.handshake_timeout, handshake).await {
            Ok(Ok(tls)) => Ok(ServerStream::Tls(Box::new(tls))),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (String, String) {
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
        (cert.pem(), signing_key.serialize_pem())
    }

    #[test]
    fn defaults_are_documented() {
        let (cert, key) = pair();
        let tls = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        assert_eq!(tls.handshake_timeout, Duration::from_secs(10));
        assert_eq!(tls.max_handshakes, 256);
        let config = tls.current.read().unwrap().clone();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[test]
    fn each_bad_part_is_named() {
        let (cert, key) = pair();
        let (_, other_key) = pair();
        assert!(matches!(
            TlsConfig::from_pem(b"nothing", key.as_bytes()),
            Err(TlsError::Certificate(_))
        ));
        assert!(matches!(
            TlsConfig::from_pem(cert.as_bytes(), b"nothing"),
            Err(TlsError::Key(_))
        ));
        assert!(matches!(
            TlsConfig::from_pem(cert.as_bytes(), other_key.as_bytes()),
            Err(TlsError::Rustls(_))
        ));
        let tls = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        assert!(matches!(tls.reload(), Err(TlsError::NoFiles)));
        assert!(matches!(
            TlsConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem"),
            Err(TlsError::Read { .. })
        ));
    }
}
