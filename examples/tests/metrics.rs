//! `GET /metrics`: scraped and parsed after a live interview relayed audio both ways.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use preppal_examples::loadtest::client::{self, Schedule, Target};
use preppal_examples::loadtest::peer::LoadPeer;
use preppal_examples::server::{spawn, ServeArgs};

/// `name{labels}` → value, from the text format (comments and `# EOF` skipped).
fn parse(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample line: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number in {line:?}"));
        samples.insert(name.to_owned(), value);
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_live_interview() {
    let peer = LoadPeer::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut args = ServeArgs::offline("127.0.0.1:0".parse().unwrap(), data.path().to_path_buf());
    args.gemini.url = Some(peer.url());
    let server = spawn(&args).await.unwrap();
    let http = reqwest::Client::new();
    let scrape = || async {
        let resp = http
            .get(format!("{}/metrics", server.url()))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
        let body = resp.text().await.unwrap();
        assert!(body.trim_end().ends_with("# EOF"), "{body}");
        parse(&body)
    };
    let before = scrape().await;
    assert!(before["process_resident_memory_bytes"] > 0.0);
    assert!(before.contains_key("process_cpu_seconds"));
    assert_eq!(before["preppal_live_interviews"], 0.0);

    // One interview streams 40 ms frames for 1 s; the peer answers every 100 ms of audio.
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(1);
    let (schedule_tx, schedule_rx) = tokio::sync::watch::channel(None);
    let run = tokio::spawn(client::run(
        0,
        1,
        Target::Preppal(server.url()),
        40,
        Arc::new(tokio::sync::Semaphore::new(1)),
        ready_tx,
        schedule_rx,
    ));
    assert_eq!(ready_rx.recv().await, Some(true));
    let during = scrape().await;
    assert_eq!(during["preppal_live_interviews"], 1.0);
    let start = tokio::time::Instant::now();
    schedule_tx
        .send(Some(Schedule {
            start,
            end: start + Duration::from_secs(1),
            warm_ns: 0,
        }))
        .unwrap();
    let stats = run.await.unwrap();
    assert!(stats.errors.is_empty(), "{:?}", stats.errors);
    assert!(stats.frames_up >= 20 && stats.chunks_down >= 5, "{stats:?}");

    let after = scrape().await;
    let up = after[r#"preppal_frames_relayed_total{direction="client_to_model"}"#];
    let down = after[r#"preppal_frames_relayed_total{direction="model_to_client"}"#];
    assert_eq!(up, stats.frames_up as f64);
    assert_eq!(down, stats.chunks_down as f64);
    assert_eq!(after["preppal_first_model_audio_seconds_count"], 1.0);
    assert!(
        after[r#"preppal_relay_latency_seconds_count{direction="client_to_model"}"#] >= up,
        "{after:?}"
    );
    assert!(after[r#"preppal_relay_latency_seconds_count{direction="model_to_client"}"#] >= 1.0);
    assert!(after["process_cpu_seconds"] > 0.0);
    server.stop();
}
