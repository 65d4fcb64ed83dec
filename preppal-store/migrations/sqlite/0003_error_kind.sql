-- Why the model failed, for an interview that ended in ERROR because of it: "quota",
-- "authentication", "policy", "invalid_request", "service", "network" or "timeout"
-- (preppal_core::ModelErrorKind). NULL otherwise, and for interviews stored before it.
ALTER TABLE interviews ADD COLUMN error_kind TEXT;
