//! Nothing lost: `ntjp serve` is killed with SIGKILL while orders are being submitted, 20
//! times; after every restart TAK holds every order the API acknowledged (and at most the
//! one that was in flight).

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use ntjp_testbed::cli::client;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ntjp");
const CONTRACT: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1";

struct Serve(Child);
impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(state: &Path) -> (Serve, String) {
    let endpoints = state.join("endpoints.json");
    let _ = std::fs::remove_file(&endpoints);
    let child = Command::new(BIN)
        .args(["serve", "--ephemeral-ports", "--state-dir"])
        .arg(state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut serve = Serve(child);
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(&endpoints)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
        {
            return (serve, v["admin"].as_str().unwrap().to_string());
        }
        if let Ok(Some(status)) = serve.0.try_wait() {
            panic!(
                "ntjp serve exited with {status} (state dir {})",
                state.display()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no endpoints.json after 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn consumer(i: u64) -> String {
    format!("TSTNMT2321000156-KILL{i}")
}

fn order(i: u64) -> String {
    format!(
        r#"{{"plattform": "NTJP-TEST", "formatVersion": "1.0", "version": "1",
            "bestallningsTidpunkt": "2026-01-01T00:00:00+0000", "genomforandeTidpunkt": "2026-01-01T00:00:00+0000",
            "utforare": "durability test", "kommentar": "order {i}",
            "inkludera": {{"tjanstekomponenter": [{{"hsaId": "{c}", "beskrivning": "Konsument {i}"}}],
                          "anropsbehorigheter": [{{"logiskAdress": "SE", "tjanstekontrakt": "{CONTRACT}", "tjanstekonsument": "{c}"}}]}},
            "exkludera": {{}}}}"#,
        c = consumer(i)
    )
}

/// The consumers TAK's published export holds.
async fn consumers_in_tak(admin: &str) -> Vec<String> {
    let export = client::get(&format!("{admin}/api/sit/tak/export"))
        .await
        .unwrap()
        .json;
    export["data"]["tjanstekomponent"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["hsaId"].as_str())
        .filter(|h| h.contains("-KILL"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_ordering_loses_no_acknowledged_order() {
    let state = tempfile::tempdir().unwrap();
    let mut acked = 0u64;
    for round in 0..20u64 {
        let (mut serve, admin) = start(state.path());
        // After the restart: every acknowledged order, and at most the one in flight.
        let present = consumers_in_tak(&admin).await;
        for i in 1..=acked {
            assert!(
                present.contains(&consumer(i)),
                "round {round}: acknowledged order {i} was lost"
            );
        }
        assert!(
            !present.contains(&consumer(acked + 2)),
            "round {round}: an order that was never sent"
        );
        if present.contains(&consumer(acked + 1)) {
            acked += 1; // durable but unacknowledged: count it, so the next order gets a new number
        }
        // Submit orders until the kill, which comes after a varying delay.
        let pid = serve.0.id().to_string();
        let delay = Duration::from_millis(40 + (round * 37) % 250);
        let killer = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            Command::new("kill").args(["-KILL", &pid]).status().unwrap();
        });
        loop {
            match client::post(
                &format!("{admin}/api/sit/orders"),
                order(acked + 1).into_bytes(),
            )
            .await
            {
                Ok(a) if a.status.as_u16() == 201 => acked += 1,
                Ok(a) => panic!("round {round}: order {} refused: {}", acked + 1, a.json),
                Err(_) => break, // the process is gone
            }
        }
        killer.await.unwrap();
        let _ = serve.0.wait();
    }
    assert!(
        acked >= 20,
        "too few orders were acknowledged to show anything: {acked}"
    );
    // A last clean start still has them all.
    let (_serve, admin) = start(state.path());
    let present = consumers_in_tak(&admin).await;
    for i in 1..=acked {
        assert!(present.contains(&consumer(i)), "order {i} lost at the end");
    }
}
