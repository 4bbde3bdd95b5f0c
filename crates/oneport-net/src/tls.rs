//! The TLS side of [`connect`](crate::connect): rustls with the ring
//! provider, the platform's roots by default.

use std::io;
use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

use crate::ClientStream;

/// Which roots a TLS client trusts, and the rest of its rustls settings.
/// Cloning shares them.
///
/// ```
/// use oneport_net::TlsClientConfig;
///
/// // A certificate made for the example; a real one comes from a file.
/// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap().cert;
/// let tls = TlsClientConfig::from_pem(cert.pem().as_bytes()).unwrap();
/// # let _ = tls;
/// ```
#[derive(Clone)]
pub struct TlsClientConfig {
    config: Arc<ClientConfig>,
}

/// Two configurations are equal when they are the same shared one.
impl PartialEq for TlsClientConfig {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.config, &other.config)
    }
}

impl Eq for TlsClientConfig {}

impl std::fmt::Debug for TlsClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClientConfig")
            .field("alpn", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl TlsClientConfig {
    /// Trusts the platform's root certificates (the system store, read
    /// once per process and shared).
    ///
    /// # Errors
    ///
    /// If the store cannot be read or holds no usable root.
    pub fn platform() -> io::Result<Self> {
        static PLATFORM: OnceLock<Result<TlsClientConfig, String>> = OnceLock::new();
        PLATFORM
            .get_or_init(|| {
                let found = rustls_native_certs::load_native_certs();
                let mut roots = rustls::RootCertStore::empty();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    let why = found
                        .errors
                        .first()
                        .map_or("no root certificates found".to_owned(), |e| e.to_string());
                    return Err(why);
                }
                Self::with_roots(roots).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(io::Error::other)
    }

    /// Trusts exactly these roots.
    ///
    /// # Errors
    ///
    /// If rustls refuses the protocol versions (it does not for its own).
    pub fn with_roots(roots: rustls::RootCertStore) -> io::Result<Self> {
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// Trusts the certificates in this PEM text (a private CA, or a
    /// self-signed server certificate).
    ///
    /// # Errors
    ///
    /// PEM without a usable certificate.
    pub fn from_pem(pem: &[u8]) -> io::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.add(cert.map_err(invalid)?).map_err(invalid)?;
        }
        if roots.is_empty() {
            return Err(invalid("no certificate in the PEM"));
        }
        Self::with_roots(roots)
    }

    /// From a rustls configuration of the caller's own (client
    /// certificates, another provider, pinned keys).
    pub fn from_rustls(config: Arc<ClientConfig>) -> Self {
        Self { config }
    }

    /// The TLS handshake on `tcp`, with `host` as the server name.
    pub(crate) async fn handshake(&self, host: &str, tcp: TcpStream) -> io::Result<ClientStream> {
        let name = ServerName::try_from(host.to_owned()).map_err(invalid)?;
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.config));
        let tls = connector.connect(name, tcp).await?;
        Ok(ClientStream::Tls(Box::new(tls)))
    }
}
