-- The interview plan (round type, difficulty, competencies, follow-up policy) as a JSON
-- snapshot taken at creation, like the job description and resume; NULL for interviews
-- made before plans existed.
ALTER TABLE interviews ADD COLUMN plan_json TEXT;
