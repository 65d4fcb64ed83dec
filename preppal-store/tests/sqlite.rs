//! The contract suite against [`SqliteStore`], each case in a fresh temp file, plus checks
//! that only SQLite can show.

use preppal_core::{Speaker, TranscriptEntry};
use preppal_store::testing::SqliteTestFile;
use preppal_store::{ErrorKind, InterviewStore, NewInterview, SqliteStore};

preppal_store::contract_suite!(async {
    SqliteTestFile::create()
        .await
        .expect("temp SQLite database")
});

fn new_interview(user_id: &str) -> NewInterview {
    NewInterview {
        user_id: user_id.to_owned(),
        idempotency_key: "k1".into(),
        persona: "p".into(),
        duration_ms: 60_000,
        job_description_id: None,
        resume_id: None,
        job_description_text: "jd".into(),
        resume_text: "cv".into(),
        plan: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_url_works_and_is_private_to_its_store() {
    let a = preppal_store::open("sqlite::memory:").await.unwrap();
    let b = preppal_store::open("sqlite::memory:").await.unwrap();
    let user = a.upsert_user("ada@example.com", "Ada").await.unwrap();
    let i = a.create_interview(new_interview(&user.id)).await.unwrap();
    // Concurrent creates through the single in-memory connection still make one row.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let a = a.clone();
            let new = new_interview(&user.id);
            tokio::spawn(async move { a.create_interview(new).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().id, i.id);
    }
    assert_eq!(
        b.get_user(&user.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn a_file_keeps_its_data_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested-name.db");
    let path = path.to_str().unwrap();
    let (user, interview) = {
        let store = SqliteStore::open(path).await.unwrap();
        let user = store.upsert_user("ada@example.com", "Ada").await.unwrap();
        let interview = store
            .create_interview(new_interview(&user.id))
            .await
            .unwrap();
        store.close().await;
        (user, interview)
    };
    // Reopening applies the migrations again (a no-op) and finds the data, by URL this time.
    let store = SqliteStore::open(&format!("sqlite:{path}")).await.unwrap();
    assert_eq!(store.get_user(&user.id).await.unwrap(), user);
    assert_eq!(
        store.get_interview(&user.id, &interview.id).await.unwrap(),
        interview
    );
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn deleting_an_interview_deletes_its_rows() {
    let db = SqliteTestFile::create().await.unwrap();
    let store = db.sqlite();
    let user = store.upsert_user("ada@example.com", "Ada").await.unwrap();
    let i = store
        .create_interview(new_interview(&user.id))
        .await
        .unwrap();
    let entry = TranscriptEntry {
        sequence: 0,
        speaker: Speaker::Ai,
        text: "Hi".into(),
        start_ms: 0,
        end_ms: 1,
        interrupted: false,
        heard_text: None,
    };
    store.append_transcript(&i.id, &[entry]).await.unwrap();
    store
        .put_feedback(&i.id, &preppal_core::feedback::deterministic_feedback(&[]))
        .await
        .unwrap();
    store.claim_lease(&i.id, "w", 1_000, 0).await.unwrap();
    store.delete_interview(&user.id, &i.id).await.unwrap();
    for table in ["transcript_entries", "feedback", "leases", "interviews"] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} still has rows");
    }
}

#[tokio::test]
async fn a_real_database_error_does_not_leak() {
    let db = SqliteTestFile::create().await.unwrap();
    let store = db.sqlite();
    let user = store.upsert_user("ada@example.com", "Ada").await.unwrap();
    let i = store
        .create_interview(new_interview(&user.id))
        .await
        .unwrap();
    sqlx::query("DROP TABLE transcript_entries")
        .execute(store.pool())
        .await
        .unwrap();
    let err = store.get_transcript(&i.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    assert_eq!(err.to_string(), "the database failed");
    let source = std::error::Error::source(&err).expect("the database error is kept for logs");
    assert!(
        source.to_string().contains("transcript_entries"),
        "{source}"
    );
}

/// A transcript row written before migration 0005 (no `interrupted`, no `heard_text`)
/// reads as not interrupted once the store applies it, and can then be amended with a
/// barge-in.
#[tokio::test]
async fn a_row_from_before_barge_ins_reads_not_interrupted() {
    use std::borrow::Cow;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut before = sqlx::migrate!("./migrations/sqlite");
    let migrations: Vec<_> = before
        .migrations
        .iter()
        .filter(|m| m.version <= 4)
        .cloned()
        .collect();
    assert_eq!(migrations.len(), 4);
    before.migrations = Cow::Owned(migrations);
    before.run(&pool).await.unwrap();
    sqlx::query(
        "INSERT INTO users (id, email, name, created_at_ms) VALUES ('u1', 'ada@example.com', 'Ada', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO interviews (id, user_id, idempotency_key, status, persona, duration_ms, \
         job_description_snapshot, resume_snapshot, created_at_ms) \
         VALUES ('i1', 'u1', 'k1', 'IN_PROGRESS', 'p', 60000, 'jd', 'cv', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO transcript_entries (interview_id, sequence, speaker, text, start_ms, end_ms) \
         VALUES ('i1', 0, 'AI', 'Tell me about yourself.', 0, 900)",
    )
    .execute(&pool)
    .await
    .unwrap();

    let store = SqliteStore::from_pool(pool).await.unwrap();
    let read = store.get_transcript("i1").await.unwrap();
    let old = TranscriptEntry {
        sequence: 0,
        speaker: Speaker::Ai,
        text: "Tell me about yourself.".into(),
        start_ms: 0,
        end_ms: 900,
        interrupted: false,
        heard_text: None,
    };
    assert_eq!(read, vec![old.clone()]);
    let cut = TranscriptEntry {
        interrupted: true,
        heard_text: Some("Tell me".into()),
        ..old
    };
    assert_eq!(
        store
            .append_transcript("i1", std::slice::from_ref(&cut))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.get_transcript("i1").await.unwrap(), vec![cut]);
}
