//! The document library procedures: `jobDescription.*` and `resume.*`, each within the
//! user's library quota (409 `QUOTA_EXCEEDED`, see [`crate::server::web::quota`]).

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use preppal_store::{LibraryItem, LibraryKind};

use super::{check_document, store_err, ApiResult, ErrorBody, NoInput};
use crate::api::library::{
    Deleted, DocumentId, DocumentInput, JobDescriptionList, ResumeList, SavedJobDescription,
    SavedResume,
};
use crate::server::web::auth::CurrentUser;
use crate::server::web::error::ApiError;
use crate::server::web::input::Input;
use crate::server::web::state::AppState;

fn check_title(title: &str) -> Result<(), ApiError> {
    if title.trim().is_empty() || title.len() > 200 {
        return Err(ApiError::BadRequest("title must be 1 to 200 bytes".into()));
    }
    Ok(())
}

/// Bytes a document takes in the library quota: its title and content (UTF-8).
fn byte_len(title: &str, content: &str) -> i64 {
    i64::try_from(title.len() + content.len()).unwrap_or(i64::MAX)
}

/// Checks a document's title and content; its trimmed title.
fn checked(input: &DocumentInput) -> Result<&str, ApiError> {
    check_title(&input.title)?;
    check_document("content", &input.content)?;
    Ok(input.title.trim())
}

/// The `id` an update names.
///
/// # Errors
/// [`ApiError::BadRequest`] without one.
fn update_id(input: &DocumentInput) -> Result<String, ApiError> {
    input
        .id
        .clone()
        .ok_or_else(|| ApiError::BadRequest("id is required".into()))
}

/// Creates (`id: None`) or updates a document of the `kind` library within the quota.
async fn save(
    state: &AppState,
    user: &CurrentUser,
    kind: LibraryKind,
    id: Option<String>,
    input: &DocumentInput,
) -> Result<LibraryItem, ApiError> {
    let title = checked(input)?;
    let s = state.store.as_ref();
    let new_bytes = byte_len(title, &input.content);
    let (added_documents, added_bytes) = match &id {
        None => (1, new_bytes),
        Some(id) => {
            let old = s
                .get_library_item(kind, &user.id, id)
                .await
                .map_err(store_err(kind.what()))?;
            (0, new_bytes - byte_len(&old.title, &old.content))
        }
    };
    let write = async {
        match &id {
            None => {
                s.create_library_item(kind, &user.id, title, &input.content)
                    .await
            }
            Some(id) => {
                s.update_library_item(kind, &user.id, id, title, &input.content)
                    .await
            }
        }
        .map_err(store_err(kind.what()))
    };
    state
        .library_quota
        .write(s, &user.id, added_documents, added_bytes, write)
        .await
}

/// The user's documents of the `kind` library.
async fn list(
    state: &AppState,
    user: &CurrentUser,
    kind: LibraryKind,
) -> Result<Vec<LibraryItem>, ApiError> {
    state
        .store
        .list_library_items(kind, &user.id)
        .await
        .map_err(store_err(kind.what()))
}

/// Deletes a document of the `kind` library.
async fn delete(
    state: &AppState,
    user: &CurrentUser,
    kind: LibraryKind,
    id: &str,
) -> ApiResult<Deleted> {
    state
        .store
        .delete_library_item(kind, &user.id, id)
        .await
        .map_err(store_err(kind.what()))?;
    Ok(Json(Deleted { deleted: true }))
}

procedure!(
    "/api/jobDescription.list",
    NoInput,
    JobDescriptionList,
    "The user's job descriptions",
    /// `jobDescription.list`.
    pub async fn job_description_list(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
    ) -> ApiResult<JobDescriptionList> {
        let items = list(&state, &user, LibraryKind::JobDescription).await?;
        Ok(Json(JobDescriptionList {
            items: items.into_iter().map(Into::into).collect(),
        }))
    }
);

procedure!(
    "/api/jobDescription.create",
    DocumentInput,
    SavedJobDescription,
    "Save a job description",
    /// `jobDescription.create` (an `id` in the input is ignored).
    pub async fn job_description_create(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<DocumentInput>,
    ) -> ApiResult<SavedJobDescription> {
        let saved = save(&state, &user, LibraryKind::JobDescription, None, &input).await?;
        Ok(Json(SavedJobDescription(saved.into())))
    }
);

procedure!(
    "/api/jobDescription.update",
    DocumentInput,
    SavedJobDescription,
    "Update a job description",
    /// `jobDescription.update`: 400 without an `id`.
    pub async fn job_description_update(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<DocumentInput>,
    ) -> ApiResult<SavedJobDescription> {
        let id = update_id(&input)?;
        let saved = save(&state, &user, LibraryKind::JobDescription, Some(id), &input).await?;
        Ok(Json(SavedJobDescription(saved.into())))
    }
);

procedure!(
    "/api/jobDescription.delete",
    DocumentId,
    Deleted,
    "Delete a job description",
    /// `jobDescription.delete`.
    pub async fn job_description_delete(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<DocumentId>,
    ) -> ApiResult<Deleted> {
        delete(&state, &user, LibraryKind::JobDescription, &input.id).await
    }
);

procedure!(
    "/api/resume.list",
    NoInput,
    ResumeList,
    "The user's resumes",
    /// `resume.list`.
    pub async fn resume_list(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
    ) -> ApiResult<ResumeList> {
        let items = list(&state, &user, LibraryKind::Resume).await?;
        Ok(Json(ResumeList {
            items: items.into_iter().map(Into::into).collect(),
        }))
    }
);

procedure!(
    "/api/resume.create",
    DocumentInput,
    SavedResume,
    "Save a resume",
    /// `resume.create` (an `id` in the input is ignored).
    pub async fn resume_create(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<DocumentInput>,
    ) -> ApiResult<SavedResume> {
        let saved = save(&state, &user, LibraryKind::Resume, None, &input).await?;
        Ok(Json(SavedResume(saved.into())))
    }
);

procedure!(
    "/api/resume.update",
    DocumentInput,
    SavedResume,
    "Update a resume",
    /// `resume.update`: 400 without an `id`.
    pub async fn resume_update(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<DocumentInput>,
    ) -> ApiResult<SavedResume> {
        let id = update_id(&input)?;
        let saved = save(&state, &user, LibraryKind::Resume, Some(id), &input).await?;
        Ok(Json(SavedResume(saved.into())))
    }
);

procedure!(
    "/api/resume.delete",
    DocumentId,
    Deleted,
    "Delete a resume",
    /// `resume.delete`.
    pub async fn resume_delete(
        State(state): State<Arc<AppState>>,
        user: CurrentUser,
        Input(input): Input<DocumentId>,
    ) -> ApiResult<Deleted> {
        delete(&state, &user, LibraryKind::Resume, &input.id).await
    }
);
