//! Tried as a Java user would (issue 12, point 6): a small Java program (`tests/java/Main.java`,
//! run as a single-file source program by JDK 17's `java`) calls the running testbed with the
//! JDK's own HttpClient and HttpsURLConnection, configured only by the `javax.net.ssl.*`
//! properties that README's section "Calling it from SoapUI, Java, .NET and curl" gives, with
//! the files and passwords read from `endpoints.json`. The mistakes in README's table are made
//! on purpose, and what Java prints for each must be what the table says.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::*;

const CALL_PATH: &str =
    "/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One run of `Main.java`: its `-D` properties, the client, the URL.
struct Run {
    what: &'static str,
    props: Vec<String>,
    client: &'static str,
    url: String,
}

/// Runs the cases three at a time (each its own JVM: the `javax.net.ssl.*` properties are
/// read once per JVM); returns (what, output) in order.
fn run_all(java: &Path, runs: Vec<Run>) -> Vec<(&'static str, String)> {
    let mut runs = runs.into_iter();
    let mut results = Vec::new();
    loop {
        let batch: Vec<Run> = runs.by_ref().take(3).collect();
        if batch.is_empty() {
            return results;
        }
        results.extend(run_batch(java, batch));
    }
}

fn run_batch(java: &Path, runs: Vec<Run>) -> Vec<(&'static str, String)> {
    let main = repo().join("tests/java/Main.java");
    let request = repo().join("fixtures/requests/cervix-01.xml");
    std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .into_iter()
            .map(|run| {
                let (main, request) = (&main, &request);
                scope.spawn(move || {
                    let out = Command::new(java)
                        // A short-lived JVM starts faster without the optimising compiler;
                        // nothing of TLS depends on it.
                        .args([
                            "-XX:TieredStopAtLevel=1",
                            "-XX:+UseSerialGC",
                            "-Xshare:auto",
                        ])
                        .args(&run.props)
                        .arg(main)
                        .args([run.client, &run.url])
                        .arg(request)
                        .output()
                        .unwrap_or_else(|e| panic!("cannot run {}: {e}", java.display()));
                    let text = format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                    (run.what, text)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn store(kind: &str, file: &serde_json::Value) -> Vec<String> {
    vec![
        format!("-Djavax.net.ssl.{kind}={}", file["path"].as_str().unwrap()),
        format!(
            "-Djavax.net.ssl.{kind}Password={}",
            file["password"].as_str().unwrap()
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_java_client_calls_the_router_with_the_files_endpoints_json_names() {
    let java = tokio::task::spawn_blocking(install::java).await.unwrap();
    let bed = start_with(|c, _| {
        c.pki.extra_sans = vec!["ntjp-testbed.local".into()];
        // A JVM compiling Main.java on a busy machine may take seconds over its handshake.
        c.router.client_read_timeout_ms = 60_000;
    })
    .await;
    // What a user reads: endpoints.json, not the testbed's Rust API.
    let endpoints: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bed.testbed.endpoints_file()).unwrap())
            .unwrap();
    let pki = &endpoints["pki"];
    let router = endpoints["environments"]["sit"]["router_https"]
        .as_str()
        .unwrap();
    let url = format!("{router}{CALL_PATH}");
    let port = bed.https_addr("sit").port();
    let consumer = store("keyStore", &pki["consumer_p12"]);
    let unauthorised = store("keyStore", &pki["unauthorised_p12"]);
    let trust = store("trustStore", &pki["truststore_p12"]);
    let both = [consumer.clone(), trust.clone()].concat();

    // A key store from a CA the router does not trust (`ntjp certs issue` in the wrong place).
    let other_ca = ntjp_testbed::pki::Ca::generate("NTjP testbed CA").unwrap();
    let foreign = other_ca
        .issue(&ntjp_testbed::pki::CertRequest::function(
            ntjp_testbed::pki::DEFAULT_CONSUMER_HSA_ID,
        ))
        .unwrap();
    let foreign_p12 = bed.dir.path().join("foreign.p12");
    foreign
        .write_p12(&other_ca, &foreign_p12, "changeit")
        .unwrap();
    let foreign_store = vec![
        format!("-Djavax.net.ssl.keyStore={}", foreign_p12.display()),
        "-Djavax.net.ssl.keyStorePassword=changeit".to_string(),
    ];
    // Names resolved as a container's DNS would: jdk.net.hosts.file replaces the resolver.
    let hosts = bed.dir.path().join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1 localhost ntjp-testbed.local other-host.local\n",
    )
    .unwrap();
    let with_hosts = |props: &[String]| {
        let mut p = props.to_vec();
        p.push(format!("-Djdk.net.hosts.file={}", hosts.display()));
        p
    };
    let by_name = |name: &str| format!("https://{name}:{port}/vp{CALL_PATH}");

    // The banner's Java line, as a user copies it: the same properties.
    let banner = bed.testbed.banner();
    let banner_props: Vec<String> = banner
        .split_whitespace()
        .filter(|w| w.starts_with("-Djavax.net.ssl."))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        banner_props
            .iter()
            .collect::<std::collections::BTreeSet<_>>(),
        both.iter().collect::<std::collections::BTreeSet<_>>(),
        "{banner}"
    );

    let runs = vec![
        Run {
            what: "HttpClient with consumer.p12 and truststore.p12",
            props: banner_props,
            client: "httpclient",
            url: url.clone(),
        },
        Run {
            what: "HttpsURLConnection with consumer.p12 and truststore.p12",
            props: both.clone(),
            client: "urlconnection",
            url: url.clone(),
        },
        Run {
            what: "consumer.p12 as key store and trust store",
            props: [consumer.clone(), store("trustStore", &pki["consumer_p12"])].concat(),
            client: "httpclient",
            url: url.clone(),
        },
        Run {
            what: "unauthorised.p12",
            props: [unauthorised, trust.clone()].concat(),
            client: "httpclient",
            url: url.clone(),
        },
        Run {
            what: "HttpClient without a trust store",
            props: consumer.clone(),
            client: "httpclient",
            url: url.clone(),
        },
        Run {
            what: "HttpsURLConnection without a trust store",
            props: consumer.clone(),
            client: "urlconnection",
            url: url.clone(),
        },
        Run {
            what: "without a key store",
            props: trust.clone(),
            client: "httpclient",
            url: url.clone(),
        },
        Run {
            what: "a key store from another CA",
            props: [foreign_store, trust.clone()].concat(),
            client: "httpclient",
            url: url.clone(),
        },
        Run {
            what: "a wrong key store password",
            props: [
                vec![
                    consumer[0].clone(),
                    "-Djavax.net.ssl.keyStorePassword=wrong".to_string(),
                ],
                trust.clone(),
            ]
            .concat(),
            client: "httpclient",
            url: url.clone(),
        },
        Run {
            what: "by a name in pki.extra_sans",
            props: with_hosts(&both),
            client: "httpclient",
            url: by_name("ntjp-testbed.local"),
        },
        Run {
            what: "by a name not in the certificate",
            props: with_hosts(&both),
            client: "urlconnection",
            url: by_name("other-host.local"),
        },
    ];
    let results = tokio::task::spawn_blocking(move || run_all(&java, runs))
        .await
        .unwrap();
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("## Calling it from SoapUI, Java, .NET and curl")
        .nth(1)
        .expect("README has the section")
        .split("\n## ")
        .next()
        .unwrap();

    for (what, out) in &results {
        let expect = |text: &str| {
            assert!(out.contains(text), "{what}: expected {text:?} in:\n{out}");
        };
        // A text Java prints for a mistake is the one README's table tells users to look for.
        let documented = |text: &str| {
            expect(text);
            assert!(
                section.contains(text),
                "README's table lacks {text:?}, which Java prints for {what}"
            );
        };
        match *what {
            "HttpClient with consumer.p12 and truststore.p12"
            | "HttpsURLConnection with consumer.p12 and truststore.p12"
            | "consumer.p12 as key store and trust store"
            | "by a name in pki.extra_sans" => {
                expect("STATUS 200");
                expect("<resultCode>OK</resultCode>");
            }
            "unauthorised.p12" => {
                expect("STATUS 500");
                expect("VP007 [NTJP-TEST]");
            }
            "HttpClient without a trust store" | "HttpsURLConnection without a trust store" => {
                documented("PKIX path building failed");
                documented("unable to find valid certification path to requested target");
            }
            "without a key store" | "a key store from another CA" => {
                documented("Received fatal alert: certificate_required");
            }
            "a wrong key store password" => documented("keystore password was incorrect"),
            "by a name not in the certificate" => {
                expect("No subject alternative DNS name matching other-host.local found");
                documented("No subject alternative DNS name matching");
            }
            other => panic!("no expectation for {other}"),
        }
    }
    bed.stop().await;
}
