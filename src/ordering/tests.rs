//! The writer's guarantees, driven through its job interface: a change abandoned before its
//! journal write changes nothing; one journaled when shutdown begins is finished or reported
//! as journaled; a panic before the journal write is survived, one after it stops changes.

use std::{path::Path, sync::mpsc as std_mpsc};

use super::*;
use crate::config::Config;

/// A start-up order for `platform`: one logical address.
fn startup_order(platform: &str) -> String {
    format!(
        r#"{{"plattform": "{platform}", "formatVersion": "1.0", "version": "1",
            "bestallningsTidpunkt": "2025-01-01T00:00:00+0000", "genomforandeTidpunkt": "2025-01-01T00:00:00+0000",
            "utforare": "test", "kommentar": "start",
            "inkludera": {{"logiskadresser": [{{"hsaId": "START", "beskrivning": "Start"}}]}}, "exkludera": {{}}}}"#
    )
}

fn open(journal: Option<&Path>) -> Opened {
    let config = Config::default();
    OrderService::open(&config, "https://mocks.invalid/mocks", journal, &|env| {
        let platform = &config.environments.get(env).platform;
        Ok(vec![("start.json".into(), startup_order(platform))])
    })
    .unwrap()
}

fn clock_event(offset_days: i64) -> Event {
    Event::Clock {
        env: EnvName::Sit,
        offset_days,
    }
}

async fn wait_idle(p: &OrderService) {
    while p.activity().running || p.activity().queued > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn reads_and_changes_work_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let opened = open(Some(&journal));
    assert_eq!(opened.replayed, 0);
    let p = opened.platforms;
    assert_eq!(p.view(EnvName::Sit).versions.len(), 1);
    assert_eq!(p.orders(EnvName::Sit).len(), 1);
    assert_eq!(
        p.move_clock(EnvName::Sit, ClockMove::Advance(2))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        p.move_clock(EnvName::Sit, ClockMove::Advance(3))
            .await
            .unwrap(),
        5
    );
    drop(p);

    let again = open(Some(&journal));
    assert_eq!(
        again.replayed,
        3 * 2 + 2,
        "three orders and publishes, two clock moves"
    );
    let p = again.platforms;
    assert_eq!(p.platform(EnvName::Sit).clock.offset_days(), 5);
    assert_eq!(p.order(EnvName::Qa, 1).unwrap().published_version, Some(1));
    assert!(p.order(EnvName::Qa, 2).is_err());
}

#[tokio::test]
async fn a_change_not_yet_journaled_when_shutdown_begins_is_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let p = open(Some(&journal)).platforms;
    let (go_tx, go_rx) = std_mpsc::channel::<()>();
    let (done_tx, done_rx) = std_mpsc::channel();
    let waiting = {
        let p = p.clone();
        tokio::spawn(async move {
            p.change(move |core, shared, gate| {
                // Long order work, then the journal write.
                let _ = go_rx.recv();
                let r = apply_event(core, shared, &clock_event(7), Utc::now(), gate);
                let _ = done_tx.send(r.is_ok());
                r.map(|_| ())
            })
            .await
        })
    };
    while !p.activity().running {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    p.stop();
    assert!(matches!(
        waiting.await.unwrap(),
        Err(ServiceError::ShuttingDown)
    ));
    go_tx.send(()).unwrap();
    assert!(!done_rx.recv().unwrap(), "the abandoned change went ahead");
    assert_eq!(p.platform(EnvName::Sit).clock.offset_days(), 0);
    // Further changes are refused at once; reads still answer.
    assert!(matches!(
        p.set_auto_publish(EnvName::Sit, false).await,
        Err(ServiceError::ShuttingDown)
    ));
    assert_eq!(p.orders(EnvName::Sit).len(), 1);
    wait_idle(&p).await;
    drop(p);
    let again = open(Some(&journal));
    assert_eq!(again.replayed, 6, "nothing but the start-up entries");
}

#[tokio::test]
async fn a_change_journaled_when_shutdown_begins_is_finished_or_reported_journaled() {
    for finish in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("journal.jsonl");
        let p = open(Some(&journal)).platforms;
        let (claimed_tx, claimed_rx) = oneshot::channel();
        let (go_tx, go_rx) = std_mpsc::channel::<()>();
        let waiting = {
            let p = p.clone();
            tokio::spawn(async move {
                p.change(move |core, shared, gate| {
                    let event = clock_event(3);
                    core.commit(gate, Utc::now(), &event)?;
                    let _ = claimed_tx.send(());
                    // Executing the order in place.
                    let _ = go_rx.recv();
                    shared.platform(EnvName::Sit).clock.set_offset_days(3);
                    Ok(())
                })
                .await
            })
        };
        claimed_rx.await.unwrap();
        p.stop();
        if finish {
            go_tx.send(()).unwrap();
            waiting.await.unwrap().unwrap();
            assert_eq!(p.platform(EnvName::Sit).clock.offset_days(), 3);
        } else {
            assert!(matches!(
                waiting.await.unwrap(),
                Err(ServiceError::Journaled)
            ));
            go_tx.send(()).unwrap();
        }
        wait_idle(&p).await;
        drop(p);
        let again = open(Some(&journal));
        assert_eq!(again.replayed, 7);
        assert_eq!(
            again.platforms.platform(EnvName::Sit).clock.offset_days(),
            3
        );
    }
}

#[tokio::test]
async fn a_panic_before_the_journal_is_survived_and_one_after_it_stops_changes() {
    let p = open(None).platforms;
    let before = p
        .change(|_core, _shared, _gate| -> Result<(), ServiceError> { panic!("planning failed") })
        .await;
    assert!(matches!(before, Err(ServiceError::Stopped)));
    assert_eq!(
        p.move_clock(EnvName::Qa, ClockMove::Advance(1))
            .await
            .unwrap(),
        1
    );

    let after = p
        .change(|core, _shared, gate| -> Result<(), ServiceError> {
            core.commit(gate, Utc::now(), &clock_event(1))?;
            panic!("executing failed")
        })
        .await;
    assert!(matches!(after, Err(ServiceError::Stopped)));
    assert!(matches!(
        p.move_clock(EnvName::Qa, ClockMove::Advance(1)).await,
        Err(ServiceError::Stopped)
    ));
    // Reads still answer from the last published state.
    assert_eq!(p.platform(EnvName::Qa).clock.offset_days(), 1);
    assert_eq!(p.view(EnvName::Qa).versions.len(), 1);
}

#[tokio::test]
async fn due_connection_tests_are_grouped_by_producer_and_recorded_in_one_change() {
    let p = open(None).platforms;
    let today = p.platform(EnvName::Sit).clock.today().format("%Y-%m-%d");
    let routes: Vec<String> = (0..30)
        .map(|i| {
            format!(
                r#"{{"adress": "{{{{mocks}}}}/P{}/x", "logiskAdress": "A{i}", "tjanstekontrakt": "urn:x:y:1", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "PROD{}"}}"#,
                i % 3,
                i % 3
            )
        })
        .collect();
    let order = format!(
        r#"{{"plattform": "{}", "formatVersion": "1.0", "version": "1",
            "bestallningsTidpunkt": "{today}T00:00:00+0000", "genomforandeTidpunkt": "{today}T00:00:00+0000",
            "utforare": "test", "kommentar": "",
            "inkludera": {{
              "tjanstekomponenter": [{{"hsaId": "PROD0", "beskrivning": "p"}}, {{"hsaId": "PROD1", "beskrivning": "p"}}, {{"hsaId": "PROD2", "beskrivning": "p"}}],
              "tjanstekontrakt": [{{"namnrymd": "urn:x:y:1", "beskrivning": "x", "majorVersion": 1}}],
              "logiskadresser": [{}],
              "vagval": [{}]}},
            "exkludera": {{}}}}"#,
        p.platform(EnvName::Sit).name,
        (0..30)
            .map(|i| format!(r#"{{"hsaId": "A{i}", "beskrivning": "a"}}"#))
            .collect::<Vec<_>>()
            .join(","),
        routes.join(",")
    );
    let record = p
        .submit(EnvName::Sit, order, OrderSource::Api, Some(true))
        .await
        .unwrap();
    let due = p.due_tests();
    assert_eq!(due.len(), 3, "one ping per producer URL");
    assert!(due.iter().all(|d| d.tests.len() == 1 && d.routes == 10));
    assert!(due[0].url.starts_with("https://mocks.invalid/mocks/P"));

    let at = Utc::now();
    let detail: Arc<str> = Arc::from("checked");
    let results = due
        .iter()
        .flat_map(|d| d.tests.iter())
        .map(|&test| TestResult {
            test,
            ok: true,
            detail: detail.clone(),
            at,
        })
        .collect();
    p.record_tests(results).await.unwrap();
    assert!(p.due_tests().is_empty());
    let after = p.order(EnvName::Sit, record.id).unwrap();
    assert!(
        after
            .connection_tests
            .iter()
            .all(|t| t.status == TestStatus::Ok && &*t.detail == "checked")
    );
    // The record handed out before is a snapshot: it did not change.
    assert!(
        record
            .connection_tests
            .iter()
            .all(|t| t.status == TestStatus::Pending)
    );
}

#[tokio::test]
async fn the_pending_view_follows_orders_publishes_and_rollbacks() {
    let p = open(None).platforms;
    let platform = p.platform(EnvName::Qa).name.clone();
    let order = startup_order(&platform).replace("START", "PENDING-1");
    p.submit(EnvName::Qa, order, OrderSource::Api, Some(false))
        .await
        .unwrap();
    let view = p.view(EnvName::Qa);
    assert_eq!(view.pending.logical_addresses.len(), 1);
    assert_eq!(view.pending.base_version, Some(1));

    let published = p
        .publish(
            EnvName::Qa,
            PublishInfo {
                executor: "test".into(),
                comment: String::new(),
            },
        )
        .await
        .unwrap();
    let view = p.view(EnvName::Qa);
    assert!(view.pending.is_empty());
    assert_eq!(view.pending.base_version, Some(published.version()));
    assert_eq!(view.versions.len(), 2);
    assert_eq!(view.order(2).unwrap().published_version, Some(2));

    p.rollback(EnvName::Qa, 2).await.unwrap();
    let view = p.view(EnvName::Qa);
    assert_eq!(view.pending.logical_addresses.len(), 1);
    assert_eq!(view.versions.len(), 1);
    assert_eq!(view.order(2).unwrap().published_version, None);
    assert!(matches!(
        p.rollback(EnvName::Qa, 2).await,
        Err(ServiceError::Conflict(_))
    ));
}

#[tokio::test]
async fn changes_past_the_queue_bound_are_refused_at_once() {
    let p = open(None).platforms;
    let (go_tx, go_rx) = std_mpsc::channel::<()>();
    let blocker = {
        let p = p.clone();
        tokio::spawn(async move {
            p.change(move |_core, _shared, _gate| {
                let _ = go_rx.recv();
                Ok(())
            })
            .await
        })
    };
    while !p.activity().running {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let queued: Vec<_> = (0..MAX_QUEUED)
        .map(|i| {
            let p = p.clone();
            tokio::spawn(async move {
                p.move_clock(EnvName::Prod, ClockMove::Advance(i as i64))
                    .await
            })
        })
        .collect();
    while p.activity().queued < MAX_QUEUED as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(matches!(
        p.set_auto_publish(EnvName::Prod, false).await,
        Err(ServiceError::Busy)
    ));
    go_tx.send(()).unwrap();
    blocker.await.unwrap().unwrap();
    for q in queued {
        q.await.unwrap().unwrap();
    }
    let total: i64 = (0..MAX_QUEUED as i64).sum();
    assert_eq!(p.platform(EnvName::Prod).clock.offset_days(), total);
    assert!(p.platform(EnvName::Prod).auto_publish());
}

/// A generated order of `rows` routes (with as many authorisations and logical addresses)
/// from `first`, executed on `day`.
fn bulk_order(platform: &str, rows: usize, first: usize, day: &str) -> String {
    crate::orders::bulk::BulkOrder {
        platform,
        rows,
        first,
        contract: "urn:riv:x:BulkResponder:1",
        producer: "BULK-PRODUCER",
        url: "{{mocks}}/bulk",
        consumer: "BULK-CONSUMER",
        executes_at: &format!("{day}T00:00:00+0000"),
    }
    .json()
}

/// Everything a replay rebuilds, as comparable values: per environment the versions (with
/// their exports), the catalogue, what is pending, every order whole, the clock and the
/// setting; and the forms.
fn state_of(p: &OrderService) -> Vec<String> {
    let mut out = vec![serde_json::to_string(&*p.forms()).unwrap()];
    for env in EnvName::ALL {
        let view = p.view(env);
        out.push(format!("{env} versions {:?}", view.versions));
        for v in view.versions.iter() {
            let whole = view.version(v.version()).unwrap();
            out.push(crate::tak::export::export_string(&whole));
            out.push(format!("{:?}", whole.catalogue()));
            out.push(format!("{:?}", v.counts()));
        }
        out.push(format!("{:?}", view.catalogue));
        out.push(serde_json::to_string(&*view.pending).unwrap());
        for o in view.orders.iter() {
            let json = p.order_text(o).unwrap();
            out.push(serde_json::to_string(&o.full(&view.catalogue, Some(&json))).unwrap());
            out.push(o.summary().to_string());
        }
        let platform = p.platform(env);
        out.push(format!(
            "clock {} auto {} serves {:?}",
            platform.clock.offset_days(),
            platform.auto_publish(),
            platform.tak.load().as_ref().map(|s| s.version())
        ));
    }
    out
}

fn info(comment: &str) -> PublishInfo {
    PublishInfo {
        executor: "test".into(),
        comment: comment.into(),
    }
}

/// Orders (large enough that their texts stay in the journal), publishes, a rollback, clock
/// and settings changes and a form registration.
async fn a_history(p: &OrderService, offset: usize) {
    let sit = p.platform(EnvName::Sit).name.clone();
    let today = p.platform(EnvName::Sit).clock.today().to_string();
    p.submit(
        EnvName::Sit,
        bulk_order(&sit, 400, 1 + offset, "2025-01-01"),
        OrderSource::Api,
        Some(true),
    )
    .await
    .unwrap();
    p.submit(
        EnvName::Sit,
        bulk_order(&sit, 300, 401 + offset, &today),
        OrderSource::Api,
        Some(false),
    )
    .await
    .unwrap();
    p.publish(EnvName::Sit, info("två")).await.unwrap();
    let latest = p
        .view(EnvName::Sit)
        .versions
        .iter()
        .last()
        .unwrap()
        .version();
    p.rollback(EnvName::Sit, latest).await.unwrap();
    p.publish(EnvName::Sit, info("igen")).await.unwrap();
    // The first order again: every row extended (Uppdaterad), left pending.
    p.submit(
        EnvName::Sit,
        bulk_order(&sit, 400, 1 + offset, "2025-01-01"),
        OrderSource::Api,
        Some(false),
    )
    .await
    .unwrap();
    p.move_clock(EnvName::Qa, ClockMove::Advance(3))
        .await
        .unwrap();
    p.set_auto_publish(EnvName::Prod, false).await.unwrap();
    p.register_prestudy(crate::orders::forms::PreStudy {
        case_number: format!("FS-{offset}"),
        organisation: "Region Test".into(),
        approved_for: vec![EnvName::Sit],
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_start_from_the_checkpoint_and_the_journal_after_it_equals_a_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let p = open(Some(&journal)).platforms;
    a_history(&p, 0).await;
    assert!(p.checkpoint_now().await.unwrap());
    let at = p.view(EnvName::Sit).orders.len();
    // The tail: more of the same after the checkpoint.
    a_history(&p, 10_000).await;
    wait_idle(&p).await;
    drop(p);

    // The same journal without the checkpoint, elsewhere.
    let whole = tempfile::tempdir().unwrap();
    let copy = whole.path().join("journal.jsonl");
    std::fs::copy(&journal, &copy).unwrap();

    let from_checkpoint = open(Some(&journal));
    let full = open(Some(&copy));
    assert!(
        from_checkpoint.warning.is_none(),
        "{:?}",
        from_checkpoint.warning
    );
    assert!(from_checkpoint.checkpoint.is_some());
    assert_eq!(full.checkpoint, None);
    assert!(from_checkpoint.replayed > 0 && from_checkpoint.replayed < full.replayed);
    let (a, b) = (from_checkpoint.platforms, full.platforms);
    assert!(a.view(EnvName::Sit).orders.len() > at);
    assert!(
        a.view(EnvName::Sit)
            .orders
            .iter()
            .any(|o| matches!(o.text, OrderText::Journal { .. })),
        "large order texts are read back from the journal"
    );
    let (sa, sb) = (state_of(&a), state_of(&b));
    assert_eq!(sa.len(), sb.len());
    for (x, y) in sa.iter().zip(&sb) {
        assert_eq!(x, y);
    }
    // Both go on alike: the same order gets the same report.
    let sit = a.platform(EnvName::Sit).name.clone();
    let order = bulk_order(&sit, 50, 390, "2025-06-01");
    let ra = a
        .submit(EnvName::Sit, order.clone(), OrderSource::Api, Some(true))
        .await
        .unwrap();
    let rb = b
        .submit(EnvName::Sit, order, OrderSource::Api, Some(true))
        .await
        .unwrap();
    assert_eq!(
        ra.report_text(&a.view(EnvName::Sit).catalogue),
        rb.report_text(&b.view(EnvName::Sit).catalogue)
    );
    let today = a.platform(EnvName::Sit).clock.today();
    let routed = |p: &OrderService| {
        p.platform(EnvName::Sit).tak.load_full().map(|s| {
            s.route("urn:riv:x:BulkResponder:1", "BULK-0010200", today)
                .matches
                .len()
        })
    };
    assert_eq!(routed(&a), Some(1));
    assert_eq!(routed(&a), routed(&b));
}

#[tokio::test]
async fn a_damaged_or_stale_checkpoint_is_ignored_with_a_warning_and_the_journal_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let p = open(Some(&journal)).platforms;
    a_history(&p, 0).await;
    assert!(p.checkpoint_now().await.unwrap());
    wait_idle(&p).await;
    drop(p);
    let file = checkpoint::path(&journal);
    let good = std::fs::read(&file).unwrap();
    let expected = state_of(&open(Some(&journal)).platforms);

    // A temp file a crash left behind is removed.
    let mut leftover = file.as_os_str().to_os_string();
    leftover.push(".tmp-1-1");
    std::fs::write(&leftover, b"half a checkpoint").unwrap();
    drop(open(Some(&journal)));
    assert!(!std::path::Path::new(&leftover).exists());

    // A flipped byte: damaged.
    let mut bytes = good.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&file, &bytes).unwrap();
    let opened = open(Some(&journal));
    let w = opened.warning.clone().unwrap();
    assert!(
        w.contains(&file.display().to_string())
            && w.contains("damaged")
            && w.contains("replayed from the start"),
        "{w}"
    );
    assert_eq!(opened.checkpoint, None);
    assert_eq!(state_of(&opened.platforms), expected);
    drop(opened);

    // Cut short.
    std::fs::write(&file, &good[..good.len() - 3]).unwrap();
    let opened = open(Some(&journal));
    assert!(opened.warning.unwrap().contains("damaged"));

    // Another mocks base URL: made with another configuration.
    std::fs::write(&file, &good).unwrap();
    let config = Config::default();
    let other = OrderService::open(
        &config,
        "https://elsewhere.invalid/mocks",
        Some(&journal),
        &|_| Ok(Vec::new()),
    )
    .unwrap();
    assert!(other.warning.unwrap().contains("another configuration"));
    assert_eq!(other.checkpoint, None);

    // Beside another journal that does not hold its entry: stale.
    let elsewhere = tempfile::tempdir().unwrap();
    let journal2 = elsewhere.path().join("journal.jsonl");
    drop(open(Some(&journal2)));
    std::fs::write(checkpoint::path(&journal2), &good).unwrap();
    let opened = open(Some(&journal2));
    let w = opened.warning.unwrap();
    assert!(
        w.contains("does not hold") && w.contains(&journal2.display().to_string()),
        "{w}"
    );
    assert_eq!(opened.checkpoint, None);
}

#[tokio::test]
async fn with_a_checkpoint_a_changed_start_up_export_is_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("tak-qa.json");
    let mut source = crate::tak::Store::new("NTJP-QA");
    let first = source.publish("admin", "export", Utc::now());
    std::fs::write(&export, crate::tak::export::export_string(&first)).unwrap();
    let mut config = Config::default();
    config.environments.qa.tak_export = Some(export.clone());
    let journal = dir.path().join("journal.jsonl");
    let start = |config: &Config| {
        OrderService::open(
            config,
            "https://mocks.invalid/mocks",
            Some(&journal),
            &|env| {
                let platform = &config.environments.get(env).platform;
                Ok(vec![("start.json".into(), startup_order(platform))])
            },
        )
    };
    let p = start(&config).unwrap().platforms;
    p.move_clock(EnvName::Qa, ClockMove::Advance(1))
        .await
        .unwrap();
    assert!(p.checkpoint_now().await.unwrap());
    drop(p);
    let again = start(&config).unwrap();
    assert!(again.checkpoint.is_some(), "{:?}", again.warning);
    assert_eq!(again.platforms.platform(EnvName::Qa).clock.offset_days(), 1);
    drop(again);

    source.publish("admin", "another", Utc::now());
    let other = source.latest_snapshot().unwrap();
    std::fs::write(&export, crate::tak::export::export_string(&other)).unwrap();
    let err = start(&config).err().unwrap().to_string();
    assert!(err.contains(&export.display().to_string()), "{err}");
}

/// A clock offset journaled (and checkpointed) before offsets were checked: the checkpoint is
/// set aside with a warning-worthy reason, and the replay refuses the entry itself, naming the
/// journal, its line and its seq.
#[tokio::test]
async fn a_clock_out_of_range_in_the_journal_and_checkpoint_refuses_the_start_by_entry() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let p = open(Some(&journal)).platforms;
    let bad = 200_000_000_000_000_i64;
    // What the unchecked version did: journal the offset, then set it.
    let place = p
        .change(move |core, shared, gate| {
            core.commit(gate, Utc::now(), &clock_event(bad))?;
            shared.platform(EnvName::Sit).clock.set_offset_days(bad);
            Ok(gate.entry)
        })
        .await
        .unwrap();
    let (seq, place) = place.unwrap();
    assert!(p.checkpoint_now().await.unwrap());
    wait_idle(&p).await;
    drop(p);
    let config = Config::default();
    let e = OrderService::open(
        &config,
        "https://mocks.invalid/mocks",
        Some(&journal),
        &|_| Ok(Vec::new()),
    )
    .err()
    .expect("the start is refused")
    .to_string();
    assert!(e.contains(&journal.display().to_string()), "{e}");
    assert!(
        e.contains(&format!("line {} (entry seq {seq})", place.line)),
        "{e}"
    );
    assert!(e.contains(&bad.to_string()), "{e}");
}
