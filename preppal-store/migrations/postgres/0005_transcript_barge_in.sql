-- A transcript entry notes a barge-in: `interrupted` when the candidate cut the
-- interviewer's turn short, and `heard_text`, the part of the text played before the cut.
-- Rows stored before this migration read as not interrupted, with no heard text.
ALTER TABLE transcript_entries ADD COLUMN interrupted BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE transcript_entries ADD COLUMN heard_text TEXT;
