//! Ephemeral tokens: short-lived credentials a backend mints with its API key, so a
//! client can open a Live connection without ever holding the key
//! (gemini-live-protocol notes §1.2, §1.3).
//!
//! [`create_ephemeral_token`] calls `POST {base}/v1alpha/auth_tokens` with the API key and
//! returns the token's `name` (`auth_tokens/...`); [`crate::LiveConfig::with_ephemeral_token`]
//! then connects with it on the v1alpha `BidiGenerateContentConstrained` endpoint. The
//! simulator's REST side serves the same call.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::config::LiveConfig;
use crate::feedback::DEFAULT_BASE_URL;
use crate::protocol::setup_message;

/// Longest lifetime the service accepts for a token and for its new-session window: under
/// 20 hours (§1.3).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(20 * 3600);

/// What to ask of an ephemeral token. Start from `Default` (1 use, 30 min, new sessions
/// within 60 s: the service's defaults, §1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EphemeralTokenRequest {
    /// `uses`: how many sessions the token may start. Default 1.
    pub uses: u32,
    /// `expireTime` = now + this: after it the token stops working, even mid-session.
    /// Default 30 min; must be under [`MAX_TOKEN_LIFETIME`].
    pub expire_after: Duration,
    /// `newSessionExpireTime` = now + this: no new session after it. Default 60 s; must be
    /// under [`MAX_TOKEN_LIFETIME`].
    pub new_session_expire_after: Duration,
    /// `bidiGenerateContentSetup`: the setup the token is locked to (the inner `setup` of
    /// [`setup_message`] for this config), if any.
    pub locked_setup: Option<LiveConfig>,
    /// `fieldMask`: further setup fields the token locks, comma-joined on the wire
    /// (for example `generationConfig.temperature`).
    pub field_mask: Vec<String>,
}

impl Default for EphemeralTokenRequest {
    fn default() -> Self {
        Self {
            uses: 1,
            expire_after: Duration::from_secs(30 * 60),
            new_session_expire_after: Duration::from_secs(60),
            locked_setup: None,
            field_mask: Vec::new(),
        }
    }
}

impl EphemeralTokenRequest {
    /// Sets [`EphemeralTokenRequest::uses`].
    pub fn with_uses(mut self, uses: u32) -> Self {
        self.uses = uses;
        self
    }
    /// Sets [`EphemeralTokenRequest::expire_after`].
    pub fn with_expire_after(mut self, d: Duration) -> Self {
        self.expire_after = d;
        self
    }
    /// Sets [`EphemeralTokenRequest::new_session_expire_after`].
    pub fn with_new_session_expire_after(mut self, d: Duration) -> Self {
        self.new_session_expire_after = d;
        self
    }
    /// Sets [`EphemeralTokenRequest::locked_setup`].
    pub fn with_locked_setup(mut self, config: LiveConfig) -> Self {
        self.locked_setup = Some(config);
        self
    }

    /// The JSON body of `POST /v1alpha/auth_tokens` at time `now`: `uses`, `expireTime`,
    /// `newSessionExpireTime` (RFC 3339, UTC), and `bidiGenerateContentSetup` /
    /// `fieldMask` when set (field names from the Python SDK's converters, §1.3).
    ///
    /// # Errors
    /// [`TokenError::InvalidRequest`] for a lifetime of [`MAX_TOKEN_LIFETIME`] or more, zero
    /// uses, or a time that cannot be written.
    ///
    /// ```
    /// use preppal_gemini::tokens::EphemeralTokenRequest;
    /// let now = time::OffsetDateTime::from_unix_timestamp(1_788_000_000).unwrap();
    /// let body = EphemeralTokenRequest::default().body(now).unwrap();
    /// assert_eq!(body["uses"], 1);
    /// assert_eq!(body["expireTime"], "2026-08-29T11:10:00Z");
    /// assert_eq!(body["newSessionExpireTime"], "2026-08-29T10:41:00Z");
    /// ```
    pub fn body(&self, now: OffsetDateTime) -> Result<Value, TokenError> {
        if self.uses == 0 {
            return Err(TokenError::InvalidRequest("uses must be at least 1"));
        }
        if self.expire_after >= MAX_TOKEN_LIFETIME
            || self.new_session_expire_after >= MAX_TOKEN_LIFETIME
        {
            return Err(TokenError::InvalidRequest(
                "token lifetimes must be under 20 hours",
            ));
        }
        let at = |d: Duration| {
            (now + d)
                .format(&Rfc3339)
                .map_err(|_| TokenError::InvalidRequest("time cannot be written as RFC 3339"))
        };
        let mut body = json!({
            "uses": self.uses,
            "expireTime": at(self.expire_after)?,
            "newSessionExpireTime": at(self.new_session_expire_after)?,
        });
        if let Some(config) = &self.locked_setup {
            let setup: Value = serde_json::from_str(&setup_message(config))
                .map_err(|_| TokenError::InvalidRequest("setup is not JSON"))?;
            body["bidiGenerateContentSetup"] = setup["setup"].clone();
        }
        if !self.field_mask.is_empty() {
            body["fieldMask"] = json!(self.field_mask.join(","));
        }
        Ok(body)
    }
}

/// A minted ephemeral token. `Debug` does not print the token.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EphemeralToken {
    /// `name`: the token itself, `auth_tokens/...`; pass it to
    /// [`crate::LiveConfig::with_ephemeral_token`].
    pub name: String,
    /// `expireTime`, as sent (RFC 3339), if sent.
    #[serde(default)]
    pub expire_time: Option<String>,
}

impl fmt::Debug for EphemeralToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EphemeralToken")
            .field("name", &"<redacted>")
            .field("expire_time", &self.expire_time)
            .finish()
    }
}

/// Why an ephemeral token could not be minted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The request is one the service refuses (checked before sending).
    #[error("invalid token request: {0}")]
    InvalidRequest(&'static str),
    /// The HTTP call failed (connection, TLS, timeout).
    #[error("token request failed")]
    Network(#[source] reqwest::Error),
    /// The service answered with an error status (401/403: bad key; 429: quota).
    #[error("token request refused with HTTP {status}: {message}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// `error.message` of the reply, or its body.
        message: String,
    },
    /// The reply is not a token: not JSON, or without an `auth_tokens/` name.
    #[error("token reply is not a token")]
    Reply(#[source] Option<serde_json::Error>),
}

/// Mints an ephemeral token: `POST {base_url}/v1alpha/auth_tokens` with the API key in the
/// `x-goog-api-key` header and [`EphemeralTokenRequest::body`] as the JSON body.
/// `base_url` is `None` for the Gemini API ([`DEFAULT_BASE_URL`]), or a simulator's
/// `rest_url()`. One attempt, 30 s timeout.
///
/// # Errors
/// [`TokenError`]: an invalid request, a network failure, an error status, or a reply
/// without an `auth_tokens/...` name.
pub async fn create_ephemeral_token(
    base_url: Option<&str>,
    api_key: &str,
    request: &EphemeralTokenRequest,
) -> Result<EphemeralToken, TokenError> {
    let body = request.body(OffsetDateTime::now_utc())?;
    let base = base_url.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/');
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(TokenError::Network)?;
    let response = http
        .post(format!("{base}/v1alpha/auth_tokens"))
        .header("x-goog-api-key", api_key)
        .json(&body)
        .send()
        .await
        .map_err(TokenError::Network)?;
    let status = response.status();
    let text = response.text().await.map_err(TokenError::Network)?;
    if !status.is_success() {
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.pointer("/error/message")?.as_str().map(str::to_owned))
            .unwrap_or(text);
        return Err(TokenError::Status {
            status: status.as_u16(),
            message,
        });
    }
    let token: EphemeralToken =
        serde_json::from_str(&text).map_err(|e| TokenError::Reply(Some(e)))?;
    if !token
        .name
        .starts_with(crate::config::EPHEMERAL_TOKEN_PREFIX)
    {
        return Err(TokenError::Reply(None));
    }
    Ok(token)
}
