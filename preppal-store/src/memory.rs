//! [`MemoryStore`]: everything in process memory, for tests, demos and the simulator.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use preppal_core::{Feedback, InterviewStatus, TranscriptEntry};

use crate::error::StoreError;
use crate::model::{
    self, HistoryCursor, Interview, Lease, LibraryItem, LibraryKind, NewInterview, Page,
    PageRequest, User,
};
use crate::store::InterviewStore;
use crate::validate;

/// An [`InterviewStore`] in process memory. Nothing survives the process.
///
/// Cloning is cheap and gives another handle on the same data. It needs no async runtime:
/// every call takes a std mutex for a short, await-free critical section.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<String, User>,
    /// user id → (provider, subject) of the identity owning the account.
    identities: HashMap<String, (String, String)>,
    /// user id → session version (absent: 0).
    session_versions: HashMap<String, u64>,
    user_by_email: HashMap<String, String>,
    job_descriptions: HashMap<String, LibraryItem>,
    resumes: HashMap<String, LibraryItem>,
    interviews: HashMap<String, InterviewRecord>,
    /// `(user_id, idempotency_key)` → interview id.
    by_key: HashMap<(String, String), String>,
}

#[derive(Debug)]
struct InterviewRecord {
    interview: Interview,
    transcript: BTreeMap<u32, TranscriptEntry>,
    feedback: Option<Feedback>,
    resumption_handle: Option<String>,
    lease: Option<Lease>,
}

impl State {
    fn library(&mut self, kind: LibraryKind) -> &mut HashMap<String, LibraryItem> {
        match kind {
            LibraryKind::JobDescription => &mut self.job_descriptions,
            LibraryKind::Resume => &mut self.resumes,
        }
    }

    fn record(&mut self, id: &str) -> Result<&mut InterviewRecord, StoreError> {
        self.interviews
            .get_mut(id)
            .ok_or(StoreError::not_found("interview"))
    }

    fn owned_record(
        &mut self,
        user_id: &str,
        id: &str,
    ) -> Result<&mut InterviewRecord, StoreError> {
        match self.interviews.get_mut(id) {
            Some(r) if r.interview.user_id == user_id => Ok(r),
            _ => Err(StoreError::not_found("interview")),
        }
    }

    fn create_library(
        &mut self,
        lib: LibraryKind,
        user_id: &str,
        title: &str,
        content: &str,
    ) -> Result<LibraryItem, StoreError> {
        validate::texts([user_id, title, content])?;
        if !self.users.contains_key(user_id) {
            return Err(StoreError::not_found("user"));
        }
        let now = model::now_ms();
        let item = LibraryItem {
            id: model::new_id(),
            user_id: user_id.to_owned(),
            title: title.to_owned(),
            content: content.to_owned(),
            created_at_ms: now,
            updated_at_ms: now,
        };
        self.library(lib).insert(item.id.clone(), item.clone());
        Ok(item)
    }

    fn list_library(&mut self, lib: LibraryKind, user_id: &str) -> Vec<LibraryItem> {
        let mut items: Vec<_> = self
            .library(lib)
            .values()
            .filter(|i| i.user_id == user_id)
            .cloned()
            .collect();
        items.sort_by(|a, b| (b.created_at_ms, &b.id).cmp(&(a.created_at_ms, &a.id)));
        items
    }

    fn owned_library(
        &mut self,
        lib: LibraryKind,
        user_id: &str,
        id: &str,
    ) -> Result<&mut LibraryItem, StoreError> {
        match self.library(lib).get_mut(id) {
            Some(i) if i.user_id == user_id => Ok(i),
            _ => Err(StoreError::not_found(lib.what())),
        }
    }

    fn update_library(
        &mut self,
        lib: LibraryKind,
        user_id: &str,
        id: &str,
        title: &str,
        content: &str,
    ) -> Result<LibraryItem, StoreError> {
        validate::texts([user_id, title, content])?;
        let item = self.owned_library(lib, user_id, id)?;
        item.title = title.to_owned();
        item.content = content.to_owned();
        item.updated_at_ms = model::now_ms();
        Ok(item.clone())
    }

    fn delete_library(
        &mut self,
        lib: LibraryKind,
        user_id: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        self.owned_library(lib, user_id, id)?;
        self.library(lib).remove(id);
        Ok(())
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Locks the state. A panic in another thread cannot leave it half-written (every
    /// call checks before it writes), so a poisoned lock is taken over.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl InterviewStore for MemoryStore {
    async fn upsert_user(&self, email: &str, name: &str) -> Result<User, StoreError> {
        validate::texts([email, name])?;
        let mut s = self.lock();
        if let Some(id) = s.user_by_email.get(email).cloned() {
            let user = s.users.get_mut(&id).ok_or(StoreError::not_found("user"))?;
            user.name = name.to_owned();
            return Ok(user.clone());
        }
        let user = User {
            id: model::new_id(),
            email: email.to_owned(),
            name: name.to_owned(),
            created_at_ms: model::now_ms(),
        };
        s.user_by_email.insert(email.to_owned(), user.id.clone());
        s.users.insert(user.id.clone(), user.clone());
        Ok(user)
    }

    async fn get_user(&self, user_id: &str) -> Result<User, StoreError> {
        self.lock()
            .users
            .get(user_id)
            .cloned()
            .ok_or(StoreError::not_found("user"))
    }

    async fn sign_in_user(
        &self,
        provider: &str,
        subject: &str,
        email: &str,
        name: &str,
    ) -> Result<User, StoreError> {
        validate::texts([provider, subject, email, name])?;
        let identity = (provider.to_owned(), subject.to_owned());
        let mut s = self.lock();
        if let Some(id) = s.user_by_email.get(email).cloned() {
            match s.identities.get(&id) {
                Some(owner) if *owner != identity => return Err(StoreError::IdentityConflict),
                Some(_) => {}
                None => {
                    s.identities.insert(id.clone(), identity);
                }
            }
            let user = s.users.get_mut(&id).ok_or(StoreError::not_found("user"))?;
            user.name = name.to_owned();
            return Ok(user.clone());
        }
        let user = User {
            id: model::new_id(),
            email: email.to_owned(),
            name: name.to_owned(),
            created_at_ms: model::now_ms(),
        };
        s.user_by_email.insert(email.to_owned(), user.id.clone());
        s.identities.insert(user.id.clone(), identity);
        s.users.insert(user.id.clone(), user.clone());
        Ok(user)
    }

    async fn session_version(&self, user_id: &str) -> Result<u64, StoreError> {
        let s = self.lock();
        if !s.users.contains_key(user_id) {
            return Err(StoreError::not_found("user"));
        }
        Ok(s.session_versions.get(user_id).copied().unwrap_or(0))
    }

    async fn revoke_sessions(&self, user_id: &str) -> Result<u64, StoreError> {
        let mut s = self.lock();
        if !s.users.contains_key(user_id) {
            return Err(StoreError::not_found("user"));
        }
        let v = s.session_versions.entry(user_id.to_owned()).or_insert(0);
        *v += 1;
        Ok(*v)
    }

    async fn create_library_item(
        &self,
        kind: LibraryKind,
        user_id: &str,
        title: &str,
        content: &str,
    ) -> Result<LibraryItem, StoreError> {
        self.lock().create_library(kind, user_id, title, content)
    }

    async fn list_library_items(
        &self,
        kind: LibraryKind,
        user_id: &str,
    ) -> Result<Vec<LibraryItem>, StoreError> {
        Ok(self.lock().list_library(kind, user_id))
    }

    async fn get_library_item(
        &self,
        kind: LibraryKind,
        user_id: &str,
        id: &str,
    ) -> Result<LibraryItem, StoreError> {
        Ok(self.lock().owned_library(kind, user_id, id)?.clone())
    }

    async fn update_library_item(
        &self,
        kind: LibraryKind,
        user_id: &str,
        id: &str,
        title: &str,
        content: &str,
    ) -> Result<LibraryItem, StoreError> {
        self.lock()
            .update_library(kind, user_id, id, title, content)
    }

    async fn delete_library_item(
        &self,
        kind: LibraryKind,
        user_id: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        self.lock().delete_library(kind, user_id, id)
    }

    async fn library_usage(&self, user_id: &str) -> Result<crate::LibraryUsage, StoreError> {
        let s = self.lock();
        let mut usage = crate::LibraryUsage::default();
        for item in s.job_descriptions.values().chain(s.resumes.values()) {
            if item.user_id == user_id {
                usage.documents += 1;
                usage.bytes += (item.title.len() + item.content.len()) as u64;
            }
        }
        Ok(usage)
    }

    async fn create_interview(&self, new: NewInterview) -> Result<Interview, StoreError> {
        validate::new_interview(&new)?;
        let mut s = self.lock();
        let key = (new.user_id.clone(), new.idempotency_key.clone());
        if let Some(existing) = s.by_key.get(&key).and_then(|id| s.interviews.get(id)) {
            return existing.interview.clone().idempotent_answer(&new);
        }
        if !s.users.contains_key(&new.user_id) {
            return Err(StoreError::not_found("user"));
        }
        if let Some(jd) = &new.job_description_id {
            s.owned_library(LibraryKind::JobDescription, &new.user_id, jd)?;
        }
        if let Some(r) = &new.resume_id {
            s.owned_library(LibraryKind::Resume, &new.user_id, r)?;
        }
        let interview = Interview::from_new(model::new_id(), &new, model::now_ms());
        s.by_key.insert(key, interview.id.clone());
        s.interviews.insert(
            interview.id.clone(),
            InterviewRecord {
                interview: interview.clone(),
                transcript: BTreeMap::new(),
                feedback: None,
                resumption_handle: None,
                lease: None,
            },
        );
        Ok(interview)
    }

    async fn get_interview(&self, user_id: &str, id: &str) -> Result<Interview, StoreError> {
        Ok(self.lock().owned_record(user_id, id)?.interview.clone())
    }

    async fn get_interview_unscoped(&self, id: &str) -> Result<Interview, StoreError> {
        Ok(self.lock().record(id)?.interview.clone())
    }

    async fn list_interviews(
        &self,
        user_id: &str,
        page: PageRequest,
    ) -> Result<Page<Interview>, StoreError> {
        let limit = page.clamped_limit();
        let cursor = HistoryCursor::decode(page.cursor.as_deref())?;
        let s = self.lock();
        let mut items: Vec<Interview> = s
            .interviews
            .values()
            .map(|r| &r.interview)
            .filter(|i| i.user_id == user_id && cursor.precedes(i))
            .cloned()
            .collect();
        drop(s);
        items.sort_by(|a, b| (b.created_at_ms, &b.id).cmp(&(a.created_at_ms, &a.id)));
        items.truncate(
            usize::try_from(limit)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        );
        Ok(model::into_page(items, limit))
    }

    async fn current_interview(&self, user_id: &str) -> Result<Option<Interview>, StoreError> {
        let s = self.lock();
        Ok(s.interviews
            .values()
            .map(|r| &r.interview)
            .filter(|i| {
                i.user_id == user_id
                    && matches!(
                        i.status,
                        InterviewStatus::Pending | InterviewStatus::InProgress
                    )
            })
            .max_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)))
            .cloned())
    }

    async fn interviews_in_progress(&self) -> Result<Vec<Interview>, StoreError> {
        let s = self.lock();
        let mut v: Vec<Interview> = s
            .interviews
            .values()
            .map(|r| &r.interview)
            .filter(|i| i.status == InterviewStatus::InProgress)
            .cloned()
            .collect();
        v.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        Ok(v)
    }

    async fn delete_interview(&self, user_id: &str, id: &str) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.owned_record(user_id, id)?;
        if let Some(r) = s.interviews.remove(id) {
            s.by_key
                .remove(&(r.interview.user_id, r.interview.idempotency_key));
        }
        Ok(())
    }

    async fn update_status(
        &self,
        id: &str,
        expected: InterviewStatus,
        to: InterviewStatus,
        ended_reason: Option<&str>,
        error_message: Option<&str>,
    ) -> Result<Interview, StoreError> {
        let moves = validate::status_update(expected, to, ended_reason, error_message)?;
        let mut s = self.lock();
        let i = &mut s.record(id)?.interview;
        if i.status != expected {
            return Err(StoreError::StaleStatus {
                expected,
                actual: i.status,
            });
        }
        if moves {
            let now = model::now_ms();
            i.status = to;
            if to == InterviewStatus::InProgress {
                i.started_at_ms = Some(now);
            }
            if to.is_terminal() {
                i.ended_at_ms = Some(now);
            }
            if let Some(r) = ended_reason {
                i.ended_reason = Some(r.to_owned());
            }
            if let Some(m) = error_message {
                i.error_message = Some(m.to_owned());
            }
        }
        Ok(i.clone())
    }

    async fn append_transcript(
        &self,
        id: &str,
        entries: &[TranscriptEntry],
    ) -> Result<u32, StoreError> {
        validate::transcript(entries)?;
        let mut s = self.lock();
        let transcript = &mut s.record(id)?.transcript;
        let mut stored = 0u32;
        let mut seen = std::collections::HashSet::new();
        for e in entries {
            // Of two entries with one sequence in a batch, the first sent is the one.
            if !seen.insert(e.sequence) {
                continue;
            }
            match transcript.entry(e.sequence) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    let mut e = e.clone();
                    e.heard_text = validate::stored_heard_text(&e).map(str::to_owned);
                    v.insert(e);
                    stored = stored.saturating_add(1);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    if validate::amend(o.get_mut(), e) {
                        stored = stored.saturating_add(1);
                    }
                }
            }
        }
        Ok(stored)
    }

    async fn get_transcript(&self, id: &str) -> Result<Vec<TranscriptEntry>, StoreError> {
        Ok(self
            .lock()
            .record(id)?
            .transcript
            .values()
            .cloned()
            .collect())
    }

    async fn put_feedback(&self, id: &str, feedback: &Feedback) -> Result<(), StoreError> {
        // Same validation and representation as the SQL backends.
        let doc = validate::feedback_document(feedback)?;
        let parsed = model::parse_feedback(&doc)?;
        self.lock().record(id)?.feedback = Some(parsed);
        Ok(())
    }

    async fn get_feedback(&self, id: &str) -> Result<Option<Feedback>, StoreError> {
        Ok(self.lock().record(id)?.feedback.clone())
    }

    async fn set_resumption_handle(
        &self,
        id: &str,
        handle: Option<&str>,
    ) -> Result<(), StoreError> {
        validate::texts(handle)?;
        self.lock().record(id)?.resumption_handle = handle.map(str::to_owned);
        Ok(())
    }

    async fn set_error_kind(&self, id: &str, error_kind: &str) -> Result<(), StoreError> {
        validate::texts([error_kind])?;
        self.lock().record(id)?.interview.error_kind = Some(error_kind.to_owned());
        Ok(())
    }

    async fn get_resumption_handle(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock().record(id)?.resumption_handle.clone())
    }

    async fn claim_lease(
        &self,
        id: &str,
        worker_id: &str,
        ttl_ms: u64,
        now_ms: i64,
    ) -> Result<Lease, StoreError> {
        let expires_at_ms = validate::lease_expiry(worker_id, ttl_ms, now_ms)?;
        let mut s = self.lock();
        let record = s.record(id)?;
        match &record.lease {
            Some(l) if l.worker_id != worker_id && l.expires_at_ms > now_ms => {
                Err(StoreError::LeaseHeld)
            }
            _ => {
                let lease = Lease {
                    interview_id: id.to_owned(),
                    worker_id: worker_id.to_owned(),
                    expires_at_ms,
                };
                record.lease = Some(lease.clone());
                Ok(lease)
            }
        }
    }

    async fn renew_lease(
        &self,
        id: &str,
        worker_id: &str,
        ttl_ms: u64,
        now_ms: i64,
    ) -> Result<Lease, StoreError> {
        let expires_at_ms = validate::lease_expiry(worker_id, ttl_ms, now_ms)?;
        let mut s = self.lock();
        match &mut s.record(id)?.lease {
            Some(l) if l.worker_id == worker_id => {
                l.expires_at_ms = expires_at_ms;
                Ok(l.clone())
            }
            _ => Err(StoreError::LeaseHeld),
        }
    }

    async fn release_lease(&self, id: &str, worker_id: &str) -> Result<(), StoreError> {
        let mut s = self.lock();
        let record = s.record(id)?;
        match &record.lease {
            None => Ok(()),
            Some(l) if l.worker_id == worker_id => {
                record.lease = None;
                Ok(())
            }
            Some(_) => Err(StoreError::LeaseHeld),
        }
    }
}
