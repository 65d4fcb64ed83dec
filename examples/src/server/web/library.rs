//! The user's library of job descriptions and resumes: which library a procedure works
//! on ([`Library`]) and how long one document may be ([`MAX_DOCUMENT_BYTES`]). Shared by
//! the JSON API and the PDF text extraction.

use preppal_store::LibraryKind;

/// Longest job description or resume accepted, in bytes (64 KiB).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Which library a library procedure works on: `jobDescription.*` or `resume.*` (the
/// store's [`LibraryKind`]).
pub type Library = LibraryKind;
