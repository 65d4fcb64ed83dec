//! The document library: `jobDescription.*` and `resume.*`.

use preppal_store::{JobDescription, Resume};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::records::LibraryDocumentRecord;

/// Longest job description or resume accepted, in bytes (64 KiB).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Input of `jobDescription.create`, `resume.create` and their `update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DocumentInput {
    /// The document id (update only; ignored by create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A short title, 1 to 200 bytes.
    pub title: String,
    /// The text, at most 64 KiB.
    pub content: String,
}

/// Input naming one library document (`*.delete`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DocumentId {
    /// The document id.
    pub id: String,
}

/// Reply of `jobDescription.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobDescriptionList {
    /// The user's job descriptions.
    #[schema(value_type = Vec<LibraryDocumentRecord>)]
    pub items: Vec<JobDescription>,
}

/// Reply of `resume.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResumeList {
    /// The user's resumes.
    #[schema(value_type = Vec<LibraryDocumentRecord>)]
    pub items: Vec<Resume>,
}

/// Reply of `jobDescription.create` and `jobDescription.update`: the saved document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = LibraryDocumentRecord)]
pub struct SavedJobDescription(pub JobDescription);

/// Reply of `resume.create` and `resume.update`: the saved document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = LibraryDocumentRecord)]
pub struct SavedResume(pub Resume);

/// Reply of `*.delete` and `interview.delete`: `{"deleted": true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Deleted {
    /// Always `true`.
    pub deleted: bool,
}

/// Reply of `document.extractText`: the text of a PDF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExtractedText {
    /// The text, pages in order.
    pub text: String,
    /// How many pages the PDF has.
    pub pages: usize,
}

/// The body of `document.extractText`: a file's bytes, the whole request body
/// (`application/pdf` or `application/octet-stream`), at most 4 MiB.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBody(pub Vec<u8>);
