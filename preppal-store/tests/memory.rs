//! The contract suite against [`MemoryStore`].

use std::sync::Arc;

use preppal_store::{InterviewStore, InterviewStoreExt, MemoryStore};

preppal_store::contract_suite!(async { Arc::new(MemoryStore::new()) as Arc<dyn InterviewStore> });

#[tokio::test]
async fn open_memory_url_gives_an_empty_store() {
    let store = preppal_store::open("memory:").await.unwrap();
    let user = store.upsert_user("ada@example.com", "Ada").await.unwrap();
    assert!(store
        .list_job_descriptions(&user.id)
        .await
        .unwrap()
        .is_empty());
    let err = preppal_store::open("mysql://localhost/db")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), preppal_store::ErrorKind::Other);
    assert!(err.to_string().contains("\"mysql\""), "{err}");
}

#[test]
fn every_case_is_listed() {
    assert_eq!(preppal_store::testing::CASES.len(), 28);
}
