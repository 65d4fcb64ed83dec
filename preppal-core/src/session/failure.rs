//! Why the model failed, as a typed kind: from the HTTP status of a refused WebSocket
//! upgrade, or from a close code and reason (gemini-live-protocol notes §1.2, §6.2).

use std::fmt;

use crate::proto;

/// Why the interviewer (the model) failed. Stored as the interview's `error_kind`
/// ([`ModelErrorKind::as_str`]) and sent to the candidate in `ErrorResponse.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ModelErrorKind {
    /// A quota or concurrency limit: HTTP 429 on the upgrade, or close 1011 with
    /// `RESOURCE_EXHAUSTED` in its reason (§6.1, §6.2).
    Quota,
    /// The credential is missing, wrong or expired: HTTP 401/403, close 1007 "API key
    /// expired...", close 1008 "Method doesn't allow unregistered callers..." (§1.2).
    Authentication,
    /// The service refused the operation: close 1008, or 1007 "User location is not
    /// supported..." (§6.2).
    Policy,
    /// The service refused the request as malformed: HTTP 400/404, close 1007 (§6.2).
    InvalidRequest,
    /// The service failed or is overloaded: HTTP 5xx, close 1011 and the other server
    /// codes (§6.2).
    Service,
    /// The connection was lost or could not be made: close 1006 without a status (§6.2).
    Network,
    /// The model did not become ready before the session's setup deadline.
    Timeout,
}

/// The prefix of a close reason that carries the HTTP status of a refused upgrade, as
/// [`ModelErrorKind::upgrade_refused_reason`] writes it.
const HTTP_PREFIX: &str = "HTTP ";

impl ModelErrorKind {
    /// Every kind, in a stable order.
    pub const ALL: [Self; 7] = [
        Self::Quota,
        Self::Authentication,
        Self::Policy,
        Self::InvalidRequest,
        Self::Service,
        Self::Network,
        Self::Timeout,
    ];

    /// The kind of a refused WebSocket upgrade with HTTP `status` (§1.2: a Rust client
    /// sees the status; a browser sees only close 1006). `None` for a status that is not
    /// an error.
    pub fn from_http_status(status: u16) -> Option<Self> {
        match status {
            429 => Some(Self::Quota),
            401 | 403 => Some(Self::Authentication),
            400 | 404 | 405 | 409 | 411..=428 => Some(Self::InvalidRequest),
            408 | 500..=599 => Some(Self::Service),
            _ => None,
        }
    }

    /// The close reason that reports a refused upgrade with HTTP `status`:
    /// `"HTTP 429 on the WebSocket upgrade"`. With close code 1006 (what a browser sees for
    /// a refused upgrade, §1.2), [`ModelErrorKind::from_close`] reads the status back.
    pub fn upgrade_refused_reason(status: u16) -> String {
        format!("{HTTP_PREFIX}{status} on the WebSocket upgrade")
    }

    /// The kind of a model connection that closed with `code` and `reason`; `None` for a
    /// normal close (1000). Reasons are matched case-insensitively on the texts observed
    /// on the service (gemini-live-protocol notes §1.2, §6.2):
    ///
    /// | code | reason | kind |
    /// |---|---|---|
    /// | any | `RESOURCE_EXHAUSTED`, `quota` | quota |
    /// | 1007, 1008 | `API key`, `unregistered callers` | authentication |
    /// | 1007 | `location is not supported` | policy |
    /// | 1007 | anything else | invalid request |
    /// | 1008 | anything else | policy |
    /// | 1006 | `HTTP nnn` (a refused upgrade) | as [`ModelErrorKind::from_http_status`] |
    /// | 1006, 1005 | anything else | network |
    /// | 1011 and the rest | anything else | service |
    pub fn from_close(code: u16, reason: &str) -> Option<Self> {
        let lower = reason.to_ascii_lowercase();
        if code == 1000 {
            return None;
        }
        if lower.contains("resource_exhausted") || lower.contains("quota") {
            return Some(Self::Quota);
        }
        match code {
            1007 | 1008 if lower.contains("api key") || lower.contains("unregistered callers") => {
                Some(Self::Authentication)
            }
            1007 if lower.contains("location is not supported") => Some(Self::Policy),
            1007 => Some(Self::InvalidRequest),
            1008 => Some(Self::Policy),
            1005 | 1006 => Some(
                reason
                    .strip_prefix(HTTP_PREFIX)
                    .and_then(|r| r.get(..3))
                    .and_then(|s| s.parse().ok())
                    .and_then(Self::from_http_status)
                    .unwrap_or(Self::Network),
            ),
            _ => Some(Self::Service),
        }
    }

    /// The stable machine name: `quota`, `authentication`, `policy`, `invalid_request`,
    /// `service`, `network`, `timeout`. Stored as the interview's `error_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Quota => "quota",
            Self::Authentication => "authentication",
            Self::Policy => "policy",
            Self::InvalidRequest => "invalid_request",
            Self::Service => "service",
            Self::Network => "network",
            Self::Timeout => "timeout",
        }
    }

    /// The kind named `name` ([`ModelErrorKind::as_str`]), if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// A sentence for the candidate saying what went wrong and what to do.
    pub fn sentence(self) -> &'static str {
        match self {
            Self::Quota => {
                "The interviewer is over its usage limit right now. Please try again later."
            }
            Self::Authentication => {
                "The interviewer could not be reached: the server's API key was refused. \
                 Please tell the site's operator."
            }
            Self::Policy => "The interviewer's service refused to run this interview.",
            Self::InvalidRequest => {
                "The interviewer's service refused the interview's settings. Please tell the \
                 site's operator."
            }
            Self::Service => "The interviewer's service failed. Please try again in a few minutes.",
            Self::Network => "The connection to the interviewer was lost.",
            Self::Timeout => "The interviewer did not get ready in time. Please try again.",
        }
    }

    /// The kind as the browser protocol's `ErrorKind`.
    pub fn to_proto(self) -> proto::ErrorKind {
        match self {
            Self::Quota => proto::ErrorKind::Quota,
            Self::Authentication => proto::ErrorKind::Authentication,
            Self::Policy => proto::ErrorKind::Policy,
            Self::InvalidRequest => proto::ErrorKind::InvalidRequest,
            Self::Service => proto::ErrorKind::Service,
            Self::Network => proto::ErrorKind::Network,
            Self::Timeout => proto::ErrorKind::Timeout,
        }
    }
}

impl fmt::Display for ModelErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_and_reasons_from_the_field_become_kinds() {
        use ModelErrorKind as K;
        let cases = [
            (1000, "", None),
            (
                1007,
                "API key expired. Please renew the API key.",
                Some(K::Authentication),
            ),
            (
                1008,
                "Method doesn't allow unregistered callers (callers without established identity).",
                Some(K::Authentication),
            ),
            (
                1007,
                "Request contains an invalid argument.",
                Some(K::InvalidRequest),
            ),
            (
                1007,
                "User location is not supported for the API use.",
                Some(K::Policy),
            ),
            (
                1008,
                "Operation is not implemented, or supported, or enabled.",
                Some(K::Policy),
            ),
            (
                1011,
                "generic::resource_exhausted: RESOURCE_EXHAUSTED: Maximum concurrent se",
                Some(K::Quota),
            ),
            (1011, "Internal error occurred.", Some(K::Service)),
            (1006, "", Some(K::Network)),
            (
                1006,
                &ModelErrorKind::upgrade_refused_reason(429),
                Some(K::Quota),
            ),
            (
                1006,
                &ModelErrorKind::upgrade_refused_reason(403),
                Some(K::Authentication),
            ),
            (
                1006,
                &ModelErrorKind::upgrade_refused_reason(503),
                Some(K::Service),
            ),
        ];
        for (code, reason, kind) in cases {
            assert_eq!(
                ModelErrorKind::from_close(code, reason),
                kind,
                "{code} {reason}"
            );
        }
        for k in ModelErrorKind::ALL {
            assert_eq!(ModelErrorKind::parse(k.as_str()), Some(k));
            assert!(!k.sentence().is_empty());
        }
    }
}
