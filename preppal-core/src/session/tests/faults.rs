//! The model fault kinds, as session rules on the fake clock: a cut generation that ends
//! without `turnComplete`, late candidate transcription, typed model failures,
//! "[Silence]" replies and the no-output watchdog.

use super::*;

fn audio_sent(h: &Harness) -> Vec<Bytes> {
    h.to_client
        .iter()
        .filter_map(|m| match m {
            M::AudioResponse(a) => Some(a.audio_content.clone()),
            _ => None,
        })
        .collect()
}

/// A question, then a candidate answer of `ms` of speech followed by `silence_ms`.
fn answer(h: &mut Harness, ms: usize, silence_ms: usize) {
    for _ in 0..ms / 40 {
        h.advance(Duration::from_millis(40));
        h.client(ClientMessage::Audio(speech(40))).unwrap();
    }
    for _ in 0..silence_ms / 40 {
        h.advance(Duration::from_millis(40));
        h.client(ClientMessage::Audio(silence(40))).unwrap();
    }
}

#[test]
fn kind1_interrupted_without_turn_complete_next_turn_is_heard() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription("Tell me about".into()))
        .unwrap();
    h.model(ModelEvent::Audio(Bytes::from_static(&[1, 2])))
        .unwrap();
    // The candidate barges in; the service cuts the line and sends no turnComplete.
    h.client(ClientMessage::Audio(speech(40))).unwrap();
    h.model(ModelEvent::Interrupted).unwrap();
    // Late audio of the cut generation while the candidate still talks: dropped.
    h.model(ModelEvent::Audio(Bytes::from_static(&[3, 4, 5, 6])))
        .unwrap();
    h.model(ModelEvent::OutputTranscription(" a time".into()))
        .unwrap();
    answer(&mut h, 1_000, 600);
    // The model's next turn, with no turnComplete before it: heard and shown.
    h.model(ModelEvent::OutputTranscription(
        "Thanks. Next question?".into(),
    ))
    .unwrap();
    h.model(ModelEvent::Audio(Bytes::from_static(&[7, 8])))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();

    assert_eq!(
        audio_sent(&h),
        [Bytes::from_static(&[1, 2]), Bytes::from_static(&[7, 8])]
    );
    assert_eq!(h.session.dropped_audio_bytes(), 4);
    let e = h.stored_entries();
    let texts: Vec<_> = e.iter().map(|e| (e.speaker, e.text.as_str())).collect();
    assert_eq!(
        texts,
        [
            (Speaker::Ai, "Tell me about"),
            (Speaker::User, ""),
            (Speaker::Ai, "Thanks. Next question?")
        ]
    );
    assert!(h
        .to_client
        .iter()
        .any(|m| matches!(m, M::TranscriptUpdate(u) if u.turn_complete && u.text == "Thanks. Next question?")));
}

#[test]
fn kind1_output_after_interrupted_is_dropped_while_the_candidate_talks() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::Audio(Bytes::from_static(&[1, 2])))
        .unwrap();
    h.model(ModelEvent::Interrupted).unwrap();
    // Silence shorter than the cut-generation silence, between words: still dropping.
    answer(&mut h, 400, 200);
    answer(&mut h, 400, 0);
    h.model(ModelEvent::Audio(Bytes::from_static(&[9, 9])))
        .unwrap();
    assert_eq!(audio_sent(&h), [Bytes::from_static(&[1, 2])]);
    // A typed answer asks for a new turn: what follows is heard.
    h.client(ClientMessage::Text("Done.".into())).unwrap();
    h.model(ModelEvent::Audio(Bytes::from_static(&[7, 7])))
        .unwrap();
    assert_eq!(
        audio_sent(&h),
        [Bytes::from_static(&[1, 2]), Bytes::from_static(&[7, 7])]
    );
}

#[test]
fn kind2_late_candidate_transcription_amends_the_answer_it_transcribes() {
    let mut h = Harness::with_config(
        SessionConfig::new(10 * MIN).with_checkpoint_interval(Duration::from_secs(5)),
    );
    h.model(ModelEvent::SetupComplete).unwrap();
    h.model(ModelEvent::OutputTranscription("Why Rust?".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    answer(&mut h, 2_000, 600);
    h.model(ModelEvent::InputTranscription("Safety".into()))
        .unwrap();
    // The reply begins before the rest of the answer's transcription arrives.
    h.model(ModelEvent::OutputTranscription("Good. ".into()))
        .unwrap();
    h.model(ModelEvent::InputTranscription(" and speed.".into()))
        .unwrap();
    // An open-turn checkpoint in the middle: the open reply, numbered after the answer.
    h.step();
    h.model(ModelEvent::OutputTranscription("Tell me more?".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    h.client(ClientMessage::End).unwrap();

    let final_entries = h.session.transcript().entries().to_vec();
    let texts: Vec<_> = final_entries
        .iter()
        .map(|e| (e.sequence, e.speaker, e.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            (0, Speaker::Ai, "Why Rust?"),
            (1, Speaker::User, "Safety and speed."),
            (2, Speaker::Ai, "Good. Tell me more?")
        ]
    );
    // The store got the answer first as it ended, then extended under its own sequence.
    let stored: Vec<_> = h
        .stored_entries()
        .into_iter()
        .filter(|e| e.sequence == 1)
        .map(|e| e.text)
        .collect();
    assert_eq!(stored, ["Safety", "Safety and speed."]);
    // The checkpoint numbered the open reply 2, after the answer.
    let open = h.persist.iter().find_map(|p| match p {
        PersistAction::OpenTurns(o) => Some(o.clone()),
        _ => None,
    });
    let open = open.expect("a checkpoint of the open reply");
    assert_eq!((open[0].sequence, open[0].speaker), (2, Speaker::Ai));
    // The caption: the late fragment names the entry it extends.
    assert!(h.to_client.iter().any(|m| matches!(m,
        M::TranscriptUpdate(u) if u.sequence == 1 && u.text == " and speed." && u.speaker == "USER")));
}

#[test]
fn kind2_transcription_after_the_reply_is_complete_starts_a_new_turn() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription("Q?".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    answer(&mut h, 400, 0);
    h.model(ModelEvent::OutputTranscription("Next?".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    h.model(ModelEvent::InputTranscription("a quiet answer".into()))
        .unwrap();
    h.model(ModelEvent::OutputTranscription("OK.".into()))
        .unwrap();
    let e = h.stored_entries();
    assert_eq!(e.len(), 4);
    assert_eq!(
        (e[3].speaker, e[3].text.as_str()),
        (Speaker::User, "a quiet answer")
    );
}

#[test]
fn kind5_model_failures_reach_the_candidate_and_the_store_as_typed_reasons() {
    let cases = [
        (
            1011,
            "generic::resource_exhausted: RESOURCE_EXHAUSTED: Maximum concurrent se",
            ModelErrorKind::Quota,
        ),
        (
            1007,
            "API key expired. Please renew the API key.",
            ModelErrorKind::Authentication,
        ),
        (
            1008,
            "Operation is not implemented, or supported, or enabled.",
            ModelErrorKind::Policy,
        ),
        (
            1006,
            "HTTP 429 on the WebSocket upgrade",
            ModelErrorKind::Quota,
        ),
    ];
    for (code, reason, kind) in cases {
        let mut h = Harness::new(10 * MIN);
        h.model(ModelEvent::Closed {
            code,
            reason: reason.into(),
        })
        .unwrap();
        let error = h.to_client.iter().find_map(|m| match m {
            M::ErrorResponse(e) => Some(e.clone()),
            _ => None,
        });
        let error = error.expect("the candidate is told");
        assert_eq!(error.kind, kind.to_proto() as i32, "{reason}");
        assert_eq!(error.message, kind.sentence());
        let Some(PersistAction::Finish { status, reason: r }) = h.persist.last() else {
            panic!("no finish");
        };
        assert_eq!(*status, InterviewStatus::Error);
        assert_eq!(r.error_kind(), Some(kind));
    }
    // A normal close is no failure.
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::Closed {
        code: 1000,
        reason: String::new(),
    })
    .unwrap();
    assert!(!h.to_client.iter().any(|m| matches!(m, M::ErrorResponse(_))));
}

#[test]
fn silence_only_replies_are_not_shown_nor_stored() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription("Hello?".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    answer(&mut h, 400, 0);
    for f in ["[Sil", "ence]"] {
        h.model(ModelEvent::OutputTranscription(f.into())).unwrap();
    }
    h.model(ModelEvent::TurnComplete).unwrap();
    // A reply that starts like it but says more is kept whole.
    h.model(ModelEvent::OutputTranscription("[Si".into()))
        .unwrap();
    h.model(ModelEvent::OutputTranscription("gh] Fine.".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    let texts: Vec<_> = h.stored_entries().into_iter().map(|e| e.text).collect();
    assert_eq!(texts, ["Hello?", "", "[Sigh] Fine."]);
    assert!(!h.to_client.iter().any(|m| matches!(m,
        M::TranscriptUpdate(u) if u.text.contains("Silence"))));
}

#[test]
fn no_output_after_interrupted_or_an_empty_turn_reprompts_then_tells_the_candidate() {
    let mut h = Harness::started(10 * MIN);
    h.model(ModelEvent::OutputTranscription("Tell me".into()))
        .unwrap();
    h.model(ModelEvent::Interrupted).unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    // The candidate talks for 20 s: the watchdog counts from the last speech.
    answer(&mut h, 20_000, 0);
    let talked_until = h.now;
    assert!(h.step());
    assert_eq!(h.now, talked_until + Duration::from_secs(8));
    assert_eq!(
        h.to_model.last(),
        Some(&ModelCommand::Instruct(REPROMPT_INSTRUCTION.into()))
    );
    assert!(h.event_names().contains(&"Reprompted"));
    assert!(h.step());
    assert!(h.to_client.iter().any(|m| matches!(m,
        M::ErrorResponse(e) if e.message == NOT_ANSWERING)));

    // An empty turnComplete arms it too; output stands it down.
    let mut h = Harness::started(10 * MIN);
    let start = h.now;
    h.model(ModelEvent::TurnComplete).unwrap();
    assert_eq!(
        h.session.poll_timeout(),
        Some(start + Duration::from_secs(8))
    );
    h.advance(Duration::from_secs(2));
    h.model(ModelEvent::Audio(Bytes::from_static(&[1, 2])))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    assert_eq!(
        h.session.poll_timeout(),
        Some(start + 9 * MIN),
        "only the wrap-up"
    );
}

#[test]
fn trailing_silence_keeps_streaming_when_the_candidate_audio_stops_mid_turn() {
    let config = SessionConfig::new(10 * MIN)
        .with_checkpoint_interval(Duration::ZERO)
        .with_trailing_silence(Duration::from_millis(250));
    let mut h = Harness::with_config(config);
    h.model(ModelEvent::SetupComplete).unwrap();
    h.model(ModelEvent::OutputTranscription("Q?".into()))
        .unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    answer(&mut h, 400, 0);
    let sent = h.to_model.len();
    // The stream stops: 100 + 100 + 50 ms of silence follow, one frame per 100 ms.
    let mut silence = Vec::new();
    for _ in 0..3 {
        assert!(h.step());
        match h.to_model.last() {
            Some(ModelCommand::Audio(a)) => silence.push(a.clone()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        silence.iter().map(Bytes::len).collect::<Vec<_>>(),
        [3_200, 3_200, 1_600]
    );
    assert!(silence.iter().all(|a| a.iter().all(|b| *b == 0)));
    assert_eq!(h.to_model.len(), sent + 3);
    // Then nothing more is owed but the wrap-up.
    assert!(h.session.poll_timeout().is_some_and(|t| t > h.now + MIN));
    // Off by default.
    let mut h = Harness::started(10 * MIN);
    answer(&mut h, 400, 0);
    let before = h.to_model.len();
    h.advance(Duration::from_secs(1));
    h.session.handle_timeout(h.now);
    h.drain();
    assert_eq!(h.to_model.len(), before);
}
