use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use std::fs;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::OID_X509_SERIALNUMBER;
use x509_parser::prelude::FromDer;

use super::*;

fn function_cert(ca: &Ca, id: &str) -> IssuedCert {
    ca.issue(&CertRequest::function(id)).expect("issue")
}

#[test]
fn issued_function_cert_carries_hsa_id() {
    let ca = Ca::generate("Test CA").expect("ca");
    let cert = function_cert(&ca, DEFAULT_CONSUMER_HSA_ID);
    assert_eq!(
        hsa_id_from_der(&cert.cert_der).expect("parse").as_deref(),
        Some(DEFAULT_CONSUMER_HSA_ID)
    );
    let subject = subject_from_der(&cert.cert_der).expect("subject");
    assert!(
        subject.contains(&format!("CN={DEFAULT_CONSUMER_HSA_ID}")),
        "{subject}"
    );
    assert!(
        subject.contains(&format!("serialNumber={DEFAULT_CONSUMER_HSA_ID}")),
        "{subject}"
    );

    let (_, x509) = X509Certificate::from_der(&cert.cert_der).expect("x509");
    let attr = x509
        .subject()
        .iter_by_oid(&OID_X509_SERIALNUMBER)
        .next()
        .expect("serialNumber");
    assert_eq!(
        attr.attr_value().tag(),
        x509_parser::der_parser::asn1_rs::Tag::PrintableString
    );
    let eku = x509
        .extended_key_usage()
        .expect("eku")
        .expect("eku present");
    assert!(eku.value.client_auth && eku.value.server_auth);
    let san = x509
        .subject_alternative_name()
        .expect("san")
        .expect("san present");
    assert_eq!(san.value.general_names.len(), 2);
    assert!(x509.validity().is_valid());
}

#[test]
fn cert_without_hsa_id_has_none() {
    let ca = Ca::generate("Test CA").expect("ca");
    let req = CertRequest {
        client_auth: true,
        ..CertRequest::default()
    };
    let cert = ca.issue(&req).expect("issue");
    assert_eq!(hsa_id_from_der(&cert.cert_der).expect("parse"), None);
    assert!(
        subject_from_der(&cert.cert_der)
            .expect("subject")
            .contains("CN=no-hsa-id")
    );
    assert!(hsa_id_from_der(b"not a certificate").is_err());
}

#[test]
fn ca_round_trips_through_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Ca::generate("Test CA").expect("ca");
    let (cert, key) = ca.write(dir.path(), "ca").expect("write");
    let loaded = Ca::load(&cert, &key).expect("load");
    assert_eq!(loaded.cert_der(), ca.cert_der());
    let leaf = function_cert(&loaded, "SE123-X");
    let (_, x509) = X509Certificate::from_der(&leaf.cert_der).expect("x509");
    let (_, ca_x509) = X509Certificate::from_der(ca.cert_der()).expect("x509");
    assert_eq!(x509.issuer().as_raw(), ca_x509.subject().as_raw());
    x509.verify_signature(Some(ca_x509.public_key()))
        .expect("signed by the CA");

    // A key that does not belong to the certificate is refused.
    let other = Ca::generate("Other CA").expect("ca");
    let (_, other_key) = other.write(&dir.path().join("o"), "ca").expect("write");
    let err = Ca::load(&cert, &other_key).expect_err("mismatch");
    assert!(matches!(err, PkiError::KeyMismatch { .. }), "{err}");
}

#[test]
fn ensure_state_pki_reuses_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki_dir = dir.path().join("pki");
    let first = ensure_state_pki(&pki_dir).expect("first");
    let names = [
        "ca.pem",
        "ca-key.pem",
        "platform.pem",
        "platform-key.pem",
        "consumer.pem",
        "consumer-key.pem",
        "unauthorised.pem",
        "unauthorised-key.pem",
        "consumer.p12",
    ];
    let read_all = || {
        names
            .iter()
            .map(|n| fs::read(pki_dir.join(n)).expect(n))
            .collect::<Vec<_>>()
    };
    let before = read_all();
    let second = ensure_state_pki(&pki_dir).expect("second");
    assert_eq!(before, read_all());
    assert_eq!(first.platform.cert, second.platform.cert);

    for id in [&first.platform, &first.consumer, &first.unauthorised] {
        let der = CertificateDer::from_pem_file(&id.cert).expect("pem");
        assert_eq!(
            hsa_id_from_der(&der).expect("parse").as_deref(),
            Some(id.hsa_id.as_str())
        );
    }

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&first.ca_key)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A missing leaf is reissued from the existing CA; the others stay.
    fs::remove_file(&first.unauthorised.cert).expect("rm");
    fs::remove_file(&first.unauthorised.key).expect("rm");
    ensure_state_pki(&pki_dir).expect("third");
    let after = read_all();
    assert_eq!(before[..6], after[..6]);
    assert_ne!(before[6], after[6]);
    assert_eq!(before[8], after[8]);

    // A CA certificate without its key is an error naming both files.
    fs::remove_file(&first.ca_key).expect("rm");
    let err = ensure_state_pki(&pki_dir).expect_err("incomplete");
    let msg = err.to_string();
    assert!(
        msg.contains("ca.pem") && msg.contains("ca-key.pem"),
        "{msg}"
    );

    // A fresh CA does not silently accept leaves of the old one.
    fs::remove_file(&first.ca_cert).expect("rm");
    let err = ensure_state_pki(&pki_dir).expect_err("stale leaf");
    assert!(matches!(err, PkiError::NotIssuedByCa { .. }), "{err}");
}

#[test]
fn issue_to_dir_writes_files_and_validates_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Ca::generate("Test CA").expect("ca");
    let files = issue_to_dir(&ca, "SE2321000016-ABCD", dir.path(), "secret", &[]).expect("issue");
    assert!(files.cert.ends_with("SE2321000016-ABCD.pem"));
    assert!(files.key.ends_with("SE2321000016-ABCD-key.pem"));
    assert!(files.p12.ends_with("SE2321000016-ABCD.p12"));
    let loaded = IssuedCert::load(&files.cert, &files.key).expect("load");
    assert_eq!(
        hsa_id_from_der(&loaded.cert_der).expect("parse").as_deref(),
        Some("SE2321000016-ABCD")
    );

    let data = fs::read(&files.p12).expect("p12");
    let store = p12_keystore::KeyStore::from_pkcs12(
        &data,
        "secret",
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .expect("p12 parses");
    let (_, chain) = store.private_key_chain().expect("key entry");
    assert_eq!(chain.certs().len(), 2);
    assert_eq!(chain.certs()[0].as_der(), loaded.cert_der.as_slice());

    let err = issue_to_dir(&ca, "../etc", dir.path(), "x", &[]).expect_err("invalid");
    assert!(err.to_string().contains("'.'"), "{err}");
}

#[test]
fn p12_is_readable_by_openssl() {
    let available = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("openssl not on PATH; skipping");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Ca::generate("Test CA").expect("ca");
    let path = dir.path().join("c.p12");
    function_cert(&ca, "SE-P12")
        .write_p12(&ca, &path, "changeit")
        .expect("p12");
    let out = std::process::Command::new("openssl")
        .args(["pkcs12", "-info", "-in"])
        .arg(&path)
        .args(["-passin", "pass:changeit", "-noout"])
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wrong = std::process::Command::new("openssl")
        .args(["pkcs12", "-info", "-in"])
        .arg(&path)
        .args(["-passin", "pass:wrong", "-noout"])
        .output()
        .expect("openssl");
    assert!(!wrong.status.success());
}

#[test]
fn cert_from_header_accepts_pem_and_base64() {
    let ca = Ca::generate("Test CA").expect("ca");
    let cert = function_cert(&ca, DEFAULT_CONSUMER_HSA_ID);

    // PEM as is, and with newlines flattened to spaces as some proxies do.
    assert_eq!(
        cert_from_header(&cert.cert_pem).expect("pem"),
        cert.cert_der
    );
    let flat = cert.cert_pem.replace('\n', " ");
    assert_eq!(cert_from_header(&flat).expect("flat pem"), cert.cert_der);

    // Bare base64 DER, alone and as the first of a Traefik-style list.
    let b64 = STANDARD.encode(&cert.cert_der);
    assert!(b64.starts_with("MII"));
    assert_eq!(cert_from_header(&b64).expect("b64"), cert.cert_der);
    let other = STANDARD.encode(ca.cert_der());
    assert_eq!(
        cert_from_header(&format!("{b64},{other}")).expect("list"),
        cert.cert_der
    );

    // URL-encoded PEM (nginx $ssl_client_escaped_cert).
    let escaped = cert
        .cert_pem
        .replace(' ', "%20")
        .replace('\n', "%0A")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    assert_eq!(cert_from_header(&escaped).expect("escaped"), cert.cert_der);
}

#[test]
fn cert_from_header_rejects_garbage() {
    for bad in [
        "",
        "garbage",
        "MII!!!!",
        "MIIgarbage",
        "-----BEGIN CERTIFICATE-----\nMIIB",
        "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
        "%zz",
    ] {
        let err = cert_from_header(bad).expect_err(bad);
        assert!(matches!(err, PkiError::Header(_)), "{bad}: {err}");
    }
    // Valid base64 that is not a certificate.
    let err = cert_from_header(&format!("MII{}", STANDARD.encode(b"hello world"))).expect_err("x");
    assert!(err.to_string().contains("x-vp-auth-cert"), "{err}");
}

#[test]
fn validate_hsa_id_rules() {
    assert!(validate_hsa_id("SE2321000016-ABCD").is_ok());
    assert!(validate_hsa_id("a_b-C9").is_ok());
    assert!(validate_hsa_id(&"x".repeat(64)).is_ok());
    assert!(validate_hsa_id(&"x".repeat(65)).is_err());
    assert!(validate_hsa_id("").is_err());
    let err = validate_hsa_id("SE 1").expect_err("space");
    assert!(err.to_string().contains("' '"), "{err}");
    let err = validate_hsa_id("SEå").expect_err("non-ascii");
    assert!(err.to_string().contains("'å'"), "{err}");
}

#[test]
fn loaded_ca_pem_is_byte_identical_to_generated() {
    let ca = Ca::generate("Test CA").expect("ca");
    assert_eq!(ca::canonical_pem(ca.cert_der()), ca.cert_pem());
    let cert = function_cert(&ca, DEFAULT_CONSUMER_HSA_ID);
    assert_eq!(ca::canonical_pem(&cert.cert_der), cert.cert_pem);
}

#[test]
fn every_generated_ca_has_a_subject_of_its_own() {
    let a = Ca::generate(CA_COMMON_NAME).expect("ca");
    let b = Ca::generate(CA_COMMON_NAME).expect("ca");
    let (sa, sb) = (
        subject_from_der(a.cert_der()).expect("subject"),
        subject_from_der(b.cert_der()).expect("subject"),
    );
    assert_ne!(sa, sb);
    assert!(sa.contains("CN=NTjP testbed CA "), "{sa}");
}

#[test]
fn state_pki_gets_extra_sans_reissued_and_java_stores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki_dir = dir.path().join("pki");
    let first = ensure_state_pki(&pki_dir).expect("first");
    let ca_before = fs::read(&first.ca_cert).expect("ca");
    let consumer_before = fs::read(&first.consumer.cert).expect("consumer");
    let platform_before = fs::read(&first.platform.cert).expect("platform");

    let sans = vec!["ntjp-testbed".to_owned(), "10.0.0.7".to_owned()];
    let second = ensure_state_pki_with(&pki_dir, &sans).expect("second");
    let platform_after = fs::read(&second.platform.cert).expect("platform");
    assert_ne!(platform_before, platform_after, "reissued with the names");
    assert_eq!(fs::read(&second.ca_cert).expect("ca"), ca_before);
    assert_eq!(
        fs::read(&second.consumer.cert).expect("consumer"),
        consumer_before
    );
    let der = CertificateDer::from_pem_slice(&platform_after).expect("pem");
    let missing = super::state::tests_missing_sans(&der, &sans);
    assert!(missing.is_empty(), "{missing:?}");
    // Asked again, nothing changes.
    ensure_state_pki_with(&pki_dir, &sans).expect("third");
    assert_eq!(fs::read(&second.platform.cert).expect("p"), platform_after);

    // truststore.p12: the CA alone, as a trusted entry; unauthorised.p12 its key and chain.
    let data = fs::read(&second.truststore_p12).expect("truststore");
    let store = p12_keystore::KeyStore::from_pkcs12(
        &data,
        STATE_P12_PASSWORD,
        p12_keystore::Pkcs12ImportPolicy::Strict,
    )
    .expect("truststore parses");
    assert!(store.private_key_chain().is_none());
    let ca_der = CertificateDer::from_pem_slice(&ca_before).expect("ca pem");
    let trusted: Vec<_> = store
        .entries()
        .filter_map(|(_, e)| match e {
            p12_keystore::KeyStoreEntry::Certificate(c) => Some(c.as_der().to_vec()),
            _ => None,
        })
        .collect();
    assert_eq!(trusted, vec![ca_der.to_vec()]);
    let data = fs::read(&second.unauthorised_p12).expect("unauthorised.p12");
    let store = p12_keystore::KeyStore::from_pkcs12(
        &data,
        STATE_P12_PASSWORD,
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .expect("p12 parses");
    let (_, chain) = store.private_key_chain().expect("key entry");
    assert_eq!(
        hsa_id_from_der(chain.certs()[0].as_der())
            .expect("parse")
            .as_deref(),
        Some(UNAUTHORISED_CONSUMER_HSA_ID)
    );
}

#[test]
fn load_state_ca_never_creates_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = load_state_ca(&dir.path().join("pki")).expect_err("no CA");
    assert!(matches!(err, PkiError::NoCa { .. }), "{err}");
    assert!(err.to_string().contains("pki"), "{err}");
    assert!(!dir.path().join("pki").exists());
}
