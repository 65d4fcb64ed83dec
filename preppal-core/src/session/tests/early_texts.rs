//! What the candidate types before the interview starts: kept, bounded, and taken at the
//! start.

use super::*;

#[test]
fn an_answer_typed_before_the_start_is_taken_at_the_start() {
    let mut h = Harness::new(10 * MIN);
    h.client(ClientMessage::Text("I typed this early.".into()))
        .unwrap();
    assert!(
        h.to_model.is_empty(),
        "nothing goes to the model before setupComplete"
    );
    for _ in 1..EARLY_TEXTS {
        h.client(ClientMessage::Text("more".into())).unwrap();
    }
    // Past the bound it is refused, not dropped without a word.
    assert!(h
        .client(ClientMessage::Text("one too many".into()))
        .is_err());
    h.model(ModelEvent::SetupComplete).unwrap();
    h.model(ModelEvent::TurnComplete).unwrap();
    assert!(h
        .to_model
        .iter()
        .any(|c| matches!(c, ModelCommand::Text(t) if t == "I typed this early.")));
    let open: Vec<String> = h
        .session
        .conversation_so_far()
        .into_iter()
        .filter(|e| e.speaker == Speaker::User)
        .map(|e| e.text)
        .collect();
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(open[0].starts_with("I typed this early."), "{open:?}");
}
