//! Store benchmarks: transcript appends in batches of 1, 10 and 100 entries, and one
//! history page (limit 20 over 200 interviews), on SQLite (a temp file) and PostgreSQL (a
//! database of its own, dropped afterwards).
//!
//! PostgreSQL is the server at `PREPPAL_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); when it cannot be reached its benches
//! are skipped with a note. Run with `cargo bench -p preppal-benches --bench store`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use preppal_core::{Speaker, TranscriptEntry};
use preppal_store::testing::{PgTestDatabase, SqliteTestFile, StoreFixture};
use preppal_store::{InterviewStore, NewInterview, PageRequest};
use tokio::runtime::Runtime;

const BATCH_SIZES: [u32; 3] = [1, 10, 100];
const HISTORY_INTERVIEWS: usize = 200;
const HISTORY_PAGE: u32 = 20;

fn new_interview(user_id: &str, key: &str) -> NewInterview {
    NewInterview {
        user_id: user_id.to_owned(),
        idempotency_key: key.to_owned(),
        persona: "A precise staff engineer".to_owned(),
        duration_ms: 15 * 60 * 1000,
        job_description_id: None,
        resume_id: None,
        job_description_text: "Backend engineer: Rust, PostgreSQL".repeat(20),
        resume_text: "Eight years building payment systems".repeat(20),
        plan: None,
    }
}

/// A batch of `n` entries with fresh sequence numbers, about one spoken sentence each.
fn batch(next_sequence: &AtomicU32, n: u32) -> Vec<TranscriptEntry> {
    let first = next_sequence.fetch_add(n, Ordering::Relaxed);
    (first..first + n)
        .map(|sequence| TranscriptEntry {
            sequence,
            speaker: if sequence % 2 == 0 {
                Speaker::Ai
            } else {
                Speaker::User
            },
            text: "I would start by measuring where the latency goes before changing anything."
                .to_owned(),
            start_ms: u64::from(sequence) * 4_000,
            end_ms: u64::from(sequence) * 4_000 + 3_500,
            interrupted: false,
            heard_text: None,
        })
        .collect()
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, backend: &str, store: Arc<dyn InterviewStore>) {
    let (append_id, history_user) = rt.block_on(async {
        let user = store
            .upsert_user("bench@example.com", "Bench")
            .await
            .expect("user");
        let append = store
            .create_interview(new_interview(&user.id, "append"))
            .await
            .expect("interview");
        let reader = store
            .upsert_user("history@example.com", "History")
            .await
            .expect("user");
        for n in 0..HISTORY_INTERVIEWS {
            store
                .create_interview(new_interview(&reader.id, &format!("h{n}")))
                .await
                .expect("history interview");
        }
        (append.id, reader.id)
    });

    let mut group = c.benchmark_group(format!("transcript_append/{backend}"));
    let next_sequence = AtomicU32::new(0);
    for n in BATCH_SIZES {
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter_custom(|iters| {
                let batches: Vec<_> = (0..iters).map(|_| batch(&next_sequence, n)).collect();
                rt.block_on(async {
                    let start = Instant::now();
                    for entries in &batches {
                        let stored = store
                            .append_transcript(&append_id, entries)
                            .await
                            .expect("append");
                        assert_eq!(stored, n);
                    }
                    start.elapsed()
                })
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group(format!("history_page/{backend}"));
    group.bench_function(
        format!("limit{HISTORY_PAGE}_of_{HISTORY_INTERVIEWS}"),
        |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let page = store
                            .list_interviews(&history_user, PageRequest::first(HISTORY_PAGE))
                            .await
                            .expect("page");
                        assert_eq!(page.items.len(), 20);
                    }
                    start.elapsed()
                })
            });
        },
    );
    group.finish();
}

fn store_benches(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");

    let sqlite = rt
        .block_on(SqliteTestFile::create())
        .expect("temp SQLite database");
    bench_backend(c, &rt, "sqlite", sqlite.store());
    drop(sqlite);

    match rt.block_on(PgTestDatabase::create()) {
        Ok(pg) => {
            bench_backend(c, &rt, "postgres", pg.store());
            drop(pg);
        }
        Err(e) => println!(
            "note: skipping the PostgreSQL benches: no server at {} ({e})",
            PgTestDatabase::server_url()
        ),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = store_benches
}
criterion_main!(benches);
