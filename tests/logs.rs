//! The platform's logs as a user sees them (issue 12, point 2): `ntjp serve` started as a user
//! starts it, its stderr captured through a pipe, called over real mutual TLS. With
//! `--log-format json` every line is an ECS object, and the lines of a routed call, a VP007, a
//! VP002 (a certificate without HSA-id, no certificate at all) and a non-POST carry the
//! platform's fields with the values of that call. The text format written to a pipe has no
//! colour codes, and no bodies unless asked for.

mod common;

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{CONTRACT, Client, PATIENCE, addr_of, assert_ok, cervix_request, post_plain};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_ntjp");

/// `ntjp serve` with its stderr read into a buffer by a thread; killed if the test fails.
struct Serve {
    child: Child,
    stderr: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    state: tempfile::TempDir,
    endpoints: Value,
}

impl Serve {
    /// Starts `ntjp serve --ephemeral-ports` with `args` and `env`, and waits for its
    /// endpoints.json.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Serve {
        let state = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--ephemeral-ports", "--state-dir"])
            .arg(state.path())
            .args(args)
            .envs(env.iter().copied())
            .env_remove("NO_COLOR")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let file = state.path().join("endpoints.json");
        let started = Instant::now();
        let endpoints = loop {
            if let Ok(text) = std::fs::read_to_string(&file)
                && let Ok(json) = serde_json::from_str::<Value>(&text)
            {
                break json;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "ntjp serve exited early with {status}: {}",
                    String::from_utf8_lossy(&stderr.lock().unwrap())
                );
            }
            assert!(started.elapsed() < PATIENCE, "no endpoints.json");
            std::thread::sleep(Duration::from_millis(50));
        };
        Serve {
            child,
            stderr,
            reader: Some(reader),
            state,
            endpoints,
        }
    }

    fn pki(&self, key: &str) -> PathBuf {
        PathBuf::from(self.endpoints["pki"][key].as_str().unwrap())
    }

    fn router(&self, listener: &str) -> std::net::SocketAddr {
        addr_of(
            self.endpoints["environments"]["sit"][listener]
                .as_str()
                .unwrap(),
        )
    }

    fn client(&self, cert: &Path, key: &Path) -> Client {
        Client::new(&self.pki("ca"), Some((cert, key)))
    }

    /// What was written to stderr so far.
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Waits until stderr holds a line for which `found` holds (lines leave in batches).
    async fn wait_for_line(&self, what: &str, found: impl Fn(&str) -> bool) {
        let started = Instant::now();
        while !self.stderr().lines().any(&found) {
            assert!(
                started.elapsed() < PATIENCE,
                "no log line {what} in:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the testbed with SIGTERM (its queued lines are written) and returns all it wrote.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(started.elapsed() < PATIENCE, "ntjp serve did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.stderr()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of one request (by `trace.id`) with this `event.action`.
fn events<'a>(lines: &'a [Value], trace: &str, action: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["trace.id"] == trace && l["event.action"] == action)
        .collect()
}

/// The one line of `trace` with `action`.
fn event<'a>(lines: &'a [Value], trace: &str, action: &str) -> &'a Value {
    let found = events(lines, trace, action);
    assert_eq!(found.len(), 1, "{action} lines of {trace}: {found:#?}");
    found[0]
}

/// Asserts the fields every line of a request carries (its span and the ECS base).
fn assert_base(line: &Value, trace: &str, method: &str) {
    assert_eq!(line["trace.id"], trace, "{line}");
    assert_eq!(line["ecs.version"], "8.11.0", "{line}");
    assert_eq!(line["service.name"], "ntjp-testbed", "{line}");
    assert_eq!(line["service.environment"], "sit", "{line}");
    assert_eq!(
        line["log.logger"], "ntjp_testbed::router::pipeline",
        "{line}"
    );
    assert_eq!(line["source.ip"], "127.0.0.1", "{line}");
    assert_eq!(line["http.request.method"], method, "{line}");
    assert_eq!(line["event.kind"], "event", "{line}");
    assert_eq!(line["event.module"], "skltp-messages", "{line}");
    assert_eq!(line["event.category"], serde_json::json!(["web"]), "{line}");
    let stamp = line["@timestamp"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
        "{line}"
    );
    let transaction = line["transaction.id"].as_str().unwrap();
    assert!(!transaction.is_empty(), "{line}");
    let url = line["url.full"].as_str().unwrap();
    assert!(
        url.starts_with("https://localhost/vp/clinicalprocess/logistics/cervixscreening/"),
        "{line}"
    );
}

#[tokio::test]
async fn json_lines_are_ecs_with_the_platforms_fields_for_ok_vp007_and_vp002() {
    let serve = Serve::start(
        &["--log-format", "json"],
        &[
            ("RUST_LOG", "info,ntjp_testbed::router=debug"),
            ("NTJP_ROUTER__LOG_BODIES", "true"),
        ],
    );
    let https = serve.router("router_https");
    let consumer_id = serve.endpoints["pki"]["consumer_hsa_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unauthorised_id = serve.endpoints["pki"]["unauthorised_hsa_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let consumer = serve.client(&serve.pki("consumer_cert"), &serve.pki("consumer_key"));
    let unauthorised = serve.client(
        &serve.pki("unauthorised_cert"),
        &serve.pki("unauthorised_key"),
    );
    // A certificate from the testbed's CA without an HSA-id (serialNumber): VP002.
    let ca_dir = serve.state.path().join("pki");
    let ca =
        ntjp_testbed::pki::Ca::load(&ca_dir.join("ca.pem"), &ca_dir.join("ca-key.pem")).unwrap();
    let mut request = ntjp_testbed::pki::CertRequest::function("UNUSED");
    request.hsa_id = None;
    request.common_name = Some("system-without-hsa-id".into());
    let (no_id_cert, no_id_key) = ca
        .issue(&request)
        .unwrap()
        .write(serve.state.path(), "no-hsa-id")
        .unwrap();
    let no_id = serve.client(&no_id_cert, &no_id_key);

    let ok_trace = "0f6a1c3e-1111-4a4a-9b9b-000000000001";
    let vp007_trace = "0f6a1c3e-2222-4a4a-9b9b-000000000002";
    let vp002_trace = "0f6a1c3e-3333-4a4a-9b9b-000000000003";
    let plain_trace = "0f6a1c3e-4444-4a4a-9b9b-000000000004";
    let body = cervix_request("14");
    let ok = consumer
        .post(
            https,
            body.clone(),
            &[
                ("x-skltp-correlation-id", ok_trace),
                ("x-rivta-acting-on-behalf-of-hsaid", "SE-ACTING"),
            ],
        )
        .await
        .unwrap();
    assert_ok(&ok);
    unauthorised
        .post(
            https,
            body.clone(),
            &[("x-skltp-correlation-id", vp007_trace)],
        )
        .await
        .unwrap()
        .vp("VP007");
    no_id
        .post(
            https,
            body.clone(),
            &[("x-skltp-correlation-id", vp002_trace)],
        )
        .await
        .unwrap()
        .vp("VP002");
    // Plain HTTP from a whitelisted address without a forwarded certificate: VP002 before
    // the body is read.
    post_plain(
        serve.router("router_http"),
        body.clone(),
        &[("x-skltp-correlation-id", plain_trace)],
    )
    .await
    .unwrap()
    .vp("VP002");
    // A GET from the authorised consumer: VP015 before any body is read, with the sender.
    let get_trace = "0f6a1c3e-6666-4a4a-9b9b-000000000006";
    let mut tls = consumer.connect(https).await.unwrap();
    let head = format!(
        "GET /vp/somewhere HTTP/1.1\r\nHost: localhost\r\nx-skltp-correlation-id: {get_trace}\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, tls.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 500") && answer.contains("VP015"),
        "{answer}"
    );

    // No certificate at all, and one from another CA: the handshake refuses them.
    let anonymous = Client::new(&serve.pki("ca"), None);
    assert!(anonymous.post(https, body.clone(), &[]).await.is_err());
    let other_ca = ntjp_testbed::pki::Ca::generate("Another CA").unwrap();
    let (stranger_cert, stranger_key) = other_ca
        .issue(&ntjp_testbed::pki::CertRequest::function("SE-STRANGER"))
        .unwrap()
        .write(serve.state.path(), "stranger")
        .unwrap();
    let stranger = serve.client(&stranger_cert, &stranger_key);
    assert!(stranger.post(https, body.clone(), &[]).await.is_err());

    serve
        .wait_for_line("two tls-handshake-failed", |_| {
            serve
                .stderr()
                .matches("\"event.action\":\"tls-handshake-failed\"")
                .count()
                == 2
        })
        .await;
    for trace in [ok_trace, vp007_trace, vp002_trace, plain_trace, get_trace] {
        serve
            .wait_for_line(&format!("resp-out of {trace}"), |l| {
                l.contains(trace) && l.contains("\"event.action\":\"resp-out\"")
            })
            .await;
    }
    let text = serve.stop();

    // Every line parses, and is one JSON object with the ECS base fields.
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 10, "{text}");
    for line in &lines {
        assert!(line.is_object(), "{line}");
        for key in [
            "@timestamp",
            "log.level",
            "log.logger",
            "ecs.version",
            "service.name",
        ] {
            assert!(line.get(key).is_some_and(Value::is_string), "{key}: {line}");
        }
    }

    // The routed call: the four events of VP, in order, each with the request's fields.
    let wsdl_namespace = format!("{}:rivtabp21", CONTRACT.replace("Responder", ""));
    let actions: Vec<&str> = lines
        .iter()
        .filter(|l| l["trace.id"] == ok_trace)
        .filter_map(|l| l["event.action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["req-in", "req-out", "resp-in", "resp-out"],
        "{text}"
    );
    let transaction = event(&lines, ok_trace, "req-in")["transaction.id"].clone();
    for action in ["req-in", "req-out", "resp-in", "resp-out"] {
        let line = event(&lines, ok_trace, action);
        assert_base(line, ok_trace, "POST");
        assert_eq!(line["transaction.id"], transaction, "{line}");
        assert_eq!(line["labels.senderid"], consumer_id.as_str(), "{line}");
        assert_eq!(line["labels.receiverid"], "14", "{line}");
        assert_eq!(line["labels.servicecontract_namespace"], CONTRACT, "{line}");
        assert_eq!(line["labels.rivversion"], "rivtabp21", "{line}");
        assert_eq!(
            line["labels.wsdl_namespace"],
            wsdl_namespace.as_str(),
            "{line}"
        );
        assert_eq!(
            line["message"],
            format!("{action} {consumer_id} -> 14"),
            "{line}"
        );
        assert!(line.get("error.code").is_none(), "{line}");
        let start_or_end = if action.starts_with("req") {
            "start"
        } else {
            "end"
        };
        assert_eq!(
            line["event.type"],
            serde_json::json!(["access", start_or_end]),
            "{line}"
        );
    }
    let req_in = event(&lines, ok_trace, "req-in");
    assert_eq!(req_in["log.level"], "INFO");
    assert_eq!(req_in["http.request.body.bytes"], body.len());
    assert_eq!(req_in["http.request.body.content"], body.as_str());
    assert_eq!(req_in["labels.actingOnBehalfOfHsaid"], "SE-ACTING");
    let req_out = event(&lines, ok_trace, "req-out");
    assert_eq!(req_out["log.level"], "DEBUG");
    let producer = req_out["url.original"].as_str().unwrap();
    assert!(
        producer.starts_with("https://") && producer.contains("/14/"),
        "{req_out}"
    );
    assert!(
        req_out["labels.routerVagvalTrace"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{req_out}"
    );
    assert!(
        req_out["labels.routerBehorighetTrace"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{req_out}"
    );
    assert_eq!(
        req_out["labels.originalServiceconsumerHsaid"],
        consumer_id.as_str()
    );
    let resp_in = event(&lines, ok_trace, "resp-in");
    assert_eq!(resp_in["log.level"], "DEBUG");
    assert_eq!(resp_in["http.response.status_code"], 200);
    assert!(resp_in["event.duration"].is_u64(), "{resp_in}");
    assert_eq!(resp_in["http.response.body.content"], ok.body.as_str());
    let resp_out = event(&lines, ok_trace, "resp-out");
    assert_eq!(resp_out["log.level"], "INFO");
    assert_eq!(resp_out["http.response.status_code"], 200);
    assert!(
        resp_out["event.duration"].as_u64().unwrap() > 0,
        "{resp_out}"
    );

    // VP007: req-in and resp-out, with the sender, the fault's code and details.
    for action in ["req-in", "resp-out"] {
        let line = event(&lines, vp007_trace, action);
        assert_base(line, vp007_trace, "POST");
        assert_eq!(line["labels.senderid"], unauthorised_id.as_str(), "{line}");
        assert_eq!(line["labels.receiverid"], "14", "{line}");
        assert_eq!(line["labels.servicecontract_namespace"], CONTRACT, "{line}");
    }
    assert!(events(&lines, vp007_trace, "req-out").is_empty());
    let vp007 = event(&lines, vp007_trace, "resp-out");
    assert_eq!(
        vp007["message"],
        format!("resp-out {unauthorised_id} -> 14")
    );
    assert_eq!(vp007["http.response.status_code"], 500);
    assert_eq!(vp007["error.code"], "VP007");
    assert_eq!(vp007["labels.errorCode"], "VP007");
    let details = vp007["error.message"].as_str().unwrap();
    assert!(
        details.contains(&unauthorised_id) && details.contains("14"),
        "{vp007}"
    );

    // VP002 (a certificate without HSA-id): refused before the body, so resp-out alone, with
    // what is known: who connected from where, how, the code and the certificate's subject.
    assert!(events(&lines, vp002_trace, "req-in").is_empty());
    let vp002 = event(&lines, vp002_trace, "resp-out");
    assert_base(vp002, vp002_trace, "POST");
    assert_eq!(vp002["error.code"], "VP002");
    assert_eq!(vp002["http.response.status_code"], 500);
    assert!(
        vp002["error.message"]
            .as_str()
            .unwrap()
            .contains("system-without-hsa-id"),
        "{vp002}"
    );
    assert!(vp002.get("labels.senderid").is_none(), "{vp002}");
    assert_eq!(vp002["message"], "resp-out - -> -");

    // VP002 on plain HTTP (no forwarded certificate).
    let plain = event(&lines, plain_trace, "resp-out");
    assert_eq!(plain["error.code"], "VP002");
    assert_eq!(plain["source.ip"], "127.0.0.1");
    assert!(
        plain["url.full"]
            .as_str()
            .unwrap()
            .starts_with("http://localhost/vp/"),
        "{plain}"
    );

    // A GET: resp-out with the method, the path called and the sender.
    let get = event(&lines, get_trace, "resp-out");
    assert_eq!(get["http.request.method"], "GET");
    assert_eq!(get["url.full"], "https://localhost/vp/somewhere");
    assert_eq!(get["labels.senderid"], consumer_id.as_str());
    assert_eq!(get["error.code"], "VP015");
    assert_eq!(get["message"], format!("resp-out {consumer_id} -> -"));

    // No certificate, a certificate from another CA: the refused handshakes, with the peer
    // and VP002.
    let refused: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event.action"] == "tls-handshake-failed")
        .collect();
    assert_eq!(refused.len(), 2, "{refused:#?}");
    for refused in refused {
        assert_eq!(refused["source.ip"], "127.0.0.1");
        assert!(refused["source.port"].is_u64(), "{refused}");
        assert_eq!(refused["error.code"], "VP002");
        assert_eq!(refused["event.module"], "skltp-tls");
        assert_eq!(refused["event.outcome"], "failure");
        assert!(
            refused["error.message"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("certificate"),
            "{refused}"
        );
    }
}

#[tokio::test]
async fn text_lines_to_a_pipe_have_no_colour_codes_and_no_bodies_unless_asked() {
    let serve = Serve::start(&[], &[("RUST_LOG", "info,ntjp_testbed::router=debug")]);
    let consumer = serve.client(&serve.pki("consumer_cert"), &serve.pki("consumer_key"));
    let trace = "0f6a1c3e-5555-4a4a-9b9b-000000000005";
    assert_ok(
        &consumer
            .post(
                serve.router("router_https"),
                cervix_request("14"),
                &[("x-skltp-correlation-id", trace)],
            )
            .await
            .unwrap(),
    );
    serve
        .wait_for_line("resp-out", |l| {
            l.contains(trace) && l.contains("event.action=\"resp-out\"")
        })
        .await;
    let text = serve.stop();
    assert!(!text.contains("\x1b["), "colour codes in a pipe:\n{text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(trace)).collect();
    assert_eq!(
        lines.len(),
        4,
        "req-in, req-out, resp-in, resp-out:\n{text}"
    );
    for line in &lines {
        assert!(
            line.contains(&format!("request{{trace.id={trace} ")),
            "{line}"
        );
        assert!(!line.contains("body.content"), "{line}");
    }
}
