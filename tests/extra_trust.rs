//! The integrator's own hosts and certificates (issue 12, point 6), over real mutual TLS:
//! `pki.extra_sans` in the platform certificate and a client calling by that name;
//! `pki.consumer_trust` for consumer certificates from an integrator's CA; `pki.producer_trust`
//! for a real producer's server certificate; `ntjp certs issue` refusing to create a CA unasked;
//! generated CAs with subjects of their own.

mod common;

use std::{path::PathBuf, process::Command, sync::Arc};

use common::*;
use http_body_util::Full;
use hyper::{Response, service::service_fn};
use ntjp_testbed::pki::{self, Ca, CertRequest, DEFAULT_CONSUMER_HSA_ID};
use tokio::net::TcpListener;
use x509_parser::{extensions::GeneralName, prelude::FromDer};

const BIN: &str = env!("CARGO_BIN_EXE_ntjp");
const ADDRESS: &str = "INTEGRATOR-PRODUCER";

/// The subject alternative names of a PEM certificate, as text (`DNS:x`, `IP:1.2.3.4`).
fn sans_of(pem_path: &std::path::Path) -> Vec<String> {
    let pem = std::fs::read(pem_path).unwrap();
    let der: rustls_pki_types::CertificateDer<'static> =
        rustls_pki_types::pem::PemObject::from_pem_slice(&pem).unwrap();
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&der).unwrap();
    let ext = cert.subject_alternative_name().unwrap().unwrap();
    ext.value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::IPAddress(b) if b.len() == 4 => {
                format!("IP:{}", std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            other => format!("{other:?}"),
        })
        .collect()
}

fn subject_of(pem_path: &std::path::Path) -> String {
    let pem = std::fs::read(pem_path).unwrap();
    let der: rustls_pki_types::CertificateDer<'static> =
        rustls_pki_types::pem::PemObject::from_pem_slice(&pem).unwrap();
    pki::subject_from_der(&der).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_sans_are_in_the_platform_certificate_and_a_client_calling_by_that_name_gets_through()
{
    let bed = start_with(|c, _| {
        c.pki.extra_sans = vec!["ntjp-testbed.local".into(), "10.9.8.7".into()];
    })
    .await;
    let sans = sans_of(&bed.testbed.pki().platform.cert);
    for want in [
        "DNS:localhost",
        "IP:127.0.0.1",
        "DNS:ntjp-testbed.local",
        "IP:10.9.8.7",
    ] {
        assert!(sans.iter().any(|s| s == want), "{want} not in {sans:?}");
    }
    // The consumer's certificate is not a server's: no extra names there.
    assert!(!sans_of(&bed.testbed.pki().consumer.cert).contains(&"DNS:ntjp-testbed.local".into()));

    let addr = bed.https_addr("sit");
    let a = bed
        .consumer()
        .post_as(addr, "ntjp-testbed.local", cervix_request("01"))
        .await
        .unwrap();
    assert_ok(&a);
    // A name the certificate does not hold fails the client's host-name check.
    let err = bed
        .consumer()
        .post_as(addr, "other-host.local", cervix_request("01"))
        .await
        .unwrap_err();
    assert!(err.contains("not valid for name"), "{err}");
    bed.stop().await;

    // A state directory made without the names gets them at the next start, from the same CA.
    let plain = start().await;
    let state = plain.testbed.pki().dir.clone();
    let ca_before = std::fs::read(&plain.testbed.pki().ca_cert).unwrap();
    assert!(
        !sans_of(&plain.testbed.pki().platform.cert).contains(&"DNS:ntjp-testbed.local".into())
    );
    plain.testbed.shutdown().await;
    let mut config = test_config(plain.dir.path());
    config.pki.extra_sans = vec!["ntjp-testbed.local".into()];
    let again = ntjp_testbed::server::start(config).await.unwrap();
    assert_eq!(again.pki().dir, state);
    assert_eq!(std::fs::read(&again.pki().ca_cert).unwrap(), ca_before);
    assert!(sans_of(&again.pki().platform.cert).contains(&"DNS:ntjp-testbed.local".into()));
    again.shutdown().await;
}

/// An integrator's own CA with a consumer certificate for the default consumer's HSA-id and
/// a producer's server certificate.
struct Integrator {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    consumer: (PathBuf, PathBuf),
    producer: (PathBuf, PathBuf),
}

fn integrator() -> Integrator {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::generate("Region Exempel integration CA").unwrap();
    let (ca_path, _) = ca.write(dir.path(), "integrator-ca").unwrap();
    let consumer = ca
        .issue(&CertRequest::function(DEFAULT_CONSUMER_HSA_ID))
        .unwrap()
        .write(dir.path(), "consumer")
        .unwrap();
    let producer = ca
        .issue(&CertRequest::function("SE2321000016-PROD"))
        .unwrap()
        .write(dir.path(), "producer")
        .unwrap();
    Integrator {
        _dir: dir,
        ca: ca_path,
        consumer,
        producer,
    }
}

/// A producer of the integrator's on loopback, presenting its certificate from the
/// integrator's CA (no client certificate asked for), answering every request with the
/// contract's OK answer. Returns its URL for `ADDRESS`.
async fn integrator_producer(int: &Integrator) -> String {
    let certs: Vec<rustls_pki_types::CertificateDer<'static>> =
        rustls_pki_types::pem::PemObject::pem_file_iter(&int.producer.0)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let key: rustls_pki_types::PrivateKeyDer<'static> =
        rustls_pki_types::pem::PemObject::from_pem_file(&int.producer.1).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(ntjp_testbed::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(|_req| async {
                    let body = ntjp_testbed::contract::response(
                        ntjp_testbed::contract::ResultCode::Ok,
                        None,
                    );
                    Response::builder()
                        .header("content-type", "text/xml; charset=UTF-8")
                        .body(Full::new(bytes::Bytes::from(body)))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    format!("https://localhost:{port}/integrator/ProcessCervixScreeningInformation/1/rivtabp21")
}

/// A testbed whose SIT routes `ADDRESS` to `url`, with `trust` as its consumer and producer
/// trust.
async fn bed_with(url: &str, trust: Vec<PathBuf>) -> Bed {
    let url = url.to_owned();
    start_with(move |c, dir| {
        let o = order(
            chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            &format!(
                r#"{{"logiskadresser": [{{"hsaId": "{ADDRESS}", "beskrivning": "Integratörens producent"}}],
                    "tjanstekomponenter": [{{"hsaId": "SE2321000016-PROD", "beskrivning": "Integratörens system"}}],
                    "vagval": [{{"adress": "{url}", "logiskAdress": "{ADDRESS}", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "SE2321000016-PROD"}}]}}"#
            ),
            "{}",
        );
        sit_orders_with(c, dir, &[("90-producer.json", o)]);
        c.pki.consumer_trust = trust.clone();
        c.pki.producer_trust = trust;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integrators_ca_is_refused_by_default_and_trusted_when_configured() {
    let int = integrator();
    let url = integrator_producer(&int).await;
    let own_consumer = |bed: &Bed| Client::new(&bed.ca(), Some((&int.consumer.0, &int.consumer.1)));

    // Default: only the testbed's CA.
    let bed = bed_with(&url, Vec::new()).await;
    let addr = bed.https_addr("sit");
    // In TLS 1.3 the refusal arrives after the client's side of the handshake: the request
    // fails (the router's log says why: tls::handshake_refusal).
    own_consumer(&bed)
        .post(addr, cervix_request("01"), &[])
        .await
        .expect_err("a consumer certificate from another CA is refused");
    let a = bed
        .consumer()
        .post(addr, cervix_request(ADDRESS), &[])
        .await
        .unwrap();
    let fault = a.vp("VP009");
    let detail = fault.detail.clone().unwrap_or_default();
    assert!(detail.contains("SSLHandshakeException"), "{fault:?}");
    bed.stop().await;

    // Configured: the integrator's consumer is read by its HSA-id and routed; the router
    // reaches the integrator's producer.
    let bed = bed_with(&url, vec![int.ca.clone()]).await;
    let addr = bed.https_addr("sit");
    assert_ok(
        &own_consumer(&bed)
            .post(addr, cervix_request("01"), &[])
            .await
            .unwrap(),
    );
    let a = bed
        .consumer()
        .post(addr, cervix_request(ADDRESS), &[])
        .await
        .unwrap();
    assert_ok(&a);
    // The testbed's own consumers still get in.
    bed.unauthorised()
        .post(addr, cervix_request("01"), &[])
        .await
        .unwrap()
        .vp("VP007");
    bed.stop().await;
}

#[test]
fn certs_issue_refuses_to_create_a_ca_where_there_is_none_and_names_the_directory() {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(cwd.path())
        .env_remove("NTJP_STATE_DIR")
        .env_remove("NTJP_CONFIG")
        .args([
            "certs",
            "issue",
            "--hsa-id",
            "SE2321000016-ABCD",
            "--out",
            "certs",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let looked_in = std::fs::canonicalize(cwd.path()).unwrap().join(".ntjp/pki");
    assert!(
        err.contains(&looked_in.display().to_string()) || err.contains(".ntjp/pki"),
        "{err}"
    );
    assert!(
        err.contains("--state-dir") && err.contains("--create-ca"),
        "{err}"
    );
    assert!(!cwd.path().join(".ntjp").exists(), "no CA was created");
    assert!(!cwd.path().join("certs").exists(), "nothing was issued");

    // From the state directory of a testbed, with a producer's host name.
    let state = cwd.path().join("state");
    let testbed_pki = pki::ensure_state_pki(&state.join("pki")).unwrap();
    let out = Command::new(BIN)
        .current_dir(cwd.path())
        .args([
            "certs",
            "issue",
            "--hsa-id",
            "SE2321000016-ABCD",
            "--out",
            "certs",
        ])
        .args(["--san", "producer.example.internal", "--san", "10.0.0.7"])
        .arg("--state-dir")
        .arg(&state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issued = cwd.path().join("certs/SE2321000016-ABCD.pem");
    let sans = sans_of(&issued);
    for want in [
        "DNS:localhost",
        "DNS:producer.example.internal",
        "IP:10.0.0.7",
    ] {
        assert!(sans.iter().any(|s| s == want), "{want} not in {sans:?}");
    }
    assert_eq!(
        subject_of(&testbed_pki.ca_cert),
        issuer_of(&issued),
        "signed by the state directory's CA"
    );

    // --create-ca does it deliberately, and says so.
    let out = Command::new(BIN)
        .current_dir(cwd.path())
        .env_remove("NTJP_STATE_DIR")
        .env_remove("NTJP_CONFIG")
        .args([
            "certs",
            "issue",
            "--hsa-id",
            "SE2321000016-ABCD",
            "--out",
            "other",
        ])
        .arg("--create-ca")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(note.contains("NEW test CA"), "{note}");
    assert!(cwd.path().join(".ntjp/pki/ca.pem").exists());
    // Two generated CAs never share a subject.
    assert_ne!(
        subject_of(&cwd.path().join(".ntjp/pki/ca.pem")),
        subject_of(&testbed_pki.ca_cert)
    );
}

fn issuer_of(pem_path: &std::path::Path) -> String {
    let pem = std::fs::read(pem_path).unwrap();
    let der: rustls_pki_types::CertificateDer<'static> =
        rustls_pki_types::pem::PemObject::from_pem_slice(&pem).unwrap();
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&der).unwrap();
    cert.issuer().to_string()
}
