//! The contract suite against [`PgStore`], each case in its own database on the server at
//! `PREPPAL_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! plus checks that only PostgreSQL can show.

use preppal_core::{Speaker, TranscriptEntry};
use preppal_store::testing::PgTestDatabase;
use preppal_store::{ErrorKind, InterviewStore, NewInterview};

preppal_store::contract_suite!(async {
    PgTestDatabase::create()
        .await
        .expect("test database on PostgreSQL")
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

async fn database_exists(name: &str) -> bool {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&PgTestDatabase::server_url())
        .await
        .expect("admin connection");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut admin)
        .await
        .expect("count databases");
    n == 1
}

#[tokio::test]
async fn the_test_database_is_dropped_with_its_guard() {
    let db = PgTestDatabase::create().await.unwrap();
    let name = db.name().to_owned();
    assert!(name.starts_with("preppal_test_"));
    assert!(database_exists(&name).await);
    db.pg().upsert_user("ada@example.com", "Ada").await.unwrap();
    drop(db);
    assert!(!database_exists(&name).await, "{name} was not dropped");
}

#[tokio::test]
async fn open_accepts_both_url_schemes() {
    let db = PgTestDatabase::create().await.unwrap();
    let url = PgTestDatabase::server_url();
    let url = url
        .rsplit_once('/')
        .map(|(root, _)| format!("{root}/{}", db.name()))
        .unwrap();
    for url in [url.clone(), url.replacen("postgres://", "postgresql://", 1)] {
        let store = preppal_store::open(&url).await.unwrap();
        store.upsert_user("ada@example.com", "Ada").await.unwrap();
    }
}

#[tokio::test]
async fn deleting_an_interview_deletes_its_rows() {
    let db = PgTestDatabase::create().await.unwrap();
    let store = db.pg();
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
    // Feedback is a JSONB document that SQL can look into.
    let source: String =
        sqlx::query_scalar("SELECT document->>'source' FROM feedback WHERE interview_id = $1")
            .bind(&i.id)
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(source, "deterministic");
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
    let db = PgTestDatabase::create().await.unwrap();
    let store = db.pg();
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

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // Port 1 on loopback: nothing listens there.
    let err = preppal_store::PgStore::connect("postgres://postgres@127.0.0.1:1/postgres")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err:?}");
}

/// A transcript row written with the columns from before migration 0005 (no `interrupted`,
/// no `heard_text`, as every row stored before it) reads as not interrupted, and can then
/// be amended with a barge-in.
#[tokio::test]
async fn a_row_from_before_barge_ins_reads_not_interrupted() {
    let db = PgTestDatabase::create().await.unwrap();
    let store = db.pg();
    let user = store.upsert_user("ada@example.com", "Ada").await.unwrap();
    let i = store
        .create_interview(new_interview(&user.id))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO transcript_entries (interview_id, sequence, speaker, text, start_ms, end_ms) \
         VALUES ($1, 0, 'AI', 'Tell me about yourself.', 0, 900)",
    )
    .bind(&i.id)
    .execute(store.pool())
    .await
    .unwrap();
    let old = TranscriptEntry {
        sequence: 0,
        speaker: Speaker::Ai,
        text: "Tell me about yourself.".into(),
        start_ms: 0,
        end_ms: 900,
        interrupted: false,
        heard_text: None,
    };
    assert_eq!(
        store.get_transcript(&i.id).await.unwrap(),
        vec![old.clone()]
    );
    let cut = TranscriptEntry {
        interrupted: true,
        heard_text: Some("Tell me".into()),
        ..old
    };
    assert_eq!(
        store
            .append_transcript(&i.id, std::slice::from_ref(&cut))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.get_transcript(&i.id).await.unwrap(), vec![cut]);
}
