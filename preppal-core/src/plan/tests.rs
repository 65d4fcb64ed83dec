use super::*;

const BACKEND_JD: &str = include_str!("../../../fixtures/interviews/backend-engineer.jd.txt");
const BACKEND_CV: &str = include_str!("../../../fixtures/interviews/backend-engineer.resume.txt");
const PM_JD: &str = include_str!("../../../fixtures/interviews/product-manager.jd.txt");
const PM_CV: &str = include_str!("../../../fixtures/interviews/product-manager.resume.txt");

const MIN: u64 = 60_000;

fn ids(p: &InterviewPlan) -> Vec<&str> {
    p.competencies.iter().map(|c| c.id.as_str()).collect()
}

fn plan(jd: &str, cv: &str, r: RoundType, d: Difficulty, minutes: u64) -> InterviewPlan {
    InterviewPlan::derive(jd, cv, r, d, minutes * MIN)
}

#[test]
fn backend_technical_plan_names_the_real_requirements() {
    let p = plan(
        BACKEND_JD,
        BACKEND_CV,
        RoundType::Technical,
        Difficulty::Mid,
        30,
    );
    assert_eq!(p.main_questions, 5);
    let c = |id: &str| {
        p.competencies
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("{id} missing from {:?}", ids(&p)))
    };
    let net = c("concurrency_networking");
    assert!(
        net.why
            .contains("Deep understanding of async I/O, concurrency and networking"),
        "{}",
        net.why
    );
    assert_eq!(net.source, CompetencySource::Both);
    assert!(
        net.key_terms.iter().any(|t| t == "TCP"),
        "{:?}",
        net.key_terms
    );
    let rel = c("reliability");
    assert!(
        rel.why
            .contains("backpressure, retries, idempotent consumers"),
        "{}",
        rel.why
    );
    assert!(p
        .competencies
        .iter()
        .all(|c| c.kind == RoundType::Technical));
    // Every main question is dealt to a competency.
    assert_eq!(p.competencies.iter().map(|c| c.questions).sum::<u32>(), 5);
}

#[test]
fn product_manager_behavioral_plan_comes_from_its_own_texts() {
    let p = plan(PM_JD, PM_CV, RoundType::Behavioral, Difficulty::Mid, 30);
    let ids = ids(&p);
    assert!(ids.contains(&"communication"), "{ids:?}");
    assert!(
        ids.contains(&"customer_focus") || ids.contains(&"prioritisation"),
        "{ids:?}"
    );
    assert!(!ids.contains(&"concurrency_networking"));
    let comm = p
        .competencies
        .iter()
        .find(|c| c.id == "communication")
        .unwrap();
    assert!(
        comm.why.contains("Strong written and verbal communication"),
        "{}",
        comm.why
    );
    assert!(p
        .competencies
        .iter()
        .all(|c| c.kind == RoundType::Behavioral));
    // The PM texts name no backend technologies.
    let backend = plan(
        BACKEND_JD,
        BACKEND_CV,
        RoundType::Behavioral,
        Difficulty::Mid,
        30,
    );
    assert_ne!(p.competencies, backend.competencies);
}

#[test]
fn round_types_give_different_plans() {
    let plans: Vec<InterviewPlan> = RoundType::ALL
        .into_iter()
        .map(|r| plan(BACKEND_JD, BACKEND_CV, r, Difficulty::Mid, 30))
        .collect();
    for (i, a) in plans.iter().enumerate() {
        for b in &plans[i + 1..] {
            assert_ne!(ids(a), ids(b), "{:?} vs {:?}", a.round_type, b.round_type);
        }
    }
    let mixed = &plans[3];
    let kinds: Vec<RoundType> = mixed.competencies.iter().map(|c| c.kind).collect();
    assert!(kinds.contains(&RoundType::Behavioral) && kinds.contains(&RoundType::Technical));
    // Mixed rounds alternate kinds from the start.
    assert_ne!(kinds[0], kinds[1]);
    let design = &plans[2];
    assert_eq!(
        design.main_questions, 2,
        "30 min at 15 min per design question"
    );
    assert!(ids(design).contains(&"scalability"));
}

#[test]
fn difficulty_changes_the_plan() {
    let junior = plan(
        BACKEND_JD,
        BACKEND_CV,
        RoundType::Behavioral,
        Difficulty::Junior,
        30,
    );
    let mid = plan(
        BACKEND_JD,
        BACKEND_CV,
        RoundType::Behavioral,
        Difficulty::Mid,
        30,
    );
    let senior = plan(
        BACKEND_JD,
        BACKEND_CV,
        RoundType::Behavioral,
        Difficulty::Senior,
        30,
    );
    let staff = plan(
        BACKEND_JD,
        BACKEND_CV,
        RoundType::Behavioral,
        Difficulty::Staff,
        30,
    );
    assert_eq!(
        [
            junior.main_questions,
            mid.main_questions,
            senior.main_questions,
            staff.main_questions
        ],
        [7, 6, 5, 4]
    );
    assert_eq!(junior.competencies.last().unwrap().id, "learning");
    assert_eq!(
        senior.competencies.last().unwrap().id,
        "technical_leadership"
    );
    assert_eq!(staff.competencies.last().unwrap().id, "influence");
    assert!(!ids(&mid).contains(&"learning"));
    assert!(staff.expectations.contains("across teams"));
    assert_ne!(junior.expectations, mid.expectations);
}

#[test]
fn counts_follow_the_length() {
    let counts: Vec<u32> = [1, 10, 30, 60, 120]
        .into_iter()
        .map(|m| plan(BACKEND_JD, BACKEND_CV, RoundType::Mixed, Difficulty::Mid, m).main_questions)
        .collect();
    assert_eq!(counts, [1, 2, 6, 12, 24]);
    let short = plan(
        BACKEND_JD,
        BACKEND_CV,
        RoundType::Mixed,
        Difficulty::Mid,
        10,
    );
    assert_eq!(short.competencies.len(), MIN_COMPETENCIES);
    let long = plan(
        BACKEND_JD,
        BACKEND_CV,
        RoundType::Mixed,
        Difficulty::Mid,
        60,
    );
    assert_eq!(long.competencies.len(), MAX_COMPETENCIES);
    assert_eq!(
        long.competencies.iter().map(|c| c.questions).sum::<u32>(),
        12
    );
}

#[test]
fn empty_texts_fall_back_to_the_round_defaults() {
    let p = plan("", "", RoundType::SystemDesign, Difficulty::Mid, 45);
    assert_eq!(ids(&p), ["distributed_design", "scalability"]);
    assert!(p
        .competencies
        .iter()
        .all(|c| c.source == CompetencySource::Round));
    assert!(p.competencies[0].why.contains("system design round"));
}

#[test]
fn plan_round_trips_through_json_with_snake_case_names() {
    let p = plan(
        BACKEND_JD,
        BACKEND_CV,
        RoundType::SystemDesign,
        Difficulty::Staff,
        30,
    )
    .with_answer_time_limit(Some(120));
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["round_type"], "system_design");
    assert_eq!(json["difficulty"], "staff");
    assert_eq!(json["answer_time_limit_secs"], 120);
    assert_eq!(json["follow_up"]["max_probes"], 2);
    let back: InterviewPlan = serde_json::from_value(json).unwrap();
    assert_eq!(back, p);
}

#[test]
fn option_names_parse_and_refuse_with_a_typed_error() {
    assert_eq!(
        "system_design".parse::<RoundType>(),
        Ok(RoundType::SystemDesign)
    );
    assert_eq!("staff".parse::<Difficulty>(), Ok(Difficulty::Staff));
    assert_eq!(
        "hard".parse::<Difficulty>(),
        Err(PlanOptionError::Difficulty("hard".into()))
    );
    assert!(matches!(
        "System Design".parse::<RoundType>(),
        Err(PlanOptionError::RoundType(_))
    ));
}

const FULL: &str = "Last year at Parcelwise our webhook deliveries were duplicated. \
    My task was to stop the duplicates. I introduced idempotency keys and I wrote an outbox \
    table. As a result duplicate deliveries dropped by 97%.";

#[test]
fn star_check_finds_every_part_of_a_full_answer() {
    let s = star_check(FULL);
    assert!(
        s.situation && s.task && s.action && s.result && s.numbers,
        "{s:?}"
    );
    assert_eq!(s.letters(), "STAR");
    assert!(s.missing().is_empty());
    assert_eq!((s.i_count, s.we_count), (3, 1));
    assert_eq!(s.i_share_percent(), Some(75));
}

#[test]
fn star_check_notices_each_missing_part() {
    let no_situation = "My task was to stop the duplicates. I introduced idempotency keys, and \
        duplicates dropped by 97%.";
    let s = star_check(no_situation);
    assert_eq!(s.missing(), ["situation"], "{s:?}");

    let no_task = "Last year our webhooks were duplicated. I introduced idempotency keys and \
        duplicates dropped by 97%.";
    assert_eq!(star_check(no_task).missing(), ["task"]);

    let no_action = "Last year our webhooks were duplicated. My task was to stop that. The team \
        added idempotency keys and duplicates dropped by 97%.";
    assert_eq!(star_check(no_action).missing(), ["action"]);

    let no_result = "Last year our webhooks were duplicated. My task was to stop that. I \
        introduced idempotency keys and an outbox table.";
    let s = star_check(no_result);
    assert_eq!(s.missing(), ["result"]);
    assert_eq!(s.letters(), "STA-");
}

#[test]
fn star_check_counts_we_against_i() {
    let s = star_check("We rewrote the service and we shipped it; our latency fell.");
    assert_eq!((s.i_count, s.we_count), (0, 3));
    assert_eq!(s.i_share_percent(), Some(0));
    assert!(!s.action, "no I, no own action");
    assert!(s.result);
    assert_eq!(star_check("Hard to say.").i_share_percent(), None);
    // "I" in the middle of words is not counted.
    assert_eq!(star_check("It is idempotent.").i_count, 0);
}

#[test]
fn follow_up_policy_asks_for_the_result_then_moves_on_after_two_probes() {
    let policy = FollowUpPolicy::default();
    let no_result = "Last year our webhooks were duplicated. My task was to stop that. I \
        introduced idempotency keys and an outbox table for the webhook deliveries, working \
        with the partner teams for weeks until everything was in place across the services.";
    assert_eq!(policy.next_probe(no_result, 0), Some(Probe::Result));
    assert_eq!(policy.next_probe(no_result, 1), Some(Probe::Result));
    assert_eq!(policy.next_probe(no_result, 2), None);
    assert_eq!(
        policy.next_probe("I fixed it.", 0),
        Some(Probe::Result),
        "short"
    );
    assert_eq!(policy.next_probe(FULL, 0), None);
    let we_only = "Last year we had duplicated webhooks. Our goal was to stop them. The team \
        added keys and duplicates dropped by 97% over the following two months of work.";
    assert_eq!(policy.next_probe(we_only, 0), Some(Probe::Action));
    let no_numbers = "Last year we had slow pages. My task was to fix them. I profiled the \
        service and rewrote the hot path, and as a result the pages got much faster for \
        everyone who used them every day.";
    assert_eq!(policy.next_probe(no_numbers, 0), Some(Probe::Numbers));
}

#[test]
fn rubric_has_four_levels_per_round_type() {
    for r in RoundType::ALL {
        let levels = rubric(r);
        assert_eq!(levels.map(|l| l.score), [1, 2, 3, 4]);
        assert!(levels.iter().all(|l| l.description.len() > 40));
    }
    assert_ne!(
        rubric(RoundType::Behavioral)[2],
        rubric(RoundType::SystemDesign)[2]
    );
    assert!(rubric::rubric_text(RoundType::Technical).starts_with("1 (Not shown):"));
}

#[test]
fn coverage_by_key_terms() {
    let p = plan(
        BACKEND_JD,
        BACKEND_CV,
        RoundType::Technical,
        Difficulty::Mid,
        30,
    );
    let covered = p.covered_by(&["We moved to PostgreSQL partitioned tables."]);
    assert!(
        covered.iter().any(|c| c.id == "databases"),
        "{:?}",
        covered.iter().map(|c| &c.id).collect::<Vec<_>>()
    );
    assert!(p.covered_by(&["I like cats."]).is_empty());
}
