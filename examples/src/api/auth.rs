//! Sign-in (`/api/auth/*`) and `user.getProfile`.

use preppal_store::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::records::UserRecord;

/// Input of `POST /api/auth/dev`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DevSignIn {
    /// Email address; the user is created on first sign-in.
    pub email: String,
    /// Display name; defaults to the part of the email before `@`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Reply of `POST /api/auth/dev`: the user and the session token (also set as the session
/// cookie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DevSession {
    /// The signed-in user.
    #[schema(value_type = UserRecord)]
    pub user: User,
    /// The session JWT, for `Authorization: Bearer …`.
    pub session_token: String,
}

/// Reply of `POST /api/auth/methods`: the sign-in methods on offer, and whether the
/// request carries a valid session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignInMethods {
    /// Dev sign-in (`/api/auth/dev`) is on.
    pub dev: bool,
    /// Google sign-in (`/api/auth/google/start`) is configured.
    pub google: bool,
    /// The request carries a valid session.
    pub signed_in: bool,
}

/// Reply of `POST /api/auth/signout`: `{"ok": true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignedOut {
    /// Always `true`.
    pub ok: bool,
}

/// Who plays the interviewer, in `user.getProfile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InterviewerInfo {
    /// `"offline_demo"` (the built-in scripted simulator) or `"gemini"` (the Gemini Live
    /// API).
    pub kind: String,
    /// Whether the candidate's speech is transcribed (not by the offline demo).
    pub transcribes_candidate: bool,
}

/// Reply of `user.getProfile`: the user's fields and `interviewer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    /// The user (its fields sit at the top level).
    #[serde(flatten)]
    #[schema(value_type = UserRecord)]
    pub user: User,
    /// Who plays the interviewer on this server.
    pub interviewer: InterviewerInfo,
}
