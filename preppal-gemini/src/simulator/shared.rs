//! The simulator's shared state: what every connection, the REST side and the upgrade
//! check read and write (recorded messages, resumption handles and their snapshots,
//! ephemeral tokens, upgrades seen).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use super::InterviewScript;

/// Where a resumable session was when a resumption handle was sent: what that handle
/// resumes. Each handle keeps its own snapshot, as the service's do: resuming from an
/// older handle restores the session as it was then, not as it went on after (gemini-live-
/// protocol notes §4.4: a handle covers what was streamed before it).
#[derive(Debug, Clone)]
pub(super) struct SavedSession {
    pub(super) script: InterviewScript,
    pub(super) asked: usize,
    pub(super) started: bool,
    pub(super) finishing: bool,
    /// The line being generated when the state was saved: (index, text, closing).
    pub(super) owed: Option<(usize, String, bool)>,
    pub(super) prompt_tokens: u64,
    /// Spoken candidate turns heard (the next candidate transcript to use).
    pub(super) heard: usize,
}

/// Resumption handles kept per session; older ones resume no more (a client resumes from
/// its latest).
pub(super) const HANDLES_KEPT: usize = 16;

#[derive(Debug, Default)]
pub(super) struct Shared {
    pub(super) recorded: Mutex<Vec<Vec<Value>>>,
    pub(super) connections: AtomicUsize,
    pub(super) upgrades: AtomicUsize,
    /// Closes the simulator started: (connection, code, reason).
    pub(super) closes: Mutex<Vec<(usize, u16, String)>>,
    pub(super) next_session: AtomicU64,
    /// Resumption handle → its session id and snapshot.
    pub(super) handles: Mutex<HashMap<String, (u64, SavedSession)>>,
    /// Session id → its handles, oldest first (at most [`HANDLES_KEPT`]).
    pub(super) session_handles: Mutex<HashMap<u64, VecDeque<String>>>,
    /// Ephemeral tokens minted by the REST side: name → new sessions left.
    pub(super) tokens: Mutex<HashMap<String, u64>>,
    /// The bodies of the `auth_tokens` requests, in order.
    pub(super) token_requests: Mutex<Vec<Value>>,
    /// Every upgrade request's path and credential form, in order.
    pub(super) upgrades_seen: Mutex<Vec<UpgradeRecord>>,
    pub(super) next_token: AtomicU64,
}

/// How an upgrade request carried its credential (gemini-live-protocol notes §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialForm {
    /// `x-goog-api-key` header.
    ApiKeyHeader,
    /// `?key=` query parameter.
    ApiKeyQuery,
    /// `Authorization: Token auth_tokens/...` header.
    TokenHeader,
    /// `?access_token=auth_tokens/...` query parameter.
    TokenQuery,
    /// No credential.
    None,
}

/// One WebSocket upgrade request the simulator saw ([`super::SimulatorHandle::upgrades`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpgradeRecord {
    /// The request path, without the query.
    pub path: String,
    /// The credential forms present, in the order header key, query key, header token,
    /// query token (more than one means the client sent the credential twice).
    pub credentials: Vec<CredentialForm>,
    /// The credential value, when it was an ephemeral token (`auth_tokens/...`).
    pub token: Option<String>,
    /// An ephemeral token (`auth_tokens/...`) was sent as an API key (`x-goog-api-key` or
    /// `?key=`), which the service refuses.
    pub key_is_token: bool,
}

impl Shared {
    /// Mints an ephemeral token good for `uses` new sessions.
    pub(super) fn mint_token(&self, uses: u64) -> String {
        let name = format!(
            "auth_tokens/sim-{}",
            self.next_token.fetch_add(1, Ordering::SeqCst) + 1
        );
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.clone(), uses);
        name
    }

    /// Uses `token` for one new session; `false` when it is unknown or used up.
    pub(super) fn use_token(&self, token: &str) -> bool {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        match tokens.get_mut(token) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }
}

impl Shared {
    pub(super) fn new_connection(&self) -> usize {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        recorded.push(Vec::new());
        self.connections.fetch_add(1, Ordering::SeqCst);
        recorded.len() - 1
    }

    /// Registers `handle` of `session` with the session's `state` at that moment.
    pub(super) fn register_handle(&self, handle: String, session: u64, state: SavedSession) {
        let mut handles = self.handles.lock().unwrap_or_else(PoisonError::into_inner);
        let mut per_session = self
            .session_handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let kept = per_session.entry(session).or_default();
        kept.push_back(handle.clone());
        while kept.len() > HANDLES_KEPT {
            if let Some(old) = kept.pop_front() {
                handles.remove(&old);
            }
        }
        handles.insert(handle, (session, state));
    }

    /// The session and snapshot `handle` resumes, if it is known.
    pub(super) fn resume(&self, handle: &str) -> Option<(u64, SavedSession)> {
        self.handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(handle)
            .cloned()
    }

    pub(super) fn record(&self, connection: usize, message: Value) {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = recorded.get_mut(connection) {
            list.push(message);
        }
    }
}
