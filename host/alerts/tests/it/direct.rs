//! Direct alerts (no row) and the dependency watch, against the same fake Discord and a
//! real SQLite storage that tests close to play "storage is down".

use std::sync::atomic::{AtomicBool, Ordering};

use agenthost_alerts::{Alert, DependencyWatch, MAX_DIRECT, check_fn};

use super::*;

fn direct(kind: &str, severity: &str, message: &str) -> Alert {
    let alert = HostAlert::new(kind_of(kind), Severity::parse(severity), message)
        .field("dependency", "storage");
    Alert::from_host(&alert, 1_700_000_000_000)
}

/// Waits until `channel` of the fake has received `n` messages; returns them.
async fn received(h: &Harness, channel: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = h.discord.to(channel);
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{channel} got {got:#?}, wanted {n}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn direct_alert_reaches_its_routed_channel_while_storage_is_closed() {
    let h = start(&[(ROUTES_VAR, "dependency_down=owner;*=ops")]).await;
    h.storage.close().await;
    assert!(h.storage.ping().await.is_err());
    h.alerts.raise_direct(direct(
        "dependency_down",
        "critical",
        "dependency storage is down",
    ));
    let got = received(&h, "222", 1).await;
    assert_eq!(
        got,
        ["[CRITICAL] dependency_down\ndependency storage is down\ndependency: storage"]
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.discord.to("222").len(), 1, "delivered once");
    assert!(h.discord.to("111").is_empty(), "routed, not broadcast");
    let metrics = h.alerts.metrics().snapshot();
    assert_eq!((metrics.direct, metrics.direct_dropped), (1, 0));
    assert_eq!(metrics.channels["owner"].sent, 1);
    h.stop().await;
}

#[tokio::test]
async fn direct_alert_is_retried_after_a_rate_limit_and_truncated() {
    let h = start(&[]).await;
    h.storage.close().await;
    h.discord.lock().script.push_back(Reply::RateLimited {
        retry_after_secs: 0.3,
    });
    let message = "storage says: ".to_owned() + &"ü".repeat(5000);
    h.alerts
        .raise_direct(direct("dependency_down", "critical", &message));
    let got = received(&h, "111", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.discord.received().len(), 1, "exactly once");
    assert!(got[0].chars().count() <= 2000);
    assert!(got[0].ends_with(MARKER), "{}", got[0]);
    let limited = h.discord.lock().limited.clone();
    assert_eq!(limited.len(), 1);
    assert!(h.discord.received()[0].at - limited[0] >= Duration::from_millis(300));
    let counts = h.alerts.metrics().snapshot().channels["ops"];
    assert_eq!((counts.sent, counts.retried, counts.failed), (1, 1, 0));
    h.stop().await;
}

#[tokio::test]
async fn full_direct_queue_drops_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(None, dir.path(), 4).await.unwrap();
    let discord = FakeDiscord::start().await;
    let dispatcher = Dispatcher::from_config(&config(&discord, &[])).unwrap();
    let alerts = dispatcher.handle();
    // Raised before the dispatcher runs: only the newest MAX_DIRECT wait.
    let extra = 6;
    for i in 0..MAX_DIRECT + extra {
        alerts.raise_direct(direct("dependency_down", "critical", &format!("d{i}")));
    }
    let metrics = alerts.metrics().snapshot();
    assert_eq!(metrics.direct, (MAX_DIRECT + extra) as u64);
    assert_eq!(metrics.direct_dropped, extra as u64);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(dispatcher.run(storage.alerts(), cancel.clone()));
    let h = Harness {
        _dir: dir,
        storage,
        discord,
        alerts,
        cancel,
        task,
    };
    let got = received(&h, "111", MAX_DIRECT).await;
    let mut delivered: Vec<usize> = got
        .iter()
        .map(|c| c.lines().nth(1).unwrap()[1..].parse().unwrap())
        .collect();
    delivered.sort_unstable();
    assert_eq!(delivered, (extra..MAX_DIRECT + extra).collect::<Vec<_>>());
    assert!(
        h.alerts
            .render_prometheus()
            .contains("agenthost_alerts_direct_dropped_total 6\n")
    );
    h.stop().await;
}

#[tokio::test]
async fn storage_down_is_alerted_once_directly() {
    let h = start(&[]).await;
    let cancel = CancellationToken::new();
    let watch = DependencyWatch::new(
        h.storage.clone(),
        h.alerts.clone(),
        Duration::from_millis(300),
    )
    .with_interval(Duration::from_millis(50));
    let task = tokio::spawn(watch.run(cancel.clone()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let closed = Instant::now();
    h.storage.close().await;
    let got = received(&h, "111", 1).await;
    assert!(closed.elapsed() >= Duration::from_millis(300));
    assert!(
        got[0].starts_with(
            "[CRITICAL] dependency_down\ndependency storage is down: failing for at least 300 ms\n\
             dependency: storage\nsince_ms: "
        ),
        "{}",
        got[0]
    );
    assert!(got[0].contains("\nerror: ping failed: "), "{}", got[0]);
    // Still down: nothing more.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.discord.received().len(), 1, "{:#?}", h.discord.received());
    assert_eq!(h.alerts.metrics().snapshot().direct, 1);
    cancel.cancel();
    task.await.unwrap();
    h.stop().await;
}

#[tokio::test]
async fn an_outage_is_one_down_and_one_restored_through_storage() {
    let h = start(&[]).await;
    let healthy = Arc::new(AtomicBool::new(true));
    let check = {
        let healthy = healthy.clone();
        check_fn("queue", move || {
            let ok = healthy.load(Ordering::SeqCst);
            async move {
                if ok {
                    Ok(())
                } else {
                    Err("amqp://agenthost:s3cret@rabbit:5672/%2f refused".to_owned())
                }
            }
        })
    };
    let cancel = CancellationToken::new();
    let watch = DependencyWatch::new(
        h.storage.clone(),
        h.alerts.clone(),
        Duration::from_millis(300),
    )
    .with_interval(Duration::from_millis(50))
    .with_check(check);
    let task = tokio::spawn(watch.run(cancel.clone()));

    // Flapping: failing streaks shorter than the threshold raise nothing.
    for _ in 0..3 {
        healthy.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(120)).await;
        healthy.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    assert!(
        h.discord.received().is_empty(),
        "{:#?}",
        h.discord.received()
    );

    healthy.store(false, Ordering::SeqCst);
    let down = received(&h, "111", 1).await;
    assert!(
        down[0].starts_with(
            "[CRITICAL] dependency_down\ndependency queue is down: failing for at least 300 ms\n\
             dependency: queue\n"
        ),
        "{}",
        down[0]
    );
    assert!(
        down[0].ends_with("error: amqp://agenthost:***@rabbit:5672/%2f refused"),
        "{}",
        down[0]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    healthy.store(true, Ordering::SeqCst);
    let got = received(&h, "111", 2).await;
    assert!(
        got[1].starts_with(
            "[INFO] dependency_restored\ndependency queue is back\ndependency: queue\n"
        ),
        "{}",
        got[1]
    );
    assert!(got[1].contains("\noutage_ms: "), "{}", got[1]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.discord.received().len(), 2, "{:#?}", h.discord.received());
    // Both went through storage: rows, delivered and marked.
    assert_eq!(h.alerts.metrics().snapshot().direct, 0);
    assert_eq!(h.pending().await, 0);
    cancel.cancel();
    task.await.unwrap();
    h.stop().await;
}
