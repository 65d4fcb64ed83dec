//! Embedding Preppal in your own axum app: one WebSocket route runs a live interview with
//! `preppal-core` (the session), `preppal-gemini` (the model connection, here the
//! simulator) and `preppal-store` (the interview and its transcript), in under 40 lines of
//! app code.
//!
//! Run it with `cargo run -p preppal-examples --example embed`, then speak the protocol of
//! `proto/interview.proto` (binary protobuf frames) on `ws://127.0.0.1:3001/interview`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::{extract::State, response::Response, routing::get, Router};
use futures::{SinkExt as _, StreamExt as _};
use preppal_core::SessionConfig;
use preppal_gemini::{interviewer_instruction, LiveConfig, LiveInterview};
use preppal_store::{persist_to, InterviewStore, MemoryStore, NewInterview};

type App = (Arc<MemoryStore>, String);
const JD: &str = "Rust backend engineer";
const RESUME: &str = "Five years of Rust";

/// The app: `GET /interview` upgrades and runs one interview with the model at `url`.
pub fn app(store: Arc<MemoryStore>, url: String) -> Router {
    Router::new()
        .route("/interview", get(upgrade))
        .with_state((store, url))
}

async fn upgrade(State(app): State<App>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(|ws| async { run(ws, app).await.unwrap_or_default() })
}

async fn run(ws: WebSocket, (store, url): App) -> Option<()> {
    let user_id = store.upsert_user("demo@example.com", "Demo").await.ok()?.id;
    let new = NewInterview::from_texts(user_id, JD, RESUME, 600_000);
    let id = store.create_interview(new).await.ok()?.id;
    let model = LiveConfig::new("key", interviewer_instruction("", JD, RESUME)).with_endpoint(url);
    let limits = SessionConfig::new(Duration::from_secs(600));
    let live = LiveInterview::start(&id, limits, model, Default::default());
    let live = live.await.ok()?;
    let (tx, rx) = ws.split();
    let binary = |m: Result<Message, _>| m.ok().filter(|m| matches!(m, Message::Binary(_)));
    let rx = rx.filter_map(|m| async move { binary(m).map(Message::into_data) });
    let tx = tx.with(|b| async { Ok::<_, axum::Error>(Message::Binary(b)) });
    live.run(rx, tx, persist_to(&*store, &id)).await;
    Some(())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let sim = preppal_gemini::simulator::Simulator::start(Default::default()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    axum::serve(listener, app(Arc::new(MemoryStore::new()), sim.url())).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use futures::{SinkExt as _, StreamExt as _};
    use preppal_core::codec::{self, ClientMessage};
    use preppal_core::proto::server_to_client_message::Message as ToClient;
    use preppal_gemini::simulator::{Simulator, SimulatorConfig, SpeechMode};
    use tokio_tungstenite::tungstenite::Message as WsMessage;

    use super::*;

    #[tokio::test]
    async fn a_typed_interview_runs_and_its_transcript_is_stored() {
        let sim = Simulator::start(
            SimulatorConfig::default()
                .with_voice(SpeechMode::Silence)
                .with_hold_turn_for_playback(false),
        )
        .await
        .unwrap();
        let store = Arc::new(MemoryStore::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = app(Arc::clone(&store), sim.url());
        tokio::spawn(async move { axum::serve(listener, router).await });

        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/interview"))
            .await
            .unwrap();
        let mut interview_id = String::new();
        let mut ai_turns = 0;
        let mut ended = false;
        while !ended {
            let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            let WsMessage::Binary(data) = frame else {
                continue;
            };
            match codec::decode_server(data).unwrap() {
                ToClient::SessionStarted(s) => interview_id = s.interview_id,
                ToClient::TranscriptUpdate(u) if u.speaker == "AI" && u.turn_complete => {
                    ai_turns += 1;
                    let reply = if ai_turns == 1 {
                        ClientMessage::Text("I built a fan-out service in Rust.".into())
                    } else {
                        ClientMessage::End
                    };
                    let bytes = codec::encode_client(&reply);
                    ws.send(WsMessage::Binary(bytes)).await.unwrap();
                }
                ToClient::SessionEnded(_) => ended = true,
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let transcript = store.get_transcript(&interview_id).await.unwrap();
        let speakers: Vec<&str> = transcript.iter().map(|e| e.speaker.as_str()).collect();
        assert_eq!(speakers, ["AI", "USER", "AI"], "{transcript:?}");
        assert_eq!(transcript[1].text, "I built a fan-out service in Rust.");
        // The status actions went to the store too: the candidate ended it.
        let interview = store.get_interview_unscoped(&interview_id).await.unwrap();
        assert_eq!(interview.status, preppal_core::InterviewStatus::Completed);
        assert_eq!(interview.ended_reason.as_deref(), Some("user_ended"));
        // Stored as the server's worker API stores an end (`preppal_store::EndRecord`).
        let reason = preppal_core::EndReason::UserEnded;
        let end = preppal_store::EndRecord::of(interview.status, &reason);
        assert_eq!(
            interview.error_message.unwrap_or_default(),
            end.error_message
        );
        assert_eq!(interview.error_kind.unwrap_or_default(), end.error_kind);
        assert!(interview.ended_at_ms.is_some());
    }

    #[test]
    fn the_app_is_at_most_40_lines_of_code() {
        let app = include_str!("embed.rs")
            .split("#[cfg(test)]")
            .next()
            .unwrap();
        let lines = app
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .count();
        assert!(lines <= 40, "{lines} lines of app code");
    }
}
