//! The demo's routes over TLS on one port, with a certificate made at test
//! time: the page, the event stream and both WebSocket versions; a
//! certificate reloaded while connections are open; and clients that send
//! garbage or stall mid-handshake, which delay nobody and are let go.

#[path = "../../../examples/demo_site.rs"]
mod demo_site;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use oneport::dispatch::topics::{TopicConfig, TopicHub, TopicMessage};
use oneport::dispatch::{Server, TlsConfig};
use oneport::sse::HubConfig;
use oneport::ws::{Config, Message, Role, WebSocket};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

const LIMIT: Duration = Duration::from_secs(20);

/// A self-signed certificate for `localhost` and 127.0.0.1: (cert PEM,
/// key PEM, cert DER).
fn certificate() -> (String, String, CertificateDer<'static>) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate");
    (cert.pem(), signing_key.serialize_pem(), cert.der().clone())
}

/// A client that trusts only `cert`.
fn connector(cert: &CertificateDer<'static>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

async fn start(tls: TlsConfig) -> (SocketAddr, TopicHub) {
    let hub = TopicHub::new(TopicConfig::default().sse(HubConfig::default().keep_alive(None)));
    let server = Server::builder()
        .tls(tls)
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    tokio::spawn(server.serve(demo_site::site(hub.clone())));
    (addr, hub)
}

async fn open(addr: SocketAddr, tls: &TlsConnector) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    tls.connect(name, tcp).await.expect("TLS handshake")
}

/// Reads until the end of a response head and returns it with what
/// followed.
async fn read_head(s: &mut (impl AsyncRead + Unpin)) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return (String::from_utf8_lossy(&buf).into_owned(), rest);
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.expect("read");
        assert!(
            n > 0,
            "eof in the head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// One keep-alive request over `s`; returns the head and the body of a
/// `Content-Length` response.
async fn request(s: &mut (impl AsyncRead + AsyncWrite + Unpin), raw: &str) -> (String, String) {
    s.write_all(raw.as_bytes()).await.expect("write");
    let (head, mut body) = read_head(s).await;
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |v| v.trim().parse().expect("length"));
    while body.len() < len {
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "eof in the body");
        body.extend_from_slice(&chunk[..n]);
    }
    (head, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn page_events_and_both_websockets_over_tls_on_one_port() {
    tokio::time::timeout(LIMIT, async {
        let (cert, key, der) = certificate();
        let (addr, _hub) =
            start(TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap()).await;
        let tls = connector(&der);

        // The page and /plaintext on one keep-alive TLS connection; ALPN
        // settled on http/1.1.
        let mut s = open(addr, &tls).await;
        assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        let (head, body) = request(&mut s, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(body.contains("EventSource"), "the page");
        let (head, body) =
            request(&mut s, "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, "Hello, World!");

        // The event stream over TLS, fed by a publish over TLS.
        let mut events = open(addr, &tls).await;
        events
            .write_all(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let (head, mut stream) = read_head(&mut events).await;
        assert!(head.contains("text/event-stream"), "{head}");
        let (head, _) = request(
            &mut s,
            "POST /publish?id=7 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello",
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 204"), "{head}");
        while !String::from_utf8_lossy(&stream).contains("data: hello\n\n") {
            let mut chunk = [0u8; 1024];
            let n = events.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the event stream ended");
            stream.extend_from_slice(&chunk[..n]);
        }
        assert!(String::from_utf8_lossy(&stream).contains("id: 7\n"));

        // RFC 6455 over TLS: the handshake, then the client engine on the
        // TLS stream, with permessage-deflate declined (none offered).
        let mut ws = open(addr, &tls).await;
        ws.write_all(
            b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
        let (head, rest) = read_head(&mut ws).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let mut ws =
            WebSocket::from_raw_socket(ws, Role::Client, Config::default(), rest[..].into());
        let big = "wss ".repeat(50_000);
        ws.send(Message::text(big.clone())).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text(big));
        ws.close(None).await.unwrap();

        // hybi-00 over TLS: its Location names wss://.
        let mut old = open(addr, &tls).await;
        old.write_all(
            b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\
              Origin: https://localhost\r\n\
              Sec-WebSocket-Key1: 18x 6]8vM;54 *(5:  {   U1]8  z [  8\r\n\
              Sec-WebSocket-Key2: 1_ tx7X d  <  nw  334J702) 7]o}` 0\r\n\r\nTm[K T2u",
        )
        .await
        .unwrap();
        let (head, mut rest) = read_head(&mut old).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("sec-websocket-location: wss://localhost/ws"),
            "{head}"
        );
        // The draft's answer to its example keys, then an echo.
        old.write_all(b"\x00hello over tls\xff").await.unwrap();
        let want: &[u8] = b"fQJ,fN/4F4!~K~MH\x00hello over tls\xff";
        while rest.len() < want.len() {
            let mut chunk = [0u8; 256];
            let n = old.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the hybi-00 socket closed");
            rest.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(&rest[..], want);
    })
    .await
    .expect("test timed out");
}

/// The certificate a fresh connection is shown.
async fn presented(addr: SocketAddr, tls: &TlsConnector) -> CertificateDer<'static> {
    let s = open(addr, tls).await;
    s.get_ref().1.peer_certificates().expect("a certificate")[0].clone()
}

#[tokio::test]
async fn a_reloaded_certificate_serves_new_connections_and_spares_open_ones() {
    tokio::time::timeout(LIMIT, async {
        let (cert1, key1, der1) = certificate();
        let (cert2, key2, der2) = certificate();
        let dir = std::env::temp_dir().join(format!("oneport-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, &cert1).unwrap();
        std::fs::write(&key_path, &key1).unwrap();
        let tls = TlsConfig::from_pem_files(&cert_path, &key_path).unwrap();
        let (addr, _hub) = start(tls.clone()).await;
        let trusts_both = trusting(&[&der1, &der2]);
        assert_eq!(presented(addr, &trusts_both).await, der1);
        let mut open_before = open(addr, &trusts_both).await;
        let (head, _) = request(
            &mut open_before,
            "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n",
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 200"));

        // A broken file changes nothing.
        std::fs::write(&cert_path, "not a certificate").unwrap();
        assert!(tls.reload().is_err());
        assert_eq!(presented(addr, &trusts_both).await, der1);

        std::fs::write(&cert_path, &cert2).unwrap();
        std::fs::write(&key_path, &key2).unwrap();
        tls.reload().expect("reload");
        assert_eq!(presented(addr, &trusts_both).await, der2);
        // The connection opened before still works, on its first session.
        let (head, body) = request(
            &mut open_before,
            "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n",
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, "Hello, World!");
        assert_eq!(
            open_before.get_ref().1.peer_certificates().unwrap()[0],
            der1
        );
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn garbage_and_stalled_handshakes_delay_nobody_and_are_let_go() {
    tokio::time::timeout(LIMIT, async {
        let (cert, key, der) = certificate();
        let handshake_timeout = Duration::from_secs(3);
        let config = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes())
            .unwrap()
            .handshake_timeout(handshake_timeout);
        let (addr, _hub) = start(config).await;
        let tls = connector(&der);

        // Garbage where a ClientHello belongs: the server answers with a
        // TLS alert or closes, without serving it.
        let mut garbage = TcpStream::connect(addr).await.unwrap();
        garbage
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        // A handshake begun and never finished: half a ClientHello record.
        let mut stalled = TcpStream::connect(addr).await.unwrap();
        stalled
            .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
            .await
            .unwrap();
        // And one that never sends a byte.
        let mut silent = TcpStream::connect(addr).await.unwrap();

        // Meanwhile a good client is served at once: while the stalled and
        // silent ones are still open (they are let go only at the handshake
        // timeout, which has not passed), its request completes.
        let mut good = open(addr, &tls).await;
        let (head, _) = request(
            &mut good,
            "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n",
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let mut probe = [0u8; 1];
        for s in [&mut stalled, &mut silent] {
            let still_open = tokio::time::timeout(Duration::from_millis(1), s.read(&mut probe))
                .await
                .is_err();
            assert!(
                still_open,
                "the good client was served only after a stalled one was let go"
            );
        }

        // The garbage is refused, not served as HTTP.
        let mut answer = Vec::new();
        let _ = garbage.read_to_end(&mut answer).await;
        assert!(
            !String::from_utf8_lossy(&answer).contains("HTTP/1.1"),
            "{answer:?}"
        );
        // The stalled and the silent client are closed by the server.
        for s in [&mut stalled, &mut silent] {
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(handshake_timeout * 3, s.read_to_end(&mut rest))
                .await
                .expect("the server let the stalled client go");
        }
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn the_clients_reach_wss_and_https_trusting_a_given_root() {
    use futures_util::StreamExt;
    use oneport::sse::{ClientConfig, EventSource};
    use oneport::ws::{ConnectOptions, TlsClientConfig, connect_with};

    tokio::time::timeout(LIMIT, async {
        let (cert, key, _) = certificate();
        let (addr, hub) =
            start(TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap()).await;
        let port = addr.port();
        let trust = TlsClientConfig::from_pem(cert.as_bytes()).unwrap();

        // wss:// with the RFC 6455 client, permessage-deflate and all.
        let opts = ConnectOptions::default()
            .tls(trust.clone())
            .config(Config::default().deflate(Some(Default::default())));
        let (mut ws, res) = connect_with(&format!("wss://localhost:{port}/ws"), opts)
            .await
            .expect("wss connect");
        assert_eq!(res.status(), 101);
        assert_eq!(ws.get_ref().security(), oneport::net::Security::Tls);
        assert!(ws.deflate().is_some());
        ws.send(Message::text("over TLS".repeat(500)))
            .await
            .unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text("over TLS".repeat(500))
        );
        ws.close(None).await.unwrap();

        // A client that trusts only another root is refused.
        let (other, _, _) = certificate();
        let stranger =
            ConnectOptions::default().tls(TlsClientConfig::from_pem(other.as_bytes()).unwrap());
        assert!(
            connect_with(&format!("wss://localhost:{port}/ws"), stranger)
                .await
                .is_err()
        );

        // https:// with the event-stream client.
        let config = ClientConfig::default().tls(trust);
        let mut source =
            EventSource::with_config(&format!("https://localhost:{port}/events"), config).unwrap();
        let publisher = tokio::spawn(async move {
            // Publish until the subscriber has joined and seen one.
            for i in 0.. {
                hub.publish(
                    demo_site::EVENTS,
                    TopicMessage::text(format!("tick {i}"))
                        .id(i.to_string())
                        .unwrap(),
                )
                .unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let event = source.next().await.expect("an event").expect("an event");
        assert!(event.data.starts_with("tick "), "{event:?}");
        publisher.abort();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn the_handshake_limit_makes_others_wait_for_a_turn() {
    tokio::time::timeout(LIMIT, async {
        let (cert, key, der) = certificate();
        let config = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes())
            .unwrap()
            .handshake_timeout(Duration::from_secs(1))
            .max_handshakes(1);
        let (addr, _hub) = start(config).await;
        // The one turn, held by a client that stalls mid-handshake.
        let mut stalled = TcpStream::connect(addr).await.unwrap();
        stalled
            .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // A good client gets its turn only when the staller is let go.
        let mut good = open(addr, &connector(&der)).await;
        let mut probe = [0u8; 1];
        let staller_gone = tokio::time::timeout(Duration::from_millis(1), stalled.read(&mut probe))
            .await
            .is_ok();
        assert!(staller_gone, "a second handshake ran beside the first");
        let (head, _) = request(
            &mut good,
            "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n",
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    })
    .await
    .expect("test timed out");
}

/// Accepts any certificate: for a client that sends a name the server has
/// no certificate for.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[tokio::test]
async fn an_unknown_server_name_is_served_the_one_certificate() {
    tokio::time::timeout(LIMIT, async {
        let (cert, key, der) = certificate();
        let (addr, _hub) =
            start(TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap()).await;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("nobody.example").unwrap();
        let mut s = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        assert_eq!(s.get_ref().1.peer_certificates().unwrap()[0], der);
        let (head, body) = request(
            &mut s,
            "GET /plaintext HTTP/1.1\r\nHost: nobody.example\r\n\r\n",
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, "Hello, World!");
        // A client that names no server at all (an IP address is not sent
        // as SNI) is served too.
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let mut s = connector(&der).connect(name, tcp).await.unwrap();
        let (head, _) = request(&mut s, "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    })
    .await
    .expect("test timed out");
}

/// The demo built next to this test (a `cargo test` builds the examples).
fn demo_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let path = profile.join("examples").join("demo");
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A client that trusts these roots only.
fn trusting(roots: &[&CertificateDer<'static>]) -> TlsConnector {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add((*r).clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn the_demo_reloads_its_certificate_on_sighup() {
    use std::io::BufRead;
    tokio::time::timeout(LIMIT, async {
        let (cert1, key1, der1) = certificate();
        let (cert2, key2, der2) = certificate();
        let dir = std::env::temp_dir().join(format!("oneport-hup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, &cert1).unwrap();
        std::fs::write(&key_path, &key1).unwrap();
        let mut child = std::process::Command::new(demo_binary())
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg("--tls-cert")
            .arg(&cert_path)
            .arg("--tls-key")
            .arg(&key_path)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the demo");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr: SocketAddr = line
            .trim()
            .trim_start_matches("listening on ")
            .parse()
            .unwrap();
        let both = trusting(&[&der1, &der2]);
        assert_eq!(presented(addr, &both).await, der1);
        std::fs::write(&cert_path, &cert2).unwrap();
        std::fs::write(&key_path, &key2).unwrap();
        let status = std::process::Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        // The signal is handled on the demo's own time: ask until it is.
        while presented(addr, &both).await != der2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await
    .expect("test timed out: the demo did not reload on SIGHUP");
}
