//! Contract cases: transcript entries: idempotent appends, amends, concurrent batches.

use super::*;

/// Appends are idempotent by sequence, keep the first text, and read back in order.
pub async fn transcript_append_is_idempotent_and_ordered(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let i = interview(store, &alice.id, "k1").await;
    assert!(store.get_transcript(&i.id).await.expect("empty").is_empty());

    let first = vec![
        entry(2, Speaker::Ai, "And why Rust?"),
        entry(0, Speaker::Ai, "Tell me about yourself."),
        entry(
            1,
            Speaker::User,
            "I build backends — «fast» ones, with 'quotes' and \"more\".",
        ),
    ];
    assert_eq!(
        store
            .append_transcript(&i.id, &first)
            .await
            .expect("append"),
        3
    );
    assert_eq!(
        store.append_transcript(&i.id, &first).await.expect("retry"),
        0,
        "a retried batch stores nothing"
    );
    assert_eq!(
        store
            .append_transcript(&i.id, &[])
            .await
            .expect("empty batch"),
        0
    );

    let overlapping = vec![
        entry(1, Speaker::User, "A different text for an old sequence"),
        entry(3, Speaker::User, "Memory safety without a GC."),
        entry(4, Speaker::Ai, "Thanks."),
    ];
    assert_eq!(
        store
            .append_transcript(&i.id, &overlapping)
            .await
            .expect("append"),
        2
    );
    let dup_in_batch = vec![
        entry(5, Speaker::User, "first"),
        entry(5, Speaker::User, "second"),
    ];
    assert_eq!(
        store
            .append_transcript(&i.id, &dup_in_batch)
            .await
            .expect("append"),
        1
    );

    let got = store.get_transcript(&i.id).await.expect("get");
    let mut expected = vec![
        first[1].clone(),
        first[2].clone(),
        first[0].clone(),
        overlapping[1].clone(),
    ];
    expected.push(overlapping[2].clone());
    expected.push(dup_in_batch[0].clone());
    assert_eq!(got, expected, "ordered by sequence, first text kept");

    // A provisional open turn is extended by the finished entry, never shortened or
    // taken over by another speaker.
    let provisional = entry(6, Speaker::Ai, "Tell me about a ti");
    assert_eq!(
        store
            .append_transcript(&i.id, std::slice::from_ref(&provisional))
            .await
            .expect("provisional"),
        1
    );
    let mut finished = entry(6, Speaker::Ai, "Tell me about a time you failed.");
    finished.end_ms = provisional.end_ms + 2_000;
    let other_speaker = entry(6, Speaker::User, "Tell me about a time you failed. More");
    for (batch, n) in [
        (vec![finished.clone()], 1),
        (vec![provisional.clone()], 0),
        (vec![other_speaker], 0),
        (vec![finished.clone()], 0),
    ] {
        assert_eq!(
            store
                .append_transcript(&i.id, &batch)
                .await
                .expect("extend"),
            n
        );
    }
    let got = store.get_transcript(&i.id).await.expect("get");
    assert_eq!(got.len(), 7);
    assert_eq!(
        got[6], finished,
        "the finished text replaced the provisional one"
    );
    let mut wiped = entry(6, Speaker::Ai, "");
    wiped.end_ms = 0;
    store
        .append_transcript(&i.id, &[wiped])
        .await
        .expect("shorter");
    assert_eq!(store.get_transcript(&i.id).await.expect("get")[6], finished);
    // The same text with another end: the turn's end corrected (where the client's
    // playback really stopped), stored in place.
    let mut corrected = finished.clone();
    corrected.end_ms = finished.end_ms - 500;
    assert_eq!(
        store
            .append_transcript(&i.id, std::slice::from_ref(&corrected))
            .await
            .expect("corrected end"),
        1
    );
    assert_eq!(
        store.get_transcript(&i.id).await.expect("get")[6],
        corrected
    );

    // A batch larger than any single SQL statement takes.
    let big: Vec<_> = (7..1_507)
        .map(|s| {
            entry(
                s,
                if s % 2 == 0 {
                    Speaker::Ai
                } else {
                    Speaker::User
                },
                &format!("turn {s}"),
            )
        })
        .collect();
    assert_eq!(
        store
            .append_transcript(&i.id, &big)
            .await
            .expect("big batch"),
        1_500
    );
    let got = store.get_transcript(&i.id).await.expect("get");
    assert_eq!(got.len(), 1_507);
    assert!(
        got.windows(2).all(|w| w[0].sequence + 1 == w[1].sequence),
        "contiguous and ordered"
    );
    assert_eq!(got[1_506], big[1_499]);

    let other = interview(store, &alice.id, "k2").await;
    assert!(
        store
            .get_transcript(&other.id)
            .await
            .expect("get")
            .is_empty(),
        "transcripts are per interview"
    );
}

/// Overlapping batches appended concurrently store each sequence once, and the counts
/// returned add up to the entries stored.
pub async fn concurrent_transcript_appends_store_each_entry_once(store: Arc<dyn InterviewStore>) {
    let alice = user(&*store, "alice@example.com").await;
    let i = interview(&*store, &alice.id, "k1").await;
    let all: Vec<TranscriptEntry> = (0..40)
        .map(|s| {
            entry(
                s,
                if s % 2 == 0 {
                    Speaker::Ai
                } else {
                    Speaker::User
                },
                &format!("turn {s}"),
            )
        })
        .collect();
    let tasks: Vec<_> = (0..8usize)
        .map(|n| {
            let store = Arc::clone(&store);
            let id = i.id.clone();
            let mut batches: Vec<Vec<TranscriptEntry>> =
                all.chunks(10).map(<[_]>::to_vec).collect();
            batches.rotate_left(n % 4);
            if n % 2 == 1 {
                for b in &mut batches {
                    b.reverse();
                }
            }
            tokio::spawn(async move {
                let mut stored = 0u32;
                for b in batches {
                    stored += store.append_transcript(&id, &b).await.expect("append");
                }
                stored
            })
        })
        .collect();
    let mut total = 0u32;
    for t in tasks {
        total += t.await.expect("task");
    }
    assert_eq!(total, 40, "each entry counted once across all writers");
    assert_eq!(store.get_transcript(&i.id).await.expect("get"), all);
}

/// An interviewer turn cut short by a barge-in: `interrupted` and its `heard_text` are
/// stored with the entry and read back as appended, alone and in a batch; an entry that
/// was not cut reads as not interrupted; a heard text on an entry that was not cut is not
/// kept; a NUL character in the heard text is refused.
pub async fn interrupted_entry_round_trips_with_heard_text(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let i = interview(store, &alice.id, "k1").await;
    let mut cut = entry(
        0,
        Speaker::Ai,
        "Tell me about a system you designed end to end.",
    );
    cut.interrupted = true;
    cut.heard_text = Some("Tell me about a sys".to_owned());
    let answer = entry(1, Speaker::User, "Sorry, can I ask something first?");
    let mut stray = entry(2, Speaker::Ai, "Of course.");
    stray.heard_text = Some("Of".to_owned());
    // An empty heard text (cut before the first fragment) is kept as empty, not dropped.
    let mut early = entry(3, Speaker::Ai, "So, where were we?");
    early.interrupted = true;
    early.heard_text = Some(String::new());
    let stored = store
        .append_transcript(
            &i.id,
            &[cut.clone(), answer.clone(), stray.clone(), early.clone()],
        )
        .await
        .expect("append");
    assert_eq!(stored, 4);

    let read = store.get_transcript(&i.id).await.expect("transcript");
    assert_eq!(read.len(), 4, "{read:?}");
    assert_eq!(read[0], cut, "the barge-in round-trips with its heard text");
    assert_eq!(read[1], answer);
    assert!(!read[1].interrupted && read[1].heard_text.is_none());
    assert!(!read[2].interrupted);
    assert_eq!(
        read[2].heard_text, None,
        "a heard text is only kept for an interrupted entry"
    );
    assert_eq!(read[3], early);

    let mut bad = entry(4, Speaker::Ai, "Next question.");
    bad.interrupted = true;
    bad.heard_text = Some("Next\0".to_owned());
    assert_kind(
        store.append_transcript(&i.id, &[bad]).await,
        ErrorKind::InvalidInput,
        "NUL in heard_text",
    );
    assert_eq!(
        store.get_transcript(&i.id).await.expect("transcript").len(),
        4,
        "a refused batch stores nothing"
    );
}

/// An entry appended again with the same sequence may carry a barge-in the stored one
/// does not note yet (same text, same end): it amends the stored entry, once. A barge-in,
/// once stored, stays when the turn's text is extended later without one, and another
/// speaker's entry with that sequence never amends it.
pub async fn barge_in_amends_a_stored_entry(store: &dyn InterviewStore) {
    let alice = user(store, "alice@example.com").await;
    let i = interview(store, &alice.id, "k1").await;
    let provisional = entry(0, Speaker::Ai, "Walk me through the design");
    assert_eq!(
        store
            .append_transcript(&i.id, std::slice::from_ref(&provisional))
            .await
            .expect("append"),
        1
    );
    let mut cut = provisional.clone();
    cut.interrupted = true;
    cut.heard_text = Some("Walk me".to_owned());
    assert_eq!(
        store
            .append_transcript(&i.id, std::slice::from_ref(&cut))
            .await
            .expect("amend"),
        1,
        "the barge-in amends the stored entry"
    );
    assert_eq!(
        store
            .append_transcript(&i.id, std::slice::from_ref(&cut))
            .await
            .expect("retry"),
        0,
        "the same barge-in again changes nothing"
    );
    assert_eq!(store.get_transcript(&i.id).await.expect("read")[0], cut);

    let mut other_speaker = cut.clone();
    other_speaker.speaker = Speaker::User;
    other_speaker.heard_text = Some("Walk".to_owned());
    assert_eq!(
        store
            .append_transcript(&i.id, &[other_speaker])
            .await
            .expect("append"),
        0,
        "another speaker never amends the entry"
    );

    let mut longer = entry(0, Speaker::Ai, "Walk me through the design of it");
    longer.end_ms = cut.end_ms + 400;
    assert_eq!(
        store
            .append_transcript(&i.id, std::slice::from_ref(&longer))
            .await
            .expect("extend"),
        1
    );
    let read = store.get_transcript(&i.id).await.expect("read");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].text, longer.text);
    assert_eq!(read[0].end_ms, longer.end_ms);
    assert!(
        read[0].interrupted,
        "a stored barge-in stays: {:?}",
        read[0]
    );
    assert_eq!(read[0].heard_text.as_deref(), Some("Walk me"));

    let mut recut = longer.clone();
    recut.interrupted = true;
    recut.heard_text = Some("Walk me through".to_owned());
    assert_eq!(
        store
            .append_transcript(&i.id, std::slice::from_ref(&recut))
            .await
            .expect("amend"),
        1,
        "a barge-in with another heard text amends it"
    );
    assert_eq!(store.get_transcript(&i.id).await.expect("read")[0], recut);
}
