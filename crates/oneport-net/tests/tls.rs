//! TLS connections against a local rustls server with a certificate made
//! at test time: a given root is trusted, the platform's roots (which do
//! not hold a test certificate) are used by default and refuse it, and the
//! server name is checked.
#![cfg(feature = "tls")]

use std::sync::Arc;

use oneport_net::{ClientStream, Security, TlsClientConfig, connect};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TLS server on loopback that writes "hello" to each client.
async fn server(names: &[&str]) -> (u16, String) {
    let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(
        names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
    )
    .unwrap();
    let chain = vec![CertificateDer::from_pem_slice(cert.pem().as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(signing_key.serialize_pem().as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let _ = tls.write_all(b"hello").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    (port, cert.pem())
}

#[tokio::test]
async fn a_given_root_is_trusted() {
    let (port, pem) = server(&["localhost"]).await;
    let trust = TlsClientConfig::from_pem(pem.as_bytes()).unwrap();
    let mut s = connect("localhost", port, Security::Tls, Some(&trust))
        .await
        .unwrap();
    assert!(matches!(s, ClientStream::Tls(_)));
    assert_eq!(s.security(), Security::Tls);
    let mut got = Vec::new();
    s.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"hello");
}

#[tokio::test]
async fn the_platform_roots_are_the_default_and_refuse_a_stranger() {
    let (port, _) = server(&["localhost"]).await;
    TlsClientConfig::platform().expect("the platform's root store");
    let err = connect("localhost", port, Security::Tls, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn the_server_name_is_checked() {
    let (port, pem) = server(&["example.test"]).await;
    let trust = TlsClientConfig::from_pem(pem.as_bytes()).unwrap();
    let err = connect("localhost", port, Security::Tls, Some(&trust))
        .await
        .unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

#[test]
fn pem_without_a_certificate_is_refused() {
    assert!(TlsClientConfig::from_pem(b"nothing here").is_err());
}
