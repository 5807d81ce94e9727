//! The split testbed as real processes behind a real load balancer (issue 13, point 5): one
//! order service, one mocks node and three router nodes (`ntjp serve --role ...`), with
//! Debian's haproxy in front terminating the consumers' mutual TLS and passing the
//! certificate on in `x-vp-auth-cert` (as NTjP's own load balancers do), health-checking each
//! router's `/health/ready`.
//!
//! Shown, in order: the README's curl example works through haproxy; an order published
//! reaches all three routers; a router killed with SIGKILL under load is taken out and every
//! request is still answered; with the order service stopped the routers keep routing, and the
//! killed router, started again meanwhile, starts from its local TAK copy.

mod common;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::{BodyExt, Full};
use ntjp_testbed::cli::client;
use serde_json::Value;

/// Child processes, killed when the test ends however it ends.
struct Procs(Vec<(String, Child)>);

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, c) in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Procs {
    fn child(&mut self, name: &str) -> &mut Child {
        &mut self.0.iter_mut().find(|(n, _)| n == name).unwrap().1
    }
    fn replace(&mut self, name: &str, child: Child) {
        let slot = self.0.iter_mut().find(|(n, _)| n == name).unwrap();
        slot.1 = child;
    }
}

/// The ports of one router node.
#[derive(Clone, Copy)]
struct RouterPorts {
    admin: u16,
    https: u16,
    http: u16,
}

struct Layout {
    dir: PathBuf,
    orders_admin: u16,
    mocks_admin: u16,
    mocks: u16,
    routers: [RouterPorts; 3],
    front: u16,
    stats: u16,
}

impl Layout {
    fn pki(&self) -> PathBuf {
        self.dir.join("pki")
    }
    fn url(port: u16) -> String {
        format!("http://127.0.0.1:{port}")
    }
}

/// `ntjp serve --role <role>` with its settings as `NTJP_*` variables; its log in
/// `<dir>/<name>.log`.
fn spawn(layout: &Layout, name: &str, role: &str, vars: &[(&str, String)]) -> Child {
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(layout.dir.join(format!("{name}.log")))
        .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ntjp"));
    cmd.args(["serve", "--role", role, "--state-dir"])
        .arg(layout.dir.join(name))
        .env("NTJP_PKI__DIR", layout.pki())
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(log);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn spawn_router(layout: &Layout, i: usize) -> Child {
    let p = layout.routers[i];
    spawn(
        layout,
        &format!("r{}", i + 1),
        "router",
        &[
            ("NTJP_ADMIN", format!("127.0.0.1:{}", p.admin)),
            (
                "NTJP_ENVIRONMENTS__SIT__HTTPS",
                format!("127.0.0.1:{}", p.https),
            ),
            (
                "NTJP_ENVIRONMENTS__SIT__HTTP",
                format!("127.0.0.1:{}", p.http),
            ),
            ("NTJP_CLUSTER__ENVIRONMENTS", "[\"sit\"]".into()),
            ("NTJP_CLUSTER__ORDERS_URL", Layout::url(layout.orders_admin)),
        ],
    )
}

fn spawn_orders(layout: &Layout) -> Child {
    let routers: Vec<String> = layout
        .routers
        .iter()
        .map(|r| Layout::url(r.admin))
        .collect();
    spawn(
        layout,
        "orders",
        "orders",
        &[
            ("NTJP_ADMIN", format!("127.0.0.1:{}", layout.orders_admin)),
            (
                "NTJP_CLUSTER__ROUTERS",
                serde_json::to_string(&routers).unwrap(),
            ),
            (
                "NTJP_CLUSTER__MOCKS_URL",
                format!("https://localhost:{}/mocks", layout.mocks),
            ),
            ("NTJP_ENVIRONMENTS__SIT__AUTO_PUBLISH", "false".into()),
        ],
    )
}

/// Waits until `url` answers 200, failing at once (with its log) if the process `name` exits.
async fn wait_ready(name: &str, url: String, procs: &mut Procs, dir: &Path) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(a) = client::get(&url).await
            && a.status.as_u16() == 200
        {
            return;
        }
        if let Ok(Some(status)) = procs.child(name).try_wait() {
            let log = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
            panic!("{name} exited ({status}) before {url} answered 200:\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "{name}: {url} not ready within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn haproxy_config(layout: &Layout) -> String {
    let servers: String = layout
        .routers
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "  server r{} 127.0.0.1:{} check port {}\n",
                i + 1,
                r.http,
                r.admin
            )
        })
        .collect();
    format!(
        "global\n  maxconn 2048\n\
defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n  retries 3\n  option redispatch 1\n  retry-on conn-failure empty-response response-timeout\n  option http-buffer-request\n\
frontend vp\n  bind 127.0.0.1:{front} ssl crt {dir}/haproxy.pem ca-file {pki}/ca.pem verify required\n  http-request set-header x-vp-auth-cert %[ssl_c_der,base64]\n  default_backend routers\n\
backend routers\n  balance roundrobin\n  option httpchk GET /health/ready\n  http-check expect status 200\n  default-server inter 200ms fall 1 rise 1\n{servers}\
listen stats\n  bind 127.0.0.1:{stats}\n  stats enable\n  stats uri /stats\n",
        front = layout.front,
        stats = layout.stats,
        dir = layout.dir.display(),
        pki = layout.pki().display(),
    )
}

/// haproxy's view of a server: `UP`, `DOWN`, ... from its stats CSV.
async fn server_status(layout: &Layout, server: &str) -> String {
    // Not listening yet while haproxy starts: no status.
    let Ok(a) = client::get(&format!("http://127.0.0.1:{}/stats;csv", layout.stats)).await else {
        return String::new();
    };
    let Value::String(csv) = a.json else {
        return String::new();
    };
    csv.lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f.len() > 17 && f[0] == "routers" && f[1] == server)
        .map(|f| f[17].to_string())
        .unwrap_or_default()
}

/// One consumer on one keep-alive connection through haproxy until `until`; each request's
/// start and outcome (a new connection after a failed one).
async fn consumer_loop(
    client: Client,
    front: SocketAddr,
    body: Bytes,
    until: Instant,
) -> Vec<(Instant, Result<(), String>)> {
    let mut results = Vec::new();
    let mut sender = None;
    while Instant::now() < until {
        let started = Instant::now();
        if sender.is_none() {
            match client.connect(front).await {
                Ok(tls) => {
                    match hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                        .await
                    {
                        Ok((s, conn)) => {
                            tokio::spawn(conn);
                            sender = Some(s);
                        }
                        Err(e) => {
                            results.push((started, Err(format!("handshake: {e}"))));
                            continue;
                        }
                    }
                }
                Err(e) => {
                    results.push((started, Err(format!("connect: {e}"))));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(s) = sender.as_mut() else { continue };
        let req = Request::post("/vp/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21")
            .header("host", "localhost")
            .header("content-type", "text/xml; charset=UTF-8")
            .body(Full::new(body.clone()))
            .unwrap();
        let outcome = match tokio::time::timeout(Duration::from_secs(30), s.send_request(req)).await
        {
            Ok(Ok(resp)) => {
                let status = resp.status();
                match resp.into_body().collect().await.map(|b| b.to_bytes()) {
                    Ok(b) if status == 200 && String::from_utf8_lossy(&b).contains(">OK<") => {
                        Ok(())
                    }
                    Ok(b) => Err(format!("{status}: {}", String::from_utf8_lossy(&b))),
                    Err(e) => Err(format!("body: {e}")),
                }
            }
            Ok(Err(e)) => Err(format!("request: {e}")),
            Err(_) => Err("no answer within 30 s".into()),
        };
        if outcome.is_err() {
            sender = None;
        }
        results.push((started, outcome));
    }
    results
}

fn pem_concat(pki: &Path, out: &Path) {
    let mut pem = std::fs::read(pki.join("platform.pem")).unwrap();
    pem.extend(std::fs::read(pki.join("platform-key.pem")).unwrap());
    std::fs::write(out, pem).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_routers_behind_haproxy_survive_a_killed_router_and_a_stopped_order_service() {
    let haproxy = install::tool("haproxy", "haproxy");
    let curl = install::curl();
    let dir = tempfile::tempdir().unwrap();
    let router_ports = || RouterPorts {
        admin: free_port(),
        https: free_port(),
        http: free_port(),
    };
    let layout = Layout {
        dir: dir.path().to_path_buf(),
        orders_admin: free_port(),
        mocks_admin: free_port(),
        mocks: free_port(),
        routers: [router_ports(), router_ports(), router_ports()],
        front: free_port(),
        stats: free_port(),
    };
    let mut procs = Procs(Vec::new());
    // The mocks node starts first and creates the shared PKI.
    procs.0.push((
        "mocks".into(),
        spawn(
            &layout,
            "mocks",
            "mocks",
            &[
                ("NTJP_ADMIN", format!("127.0.0.1:{}", layout.mocks_admin)),
                ("NTJP_MOCKS", format!("127.0.0.1:{}", layout.mocks)),
            ],
        ),
    ));
    wait_ready(
        "mocks",
        format!("{}/health/ready", Layout::url(layout.mocks_admin)),
        &mut procs,
        &layout.dir,
    )
    .await;
    procs.0.push(("orders".into(), spawn_orders(&layout)));
    wait_ready(
        "orders",
        format!("{}/health/ready", Layout::url(layout.orders_admin)),
        &mut procs,
        &layout.dir,
    )
    .await;
    for i in 0..3 {
        procs
            .0
            .push((format!("r{}", i + 1), spawn_router(&layout, i)));
    }
    for (i, r) in layout.routers.iter().enumerate() {
        wait_ready(
            &format!("r{}", i + 1),
            format!("{}/health/ready", Layout::url(r.admin)),
            &mut procs,
            &layout.dir,
        )
        .await;
    }
    pem_concat(&layout.pki(), &layout.dir.join("haproxy.pem"));
    let cfg = layout.dir.join("haproxy.cfg");
    std::fs::write(&cfg, haproxy_config(&layout)).unwrap();
    let check = Command::new(&haproxy)
        .arg("-c")
        .arg("-f")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "haproxy -c: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let lb = Command::new(&haproxy)
        .arg("-db")
        .arg("-f")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(layout.dir.join("haproxy.log")).unwrap())
        .spawn()
        .unwrap();
    procs.0.push(("haproxy".into(), lb));
    for i in 1..=3 {
        let s = format!("r{i}");
        wait_for(&format!("haproxy sees {s} UP"), || {
            let (layout, s) = (&layout, s.clone());
            async move { server_status(layout, &s).await == "UP" }
        })
        .await;
    }

    // 1. The README's curl example, through haproxy.
    let pki = layout.pki();
    let out = Command::new(&curl)
        .args(["-sS", "--fail-with-body", "--cert"])
        .arg(pki.join("consumer.pem"))
        .arg("--key")
        .arg(pki.join("consumer-key.pem"))
        .arg("--cacert")
        .arg(pki.join("ca.pem"))
        .args(["-H", "Content-Type: text/xml; charset=UTF-8", "--data-binary"])
        .arg(format!("@{}/fixtures/requests/cervix-01.xml", env!("CARGO_MANIFEST_DIR")))
        .arg(format!(
            "https://localhost:{}/vp/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21",
            layout.front
        ))
        .output()
        .unwrap();
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "curl: {answer} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(answer.contains(">OK<"), "{answer}");

    // 2. An order published reaches all three routers.
    let consumer = Client::new(
        &pki.join("ca.pem"),
        Some((&pki.join("consumer.pem"), &pki.join("consumer-key.pem"))),
    );
    let endpoints: Value = serde_json::from_str(
        &std::fs::read_to_string(layout.dir.join("orders/endpoints.json")).unwrap(),
    )
    .unwrap();
    let unauthorised_id = endpoints["pki"]["unauthorised_hsa_id"]
        .as_str()
        .unwrap()
        .to_string();
    let unauthorised = Client::new(
        &pki.join("ca.pem"),
        Some((
            &pki.join("unauthorised.pem"),
            &pki.join("unauthorised-key.pem"),
        )),
    );
    let direct = |i: usize| SocketAddr::from(([127, 0, 0, 1], layout.routers[i].https));
    for i in 0..3 {
        unauthorised
            .post(direct(i), cervix_request("14"), &[])
            .await
            .unwrap()
            .vp("VP007");
    }
    let admin = Layout::url(layout.orders_admin);
    let order = authorise_order(&unauthorised_id);
    let a = client::post(&format!("{admin}/api/sit/orders"), order.into_bytes())
        .await
        .unwrap();
    assert!(a.status.is_success(), "{}", a.json);
    publish_to_routers(&admin, 3).await;
    for i in 0..3 {
        assert_eq!(
            assert_ok(
                &unauthorised
                    .post(direct(i), cervix_request("14"), &[])
                    .await
                    .unwrap()
            ),
            "14"
        );
    }

    // 3. Router 1 killed (SIGKILL) under load: every request is answered.
    let front = SocketAddr::from(([127, 0, 0, 1], layout.front));
    let body = Bytes::from(cervix_request("14"));
    let until = Instant::now() + Duration::from_secs(4);
    let loops: Vec<_> = (0..4)
        .map(|_| tokio::spawn(consumer_loop(consumer.clone(), front, body.clone(), until)))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed_at = Instant::now();
    procs.child("r1").kill().unwrap();
    let _ = procs.child("r1").wait();
    let mut before = (0, 0);
    let mut after = (0, 0);
    let mut failures = Vec::new();
    for l in loops {
        for (at, outcome) in l.await.unwrap() {
            let tally = if at < killed_at {
                &mut before
            } else {
                &mut after
            };
            match outcome {
                Ok(()) => tally.0 += 1,
                Err(e) => {
                    tally.1 += 1;
                    failures.push(format!(
                        "{:?} after the kill: {e}",
                        at.checked_duration_since(killed_at)
                    ));
                }
            }
        }
    }
    println!(
        "requests before the kill: {} answered, {} failed; after: {} answered, {} failed",
        before.0, before.1, after.0, after.1
    );
    assert!(after.0 > 0 && before.0 > 0, "{before:?} {after:?}");
    assert!(failures.is_empty(), "requests not answered: {failures:#?}");
    wait_for("haproxy takes the killed router out", || async {
        server_status(&layout, "r1").await.starts_with("DOWN")
    })
    .await;

    // 4. The order service stops: the routers route from their loaded TAK; router 1, started
    // again meanwhile, starts from its local copy and serves the published authorisation.
    procs.child("orders").kill().unwrap();
    let _ = procs.child("orders").wait();
    assert_eq!(
        assert_ok(
            &unauthorised
                .post(front, cervix_request("14"), &[])
                .await
                .unwrap()
        ),
        "14"
    );
    procs.replace("r1", spawn_router(&layout, 0));
    let r1_admin = Layout::url(layout.routers[0].admin);
    wait_ready(
        "r1",
        format!("{r1_admin}/health/ready"),
        &mut procs,
        &layout.dir,
    )
    .await;
    let status = client::get(&format!("{r1_admin}/status"))
        .await
        .unwrap()
        .json;
    assert!(
        status["TakCacheResetInfo"]
            .as_str()
            .unwrap_or("")
            .contains("Status:RESTORED_FROM_LOCAL_CACHE"),
        "{status}"
    );
    assert_eq!(
        assert_ok(
            &unauthorised
                .post(direct(0), cervix_request("14"), &[])
                .await
                .unwrap()
        ),
        "14"
    );
    wait_for("haproxy takes router 1 back", || async {
        server_status(&layout, "r1").await == "UP"
    })
    .await;
    for _ in 0..6 {
        assert_eq!(
            assert_ok(
                &consumer
                    .post(front, cervix_request("14"), &[])
                    .await
                    .unwrap()
            ),
            "14"
        );
    }
}
