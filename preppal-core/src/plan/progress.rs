//! Progress per competency: each competency's score across the interviews of one job (and
//! answer mode) and round type, oldest first, with its latest score and trend.
//!
//! Pure: the caller names each interview's job and mode (the grouping key of the progress
//! groups) and gives its plan and, when its feedback has one, its [`PlanAssessment`].

use std::collections::HashMap;

use serde::Serialize;

use super::{InterviewPlan, PlanAssessment, RoundType};

/// One completed interview as [`competency_progress`] reads it.
#[derive(Debug, Clone, Copy)]
pub struct PlannedInterview<'a> {
    /// Its id.
    pub interview_id: &'a str,
    /// The job it was for (the job description's title).
    pub job: &'a str,
    /// `"voice"` or `"text"`.
    pub mode: &'a str,
    /// Its plan.
    pub plan: &'a InterviewPlan,
    /// Its feedback's assessment against the plan, if any.
    pub assessment: Option<&'a PlanAssessment>,
}

/// Which way a competency's score went, from the first scored interview to the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScoreTrend {
    /// The latest score is higher than the first.
    Improving,
    /// The latest score is lower than the first.
    Declining,
    /// Scored at least twice, first and latest equal.
    Steady,
    /// Scored fewer than twice.
    Unknown,
}

impl ScoreTrend {
    /// The trend of `scores` (oldest first, `None` where not scored).
    pub fn of(scores: &[Option<u8>]) -> Self {
        let scored: Vec<u8> = scores.iter().flatten().copied().collect();
        match (scored.first(), scored.last()) {
            (Some(first), Some(last)) if scored.len() >= 2 => match last.cmp(first) {
                std::cmp::Ordering::Greater => Self::Improving,
                std::cmp::Ordering::Less => Self::Declining,
                std::cmp::Ordering::Equal => Self::Steady,
            },
            _ => Self::Unknown,
        }
    }
}

/// One competency followed across the interviews of a job, mode and round type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CompetencyProgress {
    /// The job (same key as the progress groups).
    pub job: String,
    /// `"voice"` or `"text"`.
    pub mode: String,
    /// The round type of these interviews.
    pub round_type: RoundType,
    /// The competency's stable id ([`super::Competency::id`]).
    pub competency_id: String,
    /// Its name, as the newest interview that has it names it.
    pub name: String,
    /// The interviews of this job, mode and round type, oldest first.
    pub interview_ids: Vec<String>,
    /// The score (1..=4) in each of those interviews, `None` where it was not scored.
    pub scores: Vec<Option<u8>>,
    /// The latest score given, if any.
    pub latest: Option<u8>,
    /// From the first scored value to the latest.
    pub trend: ScoreTrend,
}

/// Each competency's scores across `interviews` (oldest first), one entry per (job, mode,
/// round type, competency) in the order first seen. A competency counts as seen when an
/// interview's plan lists it or its assessment scores it.
pub fn competency_progress(interviews: &[PlannedInterview<'_>]) -> Vec<CompetencyProgress> {
    type Key<'a> = (&'a str, &'a str, RoundType);
    let mut sets: HashMap<Key<'_>, Vec<&PlannedInterview<'_>>> = HashMap::new();
    let mut order: Vec<Key<'_>> = Vec::new();
    for i in interviews {
        let key = (i.job, i.mode, i.plan.round_type);
        if !sets.contains_key(&key) {
            order.push(key);
        }
        sets.entry(key).or_default().push(i);
    }
    let mut out = Vec::new();
    for key in order {
        let members = &sets[&key];
        // Competencies in first-seen order, with their newest name.
        let mut seen: Vec<(String, String)> = Vec::new();
        for m in members {
            let planned = m.plan.competencies.iter().map(|c| (&c.id, &c.name));
            let scored = m
                .assessment
                .into_iter()
                .flat_map(|a| a.competency_scores.iter())
                .map(|s| (&s.competency_id, &s.name));
            for (id, name) in planned.chain(scored) {
                match seen.iter_mut().find(|(i, _)| i == id) {
                    Some(entry) => entry.1.clone_from(name),
                    None => seen.push((id.clone(), name.clone())),
                }
            }
        }
        for (id, name) in seen {
            let scores: Vec<Option<u8>> = members
                .iter()
                .map(|m| {
                    m.assessment?
                        .competency_scores
                        .iter()
                        .find(|s| s.competency_id == id)
                        .map(|s| s.score)
                })
                .collect();
            out.push(CompetencyProgress {
                job: key.0.to_owned(),
                mode: key.1.to_owned(),
                round_type: key.2,
                competency_id: id,
                name,
                interview_ids: members.iter().map(|m| m.interview_id.to_owned()).collect(),
                latest: scores.iter().rev().flatten().next().copied(),
                trend: ScoreTrend::of(&scores),
                scores,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{CompetencyScore, Difficulty};
    use super::*;

    const JD: &str = include_str!("../../../fixtures/interviews/backend-engineer.jd.txt");
    const CV: &str = include_str!("../../../fixtures/interviews/backend-engineer.resume.txt");

    fn plan(r: RoundType) -> InterviewPlan {
        InterviewPlan::derive(JD, CV, r, Difficulty::Mid, 30 * 60_000)
    }

    fn scored(plan: &InterviewPlan, scores: &[(usize, u8)]) -> PlanAssessment {
        PlanAssessment {
            competency_scores: scores
                .iter()
                .filter_map(|&(i, s)| {
                    let c = &plan.competencies[i];
                    CompetencyScore::new(&c.id, &c.name, s, "", vec!["q".into()])
                })
                .collect(),
            ..PlanAssessment::default()
        }
    }

    fn at<'a>(all: &'a [CompetencyProgress], job: &str, id: &str) -> &'a CompetencyProgress {
        all.iter()
            .find(|c| c.job == job && c.competency_id == id)
            .unwrap_or_else(|| panic!("{job}/{id} missing from {all:?}"))
    }

    #[test]
    fn scores_across_interviews_of_one_job_give_the_trend() {
        let p = plan(RoundType::Technical);
        assert!(p.competencies.len() >= 2);
        let (a0, b0) = (&p.competencies[0].id, &p.competencies[1].id);
        let first = scored(&p, &[(0, 2), (1, 4)]);
        let second = scored(&p, &[(0, 3)]);
        let i = |id, a| PlannedInterview {
            interview_id: id,
            job: "Backend",
            mode: "text",
            plan: &p,
            assessment: Some(a),
        };
        let all = competency_progress(&[i("i1", &first), i("i2", &second)]);
        let a = at(&all, "Backend", a0);
        assert_eq!(a.scores, vec![Some(2), Some(3)]);
        assert_eq!(a.latest, Some(3));
        assert_eq!(a.trend, ScoreTrend::Improving);
        assert_eq!(a.interview_ids, vec!["i1", "i2"]);
        assert_eq!(a.round_type, RoundType::Technical);
        // Scored in the first interview only: one value, no trend.
        let b = at(&all, "Backend", b0);
        assert_eq!(b.scores, vec![Some(4), None]);
        assert_eq!(b.latest, Some(4));
        assert_eq!(b.trend, ScoreTrend::Unknown);
        // Every planned competency is listed once.
        assert_eq!(all.len(), p.competencies.len());
    }

    #[test]
    fn different_jobs_and_round_types_are_kept_apart() {
        let t = plan(RoundType::Technical);
        let id = &t.competencies[0].id;
        let high = scored(&t, &[(0, 4)]);
        let low = scored(&t, &[(0, 1)]);
        let all = competency_progress(&[
            PlannedInterview {
                interview_id: "a",
                job: "Backend",
                mode: "text",
                plan: &t,
                assessment: Some(&high),
            },
            PlannedInterview {
                interview_id: "b",
                job: "Frontend",
                mode: "text",
                plan: &t,
                assessment: Some(&low),
            },
        ]);
        let a = at(&all, "Backend", id);
        let b = at(&all, "Frontend", id);
        assert_eq!(
            (a.scores.clone(), a.trend),
            (vec![Some(4)], ScoreTrend::Unknown)
        );
        assert_eq!((b.scores.clone(), b.latest), (vec![Some(1)], Some(1)));

        let beh = plan(RoundType::Behavioral);
        let all = competency_progress(&[
            PlannedInterview {
                interview_id: "a",
                job: "Backend",
                mode: "text",
                plan: &t,
                assessment: Some(&high),
            },
            PlannedInterview {
                interview_id: "c",
                job: "Backend",
                mode: "text",
                plan: &beh,
                assessment: None,
            },
        ]);
        assert!(all
            .iter()
            .all(|c| c.scores.len() == 1 && c.interview_ids.len() == 1));
        assert!(all
            .iter()
            .any(|c| c.round_type == RoundType::Behavioral && c.latest.is_none()));
    }

    #[test]
    fn trends_compare_first_and_latest_scores() {
        assert_eq!(
            ScoreTrend::of(&[Some(3), None, Some(2)]),
            ScoreTrend::Declining
        );
        assert_eq!(
            ScoreTrend::of(&[Some(3), Some(1), Some(3)]),
            ScoreTrend::Steady
        );
        assert_eq!(ScoreTrend::of(&[None, Some(3)]), ScoreTrend::Unknown);
        assert_eq!(ScoreTrend::of(&[]), ScoreTrend::Unknown);
    }
}
