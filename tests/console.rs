//! The web console, end to end in a real browser: Debian's headless Chromium driven over
//! WebDriver (chromedriver on an ephemeral port, W3C WebDriver spoken over plain HTTP here),
//! against the real testbed: find a route on the TAK page, submit a consumer order through
//! the form and see its authorisation in TAK, send a request through the router with the
//! test's mutual-TLS client and see it in the live view, roll back a version.
//!
//! With `NTJP_SCREENSHOTS=docs/console` (a directory, relative to the repository) the
//! screenshots taken on the way are written there as PNG files.

mod common;

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use std::os::unix::process::CommandExt as _;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use common::{Bed, CONTRACT, PATIENCE, cervix_request};

/// The flags that keep Chromium from reaching out of this machine (see the machine notes).
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
];

/// The W3C name of an element reference in WebDriver's answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process, ended when dropped.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
    chromium: PathBuf,
}

impl Drop for Driver {
    /// Ends chromedriver and the Chromium it started (its own process group: Chromium
    /// outlives a chromedriver killed alone), also when the test failed half-way.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver on a port the OS chooses (it prints which).
    fn start() -> Driver {
        let (chromium, chromedriver) = common::install::chromium();
        let mut child = Command::new(&chromedriver)
            .arg("--port=0")
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads its output to the end, so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let _ = tx.send(rest.trim_end_matches('.').trim().parse::<u16>().ok());
                }
            }
        });
        let port = rx
            .recv_timeout(PATIENCE)
            .ok()
            .flatten()
            .expect("chromedriver did not say its port");
        Driver {
            child,
            port,
            _profile: tempfile::tempdir().unwrap(),
            chromium,
        }
    }

    async fn session(&self) -> Session {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": CHROMIUM_ARGS.iter().map(|a| a.to_string())
                    .chain([format!("--user-data-dir={}", self._profile.path().display())])
                    .collect::<Vec<_>>(),
            }
        }}});
        let answer = http(self.port, "POST", "/session", Some(&caps)).await;
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"))
            .to_string();
        Session {
            port: self.port,
            id,
        }
    }
}

/// One WebDriver exchange over HTTP/1.1: the answer's JSON (an error answer too).
async fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    let exchange = async {
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp.write_all(body.as_bytes()).await.unwrap();
        // chromedriver keeps the connection open whatever the request says: read the head,
        // then as many bytes as it announces.
        let mut answer = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        let (head_len, length) = loop {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "{method} {path}: chromedriver closed the connection");
            answer.extend_from_slice(&buf[..n]);
            if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or_else(|| panic!("{method} {path}: no Content-Length in {head}"));
                break (end + 4, length);
            }
        };
        while answer.len() < head_len + length {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "{method} {path}: the answer ended early");
            answer.extend_from_slice(&buf[..n]);
        }
        let rest = String::from_utf8_lossy(&answer[head_len..head_len + length]).into_owned();
        let text = String::from_utf8_lossy(&answer).into_owned();
        serde_json::from_str(&rest).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
    };
    tokio::time::timeout(PATIENCE, Box::pin(exchange))
        .await
        .unwrap_or_else(|_| panic!("WebDriver {method} {path}: no answer within {PATIENCE:?}"))
}

/// A browser session.
struct Session {
    port: u16,
    id: String,
}

impl Session {
    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let answer = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.id),
            body.as_ref(),
        )
        .await;
        if let Some(err) = answer["value"]["error"].as_str() {
            panic!(
                "WebDriver {method} {path}: {err}: {}",
                answer["value"]["message"]
            );
        }
        answer["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url}))).await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    async fn js(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Waits until `script` returns something truthy; returns it. Fails naming `what`.
    async fn until(&self, what: &str, script: &str, args: Value) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let v = self.js(script, args.clone()).await;
            let truthy = match &v {
                Value::Null | Value::Bool(false) => false,
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                let page = self
                    .js(
                        "return document.getElementById('main').innerText",
                        json!([]),
                    )
                    .await;
                panic!("{what}: not within {PATIENCE:?}; the page shows:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    /// Types `text` into the element `css` (after clearing it).
    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("/element/{el}/clear"), Some(json!({})))
            .await;
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})))
            .await;
    }

    /// A screenshot, written to `$NTJP_SCREENSHOTS/<name>.png` when that is set.
    async fn screenshot(&self, name: &str) {
        let png = self.cmd("GET", "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "the screenshot is no PNG");
        if let Some(dir) = std::env::var_os("NTJP_SCREENSHOTS") {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
        }
    }

    async fn close(self) {
        http(self.port, "DELETE", &format!("/session/{}", self.id), None).await;
    }
}

/// A consumer the test registers and orders for.
const CONSUMER: &str = "SE2321000016-WEBB";

/// One request to the admin listener as written (HTTP/1.1, the connection closed after it):
/// the status line and headers (lower-case), and the body.
async fn admin_raw(bed: &Bed, request: &str) -> (String, String) {
    let port = common::addr_of(&bed.testbed.endpoints().admin).port();
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    (head.to_ascii_lowercase(), body.to_string())
}

async fn get(bed: &Bed, path: &str, extra: &str) -> (String, String) {
    admin_raw(
        bed,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n"),
    )
    .await
}

async fn get_json(bed: &Bed, path: &str) -> Value {
    let (head, body) = get(bed, path, "").await;
    assert!(head.starts_with("http/1.1 200"), "{path}: {head}\n{body}");
    serde_json::from_str(&body).unwrap()
}

/// The console's files over plain HTTP: types, caching, the policy, the gate; and the live
/// feed's endpoints moving by exactly the requests sent.
#[tokio::test]
async fn console_files_and_the_live_feed_over_http() {
    let bed = common::start().await;

    let (head, _) = get(&bed, "/", "").await;
    assert!(head.starts_with("http/1.1 303"), "{head}");
    assert!(head.contains("location: /console/"), "{head}");
    for (path, kind) in [
        ("/console/", "text/html; charset=utf-8"),
        ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/style.css", "text/css; charset=utf-8"),
        ("/console/favicon.svg", "image/svg+xml"),
    ] {
        let (head, body) = get(&bed, path, "").await;
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
        assert!(
            head.contains(&format!("content-type: {kind}")),
            "{path}: {head}"
        );
        assert!(head.contains("cache-control: no-cache"), "{path}: {head}");
        assert!(
            head.contains("content-security-policy: default-src 'none'; script-src 'self'"),
            "{path}: {head}"
        );
        assert!(head.contains("x-content-type-options: nosniff"), "{path}");
        assert!(!body.is_empty(), "{path}");
        let etag = head
            .lines()
            .find_map(|l| l.strip_prefix("etag: "))
            .unwrap_or_else(|| panic!("{path}: no ETag"))
            .to_string();
        let (again, body) = get(&bed, path, &format!("If-None-Match: {etag}\r\n")).await;
        assert!(again.starts_with("http/1.1 304"), "{path}: {again}");
        assert!(body.is_empty());
    }
    let (head, body) = get(&bed, "/console/nothing.js", "").await;
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert!(body.contains("/console/nothing.js"), "{body}");
    // The admin gate still stands in front: a page of another site gets nothing.
    let (head, body) = admin_raw(
        &bed,
        "GET /console/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("http/1.1 403"), "{head}");
    assert!(body.contains("evil.example"), "{body}");
    let (head, _) = get(&bed, "/api/live", "Origin: http://evil.example\r\n").await;
    assert!(head.starts_with("http/1.1 403"), "{head}");

    let before = get_json(&bed, "/api/live").await;
    assert_eq!(before["capacity"], 1000);
    assert_eq!(before["requests"].as_array().unwrap().len(), 0);
    let sit = bed.https_addr("sit");
    common::assert_ok(
        &bed.consumer()
            .post(sit, cervix_request("14"), &[])
            .await
            .unwrap(),
    );
    bed.unauthorised()
        .post(sit, cervix_request("01"), &[])
        .await
        .unwrap()
        .vp("VP007");
    let live = get_json(&bed, "/api/live").await;
    let requests = live["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2, "{live}");
    assert_eq!(requests[0]["environment"], "sit");
    assert_eq!(requests[0]["consumer"], "TSTNMT2321000156-KONS");
    assert_eq!(requests[0]["address"], "14");
    assert_eq!(requests[0]["contract"], CONTRACT);
    assert_eq!(requests[0]["outcome"], "OK");
    assert_eq!(requests[0]["status"], 200);
    assert_eq!(requests[1]["consumer"], "TSTNMT2321000156-OBEH");
    assert_eq!(requests[1]["outcome"], "VP007");
    assert_eq!(live["last"], requests[1]["seq"]);
    let after = get_json(&bed, &format!("/api/live?since={}", requests[0]["seq"])).await;
    assert_eq!(after["requests"].as_array().unwrap().len(), 1, "{after}");
    let rate = get_json(&bed, "/api/live/rate?seconds=600").await;
    let seconds = rate["seconds"].as_array().unwrap();
    assert_eq!(seconds.len(), 600);
    let count: u64 = seconds.iter().map(|s| s["count"].as_u64().unwrap()).sum();
    let faults: u64 = seconds.iter().map(|s| s["faults"].as_u64().unwrap()).sum();
    assert_eq!((count, faults), (2, 1), "{rate}");
    for bad in ["/api/live?since=x", "/api/live/rate?seconds=601"] {
        let (head, body) = get(&bed, bad, "").await;
        assert!(head.starts_with("http/1.1 400"), "{bad}: {head}");
        assert!(body.contains("error"), "{bad}: {body}");
    }
    bed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let bed = common::start().await;
    let admin = bed.testbed.endpoints().admin.clone();
    let driver = Driver::start();
    let web = driver.session().await;

    // 1. The TAK page: search for an address and see its route.
    web.go(&format!("{admin}/")).await;
    web.until(
        "the TAK page's routes",
        "return document.querySelectorAll('#routes tbody tr').length > 20",
        json!([]),
    )
    .await;
    web.type_into("#f-address", "14").await;
    let shown = web
        .until(
            "only address 14's route on the TAK page",
            "const rows = [...document.querySelectorAll('#routes tbody tr')];
             return rows.length > 0 && rows.every(r => r.dataset.address.includes('14'))
                 && rows.map(r => r.innerText).join('\\n')",
            json!([]),
        )
        .await;
    let shown = shown.as_str().unwrap();
    assert!(shown.contains("/mocks/14/"), "route 14's URL: {shown}");
    assert!(shown.contains(CONTRACT), "{shown}");
    web.screenshot("tak").await;

    // 2. A consumer order through the form: first refused (no system registered), with the
    // form's message; then the system and pre-study forms, and the order is accepted.
    web.go(&format!("{admin}/console/#forms")).await;
    web.until(
        "the forms",
        "return document.getElementById('consumer-form')",
        json!([]),
    )
    .await;
    web.type_into("#consumer-consumer_hsa_id", CONSUMER).await;
    web.type_into("#consumer-logical_addresses", "14").await;
    web.type_into("#consumer-prestudy_case", "FS-2026-042")
        .await;
    web.click("#consumer-form button[type=submit]").await;
    let refused = web
        .until(
            "the consumer form's validation message",
            "const a = document.getElementById('consumer-form-answer');
             return a && a.classList.contains('bad') && a.innerText",
            json!([]),
        )
        .await;
    assert!(
        refused
            .as_str()
            .unwrap()
            .contains("is not registered for sit"),
        "{refused}"
    );
    for (id, value) in [
        ("system-hsa_id", CONSUMER),
        ("system-system_name", "Kallelsesystemet"),
        ("system-organisation", "Region Exempel"),
        ("system-main_name", "Anna Andersson"),
        ("system-main_email", "anna@exempel.se"),
        ("system-tech_name", "Bo Berg"),
        ("system-tech_email", "bo@exempel.se"),
        ("prestudy-case_number", "FS-2026-042"),
        ("prestudy-organisation", "Region Exempel"),
    ] {
        web.type_into(&format!("#{id}"), value).await;
    }
    for form in ["system-form", "prestudy-form"] {
        web.click(&format!("#{form} button[type=submit]")).await;
        web.until(
            form,
            "const a = document.getElementById(arguments[0] + '-answer');
             return a && a.classList.contains('ok')",
            json!([form]),
        )
        .await;
    }
    web.click("#consumer-form button[type=submit]").await;
    let accepted = web
        .until(
            "the consumer order's report",
            "const a = document.getElementById('consumer-form-answer');
             return a && a.classList.contains('ok') && a.innerText",
            json!([]),
        )
        .await;
    let accepted = accepted.as_str().unwrap();
    assert!(accepted.contains("publicerad som version 2"), "{accepted}");
    assert!(accepted.contains("Anropsbehörigheter"), "{accepted}");
    web.screenshot("forms").await;
    // The producer form's rules: county 14 already has its producing system (the mock).
    for (id, value) in [
        ("producer-producer_hsa_id", CONSUMER),
        ("producer-county_code", "14"),
        ("producer-url", "https://127.0.0.1:9/vp/cervix"),
        ("producer-prestudy_case", "FS-2026-042"),
    ] {
        web.type_into(&format!("#{id}"), value).await;
    }
    web.click("#producer-form button[type=submit]").await;
    let refused = web
        .until(
            "the producer form's validation message",
            "const a = document.getElementById('producer-form-answer');
             return a && a.classList.contains('bad') && a.innerText",
            json!([]),
        )
        .await;
    assert!(
        refused
            .as_str()
            .unwrap()
            .contains("county 14 (Västra Götalandsregionen) already has a producing system"),
        "{refused}"
    );

    web.go(&format!("{admin}/console/#tak")).await;
    web.until(
        "the TAK page",
        "return document.querySelectorAll('#auths tbody tr').length > 0",
        json!([]),
    )
    .await;
    web.type_into("#f-consumer", CONSUMER).await;
    let auth = web
        .until(
            "the new authorisation on the TAK page",
            "const rows = [...document.querySelectorAll('#auths tbody tr')];
             return rows.length === 1 && rows[0].dataset.consumer === arguments[0]
                 && rows[0].dataset.address === '14' && rows[0].innerText",
            json!([CONSUMER]),
        )
        .await;
    assert!(auth.as_str().unwrap().contains("giltig"), "{auth}");
    web.screenshot("tak-authorisation").await;

    // 3. Requests through the router (the test's mutual-TLS clients) in the live view.
    web.go(&format!("{admin}/console/#live")).await;
    web.until(
        "the live view",
        "return document.getElementById('live-chart')",
        json!([]),
    )
    .await;
    let sit = bed.https_addr("sit");
    // A dozen calls spread over about two seconds, so that the chart has more than one bar.
    for address in [
        "14", "01", "14", "12", "03", "14", "25", "01", "14", "13", "05", "14",
    ] {
        let answer = bed
            .consumer()
            .post(sit, cervix_request(address), &[])
            .await
            .unwrap();
        common::assert_ok(&answer);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let refused = bed
        .unauthorised()
        .post(sit, cervix_request("14"), &[])
        .await
        .unwrap();
    refused.vp("VP007");
    let row = web
        .until(
            "the routed requests in the live view",
            "const rows = [...document.querySelectorAll('#live-table tbody tr[data-address]')];
             const ok = rows.filter(r => r.dataset.address === '14' && r.innerText.includes('OK'));
             const vp = rows.filter(r => r.innerText.includes('VP007'));
             return rows.length >= 13 && ok.length >= 5 && vp.length === 1
                 && document.querySelectorAll('#live-chart rect.rate').length > 0
                 && ok[0].innerText",
            json!([]),
        )
        .await;
    let row = row.as_str().unwrap();
    assert!(row.contains("TSTNMT2321000156-KONS"), "{row}");
    assert!(row.contains("sit"), "{row}");
    assert!(row.contains(CONTRACT), "{row}");
    web.screenshot("live").await;

    // The mocks: a message that breaks the contract, shown with its verdict and violations;
    // a behaviour set and reset through the page.
    let invalid = ntjp_testbed::contract::request(
        "14",
        ntjp_testbed::soap::Profile::Bp21,
        "19900101238",
        "01",
    );
    bed.consumer().post(sit, invalid, &[]).await.unwrap();
    web.go(&format!("{admin}/console/#mocks")).await;
    let judged = web
        .until(
            "the invalid message with its violations on the mocks page",
            "const rows = [...document.querySelectorAll('#messages tbody tr.invalid')];
             return rows.length === 1 && rows[0].querySelector('li') && rows[0].innerText",
            json!([]),
        )
        .await;
    assert!(judged.as_str().unwrap().contains("invalid"), "{judged}");
    web.click("#mocks tr[data-address='01'] option[value='error']")
        .await;
    web.type_into("#mocks tr[data-address='01'] input[name=text]", "Testfel")
        .await;
    web.click("#mocks tr[data-address='01'] button.set-behaviour")
        .await;
    web.until(
        "the behaviour's answer",
        "const a = document.getElementById('mock-answer'); return a && a.classList.contains('ok')",
        json!([]),
    )
    .await;
    let behaviour = get_json(&bed, "/api/mocks/01/behaviour").await;
    assert_eq!(behaviour["behaviour"]["answer"], "error", "{behaviour}");
    assert_eq!(behaviour["behaviour"]["text"], "Testfel", "{behaviour}");
    web.js(
        "document.getElementById('mock-messages').scrollIntoView()",
        json!([]),
    )
    .await;
    web.screenshot("mocks").await;
    web.click("#mocks tr[data-address='01'] button.reset-behaviour")
        .await;
    web.until(
        "the behaviour reset",
        "const a = document.getElementById('mock-answer');
         return a && a.classList.contains('ok') && a.innerText.includes('återställt')",
        json!([]),
    )
    .await;
    let behaviour = get_json(&bed, "/api/mocks/01/behaviour").await;
    assert_eq!(behaviour["behaviour"]["answer"], "ok", "{behaviour}");

    web.go(&format!("{admin}/console/#orders")).await;
    web.until(
        "the orders",
        "return document.querySelectorAll('#orders tbody tr').length >= 3",
        json!([]),
    )
    .await;
    web.click("#orders tbody tr[data-order='3'] button").await;
    web.until(
        "order 3's report",
        "const d = document.getElementById('order-detail'); return d && d.innerText.includes('Rapport')",
        json!([]),
    )
    .await;
    web.screenshot("orders").await;

    // 4. Roll back the consumer order's version.
    web.go(&format!("{admin}/console/#versions")).await;
    web.until(
        "the version history with its diff",
        "return document.querySelectorAll('#versions tbody tr').length === 2
            && document.getElementById('diff').innerText.includes(arguments[0])",
        json!([CONSUMER]),
    )
    .await;
    web.screenshot("versions").await;
    web.click("#rollback").await;
    let rolled = web
        .until(
            "the rollback's answer",
            "const a = document.getElementById('versions-answer');
             return a && a.classList.contains('ok') && a.innerText",
            json!([]),
        )
        .await;
    assert!(
        rolled
            .as_str()
            .unwrap()
            .contains("Version 2 är tillbakarullad"),
        "{rolled}"
    );
    web.until(
        "the version history after the rollback",
        "return document.querySelectorAll('#versions tbody tr').length === 1",
        json!([]),
    )
    .await;
    web.screenshot("versions-rolled-back").await;
    let tak = get_json(&bed, "/api/sit/tak").await;
    assert!(
        !tak["authorisations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["consumer"] == CONSUMER),
        "the rolled-back authorisation is still in TAK"
    );
    web.go(&format!("{admin}/console/#clock")).await;
    web.until(
        "the clock",
        "const n = document.getElementById('clock-now'); return n && n.innerText.includes('Idag')",
        json!([]),
    )
    .await;
    let today: chrono::NaiveDate = get_json(&bed, "/api/sit/clock").await["today"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    web.type_into("#clock-days", "10").await;
    web.click("#clock-advance").await;
    let moved = web
        .until(
            "the clock moved ten days",
            "const a = document.getElementById('clock-answer');
             return a && a.classList.contains('ok') && a.innerText",
            json!([]),
        )
        .await;
    let later = (today + chrono::Days::new(10)).to_string();
    assert!(moved.as_str().unwrap().contains(&later), "{moved}");
    assert_eq!(get_json(&bed, "/api/sit/clock").await["today"], later);
    web.screenshot("clock").await;
    web.click("#clock-reset").await;
    web.until(
        "the clock back to real time",
        "const n = document.getElementById('clock-now');
         return n && n.innerText.includes('förskjutning 0 dagar')",
        json!([]),
    )
    .await;

    web.close().await;
    drop(driver);
    bed.stop().await;
}
