-- Sign-in identities and session revocation.
-- auth_provider / auth_subject: the identity that owns the account ('dev' with the email,
-- 'google' with the ID token's sub); NULL for accounts stored before identities were
-- recorded, claimed by their next sign-in. session_version: bumped by sign-out; a session
-- token carrying an older version is refused.
ALTER TABLE users ADD COLUMN auth_provider TEXT;
ALTER TABLE users ADD COLUMN auth_subject TEXT;
ALTER TABLE users ADD COLUMN session_version BIGINT NOT NULL DEFAULT 0;
