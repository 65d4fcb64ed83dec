//! Errors of the Live client, split by cause and classified by retryability.

use tokio_tungstenite::tungstenite;

/// The close code reported when a connection ended without a close frame (RFC 6455 §7.1.5).
pub const ABNORMAL_CLOSURE: u16 = 1006;

/// A server frame that is not a valid Gemini Live server message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The frame is not UTF-8 (server frames are UTF-8 JSON, in Text or Binary frames; §2).
    #[error("server frame is not UTF-8")]
    NotUtf8(#[source] std::str::Utf8Error),
    /// The frame is not JSON, or not the shape of a server message.
    #[error("server frame is not a valid JSON server message")]
    Json(#[source] serde_json::Error),
    /// `inlineData.data` is neither standard nor URL-safe base64.
    #[error("inlineData.data is not base64")]
    Base64(#[source] base64::DecodeError),
    /// A `google.protobuf.Duration` string (such as `goAway.timeLeft`) is not of the form `"50s"` / `"1.5s"`.
    #[error("invalid protobuf Duration {0:?}")]
    Duration(String),
}

/// Why a Live connection could not be made or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// The server answered the WebSocket upgrade with an HTTP status instead of 101
    /// (401/403: bad key; 429: quota; 5xx: server trouble).
    #[error("WebSocket upgrade refused with HTTP {status}")]
    UpgradeRefused {
        /// The HTTP status code.
        status: u16,
    },
    /// No `setupComplete` within [`crate::LiveConfig::setup_timeout`].
    #[error("no setupComplete before the setup timeout")]
    SetupTimeout,
    /// The server closed the connection before `setupComplete` (1007: the setup was
    /// rejected; 1008: not allowed; 1011: server fault). Code 1006 when no close frame came.
    #[error("closed during setup with code {code}: {reason}")]
    ClosedDuringSetup {
        /// The WebSocket close code.
        code: u16,
        /// The close reason as sent.
        reason: String,
    },
    /// A server frame could not be decoded.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The WebSocket failed (I/O, TLS, framing, or use after close).
    #[error("WebSocket error")]
    WebSocket(#[source] tungstenite::Error),
    /// The configuration cannot be used (for example an API key that is not a valid header value, or an
    /// endpoint that is not a `ws://` / `wss://` URL). Fix the configuration; do not retry.
    #[error("invalid Live configuration: {0}")]
    InvalidConfig(String),
    /// The configuration is a combination the service refuses, found before dialing
    /// ([`crate::LiveConfig::validate`]). Fix the configuration; do not retry.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A command the connection's configuration does not allow, such as `activityStart`
    /// while automatic activity detection is on (§3.2). Nothing was sent.
    #[error("command not allowed on this connection: {0}")]
    CommandNotAllowed(&'static str),
}

impl LiveError {
    /// Whether trying again (with backoff, and a resumption handle if there is one) may succeed.
    ///
    /// Yes for timeouts, I/O errors, 5xx / 408 upgrade refusals and the transient close
    /// codes of [`is_retryable_close`]. No for 401/403 (bad key), 429 (quota: retrying
    /// blindly makes it worse), 1007/1008 (the request itself is wrong), protocol and
    /// configuration errors. Source: gemini-live-protocol notes §6.2.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::UpgradeRefused { status } => *status == 408 || (500..=599).contains(status),
            Self::SetupTimeout => true,
            Self::ClosedDuringSetup { code, reason } => is_retryable_close(*code, reason),
            Self::Protocol(_)
            | Self::InvalidConfig(_)
            | Self::Config(_)
            | Self::CommandNotAllowed(_) => false,
            Self::WebSocket(e) => matches!(
                e,
                tungstenite::Error::Io(_)
                    | tungstenite::Error::ConnectionClosed
                    | tungstenite::Error::Protocol(
                        tungstenite::error::ProtocolError::ResetWithoutClosingHandshake
                    )
            ),
        }
    }
}

impl LiveError {
    /// The error as the close code and reason of a model connection that failed, for
    /// [`preppal_core::ModelEvent::Closed`], so that
    /// [`preppal_core::ModelErrorKind::from_close`] types it (gemini-live-protocol notes
    /// §1.2, §6.2): a close during setup keeps its code and reason; a refused upgrade is
    /// 1006 (what a browser sees) with [`preppal_core::ModelErrorKind::upgrade_refused_reason`]
    /// carrying the HTTP status; a configuration the service refuses is 1007; a timeout or
    /// a WebSocket failure is 1006.
    pub fn close_parts(&self) -> (u16, String) {
        match self {
            Self::UpgradeRefused { status } => (
                ABNORMAL_CLOSURE,
                preppal_core::ModelErrorKind::upgrade_refused_reason(*status),
            ),
            Self::ClosedDuringSetup { code, reason } => (*code, reason.clone()),
            Self::InvalidConfig(_)
            | Self::Config(_)
            | Self::CommandNotAllowed(_)
            | Self::Protocol(_) => (1007, self.to_string()),
            Self::SetupTimeout | Self::WebSocket(_) => (ABNORMAL_CLOSURE, self.to_string()),
        }
    }
}

/// Whether a connection closed with `code` and `reason` is worth reopening.
///
/// Yes for 1001 (going away), 1006 (dropped without a close frame), 1011 (internal error,
/// overload, deadline after `goAway`), 1012, 1013 and 1014; but not for a 1011 whose reason
/// says `RESOURCE_EXHAUSTED` (quota or concurrency limit: retrying blindly loops). No for
/// 1000 (normal), 1007 (invalid argument) and 1008 (policy) and everything else.
/// Source: gemini-live-protocol notes §6.2.
pub fn is_retryable_close(code: u16, reason: &str) -> bool {
    match code {
        1011 => !reason.to_ascii_uppercase().contains("RESOURCE_EXHAUSTED"),
        1001 | 1006 | 1012 | 1013 | 1014 => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryability_follows_the_close_code_table() {
        assert!(LiveError::SetupTimeout.is_retryable());
        assert!(LiveError::UpgradeRefused { status: 503 }.is_retryable());
        for status in [401, 403, 429, 400] {
            assert!(
                !LiveError::UpgradeRefused { status }.is_retryable(),
                "{status}"
            );
        }
        let closed = |code: u16, reason: &str| LiveError::ClosedDuringSetup {
            code,
            reason: reason.to_owned(),
        };
        assert!(closed(1011, "Internal error occurred.").is_retryable());
        assert!(closed(1006, "").is_retryable());
        assert!(!closed(1007, "Request contains an invalid argument.").is_retryable());
        assert!(!closed(1008, "Operation is not implemented").is_retryable());
        assert!(!closed(
            1011,
            "generic::resource_exhausted: RESOURCE_EXHAUSTED: Maximum concurrent se"
        )
        .is_retryable());
        assert!(!LiveError::InvalidConfig("x".into()).is_retryable());
    }
}
