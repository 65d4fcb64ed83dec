//! The WebSocket upgrade: path and credential checks (gemini-live-protocol notes §1.1, §1.2).

use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use super::shared::{CredentialForm, Shared, UpgradeRecord};

pub(super) fn refuse(status: http::StatusCode, message: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(message.to_owned()));
    *response.status_mut() = status;
    response
}

/// What an upgrade request carries: its path and credentials (§1.2).
pub(super) fn upgrade_record(request: &Request) -> UpgradeRecord {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    // The query, form-decoded by the `url` parser behind `reqwest::Url`.
    let pairs: Vec<(String, String)> = request
        .uri()
        .query()
        .and_then(|q| reqwest::Url::parse(&format!("http://simulator/?{q}")).ok())
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let query = |name: &str| {
        pairs
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let header_token =
        header("authorization").and_then(|v| v.strip_prefix("Token ").map(str::to_owned));
    let query_token = query("access_token");
    let mut credentials = Vec::new();
    if header("x-goog-api-key").is_some() {
        credentials.push(CredentialForm::ApiKeyHeader);
    }
    if query("key").is_some() {
        credentials.push(CredentialForm::ApiKeyQuery);
    }
    if header_token.is_some() {
        credentials.push(CredentialForm::TokenHeader);
    }
    if query_token.is_some() {
        credentials.push(CredentialForm::TokenQuery);
    }
    if credentials.is_empty() {
        credentials.push(CredentialForm::None);
    }
    let key_is_token = header("x-goog-api-key")
        .map(str::to_owned)
        .or_else(|| query("key"))
        .is_some_and(|k| k.starts_with(crate::config::EPHEMERAL_TOKEN_PREFIX));
    UpgradeRecord {
        key_is_token,
        path: request.uri().path().to_owned(),
        credentials,
        token: header_token.or(query_token),
    }
}

/// The upgrade check: path and credential (§1.1, §1.2). `BidiGenerateContent` takes an API
/// key (header or query) or a token; `BidiGenerateContentConstrained` takes only an
/// ephemeral token minted by the REST side, with a use left, sent one way only.
// The signature is tungstenite's handshake `Callback`; its error type is not ours to box.
#[allow(clippy::result_large_err)]
pub(super) fn check_upgrade(
    record: &UpgradeRecord,
    shared: &Shared,
    response: Response,
) -> Result<Response, ErrorResponse> {
    const UNREGISTERED: &str =
        "Method doesn't allow unregistered callers (callers without established identity).";
    if record.path.ends_with("BidiGenerateContentConstrained") {
        // Tokens are v1alpha-only (§1.1, §1.2).
        if !record.path.contains(".v1alpha.") {
            return Err(refuse(http::StatusCode::NOT_FOUND, "Not Found"));
        }
        let token_forms = record
            .credentials
            .iter()
            .filter(|c| matches!(c, CredentialForm::TokenHeader | CredentialForm::TokenQuery))
            .count();
        return match &record.token {
            Some(token) if token_forms == 1 && shared.use_token(token) => Ok(response),
            _ => Err(refuse(http::StatusCode::UNAUTHORIZED, UNREGISTERED)),
        };
    }
    if !record.path.ends_with("BidiGenerateContent") {
        return Err(refuse(http::StatusCode::NOT_FOUND, "Not Found"));
    }
    if record.credentials.contains(&CredentialForm::None) {
        return Err(refuse(http::StatusCode::UNAUTHORIZED, UNREGISTERED));
    }
    // An ephemeral token off the constrained path (§1.2: v1alpha constrained only), or
    // sent where an API key goes.
    if record.key_is_token {
        return Err(refuse(http::StatusCode::BAD_REQUEST, KEY_NOT_VALID));
    }
    if record
        .credentials
        .iter()
        .any(|c| matches!(c, CredentialForm::TokenHeader | CredentialForm::TokenQuery))
    {
        return Err(refuse(http::StatusCode::UNAUTHORIZED, UNREGISTERED));
    }
    Ok(response)
}

/// The refusal of an API key that is not one (here: an ephemeral token sent as a key).
pub const KEY_NOT_VALID: &str = "API key not valid. Please pass a valid API key.";
