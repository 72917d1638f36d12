//! Conversations against the sample portfolio, natively: the same decisions the plugin
//! makes inside the host, without the host.

use crate::agent::{Action, Lead, Stats, Status, Turn};
use crate::data::sample;
use agenthost_sdk::time::{MS_PER_HOUR, MS_PER_MINUTE, days_from_civil};

const LEAD: &str = "+15557654321";

/// Sunday 2026-11-22 07:04 CST.
fn t0() -> u64 {
    days_from_civil(2026, 11, 22) as u64 * 86_400_000 + 13 * MS_PER_HOUR + 4 * MS_PER_MINUTE
}

struct Convo {
    lead: Lead,
    stats: Stats,
    now: u64,
}

impl Convo {
    fn new() -> Self {
        Convo {
            lead: Lead {
                number: LEAD.into(),
                ..Lead::default()
            },
            stats: Stats::default(),
            now: t0(),
        }
    }

    fn say(&mut self, body: &str) -> (String, Vec<Action>) {
        let p = sample();
        let mut turn = Turn::new(&p, self.now);
        turn.on_message(&mut self.lead, &mut self.stats, body, "conv-1");
        let reply = replies(&turn.actions);
        for r in &reply {
            assert!(agenthost_sdk::text::segments(&agenthost_sdk::text::fit_sms(r)) <= 3);
        }
        (reply.join("\n"), turn.actions)
    }

    fn followup(&mut self) -> (String, Vec<Action>) {
        let p = sample();
        let mut turn = Turn::new(&p, self.now);
        turn.on_followup(&mut self.lead, &mut self.stats);
        (replies(&turn.actions).join("\n"), turn.actions)
    }
}

fn replies(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Reply(t) => Some(t.clone()),
            Action::AskLlm { fallback, .. } => Some(fallback.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn named_building_availability_and_rent_come_from_the_data() {
    let mut c = Convo::new();
    let (reply, actions) = c.say("What's available at jeffery shores and how much is rent?");
    assert!(
        reply.starts_with("Hi, this is Lakefront Residential leasing."),
        "{reply}"
    );
    for needle in [
        "Jeffery Shores Apartments",
        "7130 S Jeffery Blvd",
        "1BR/1BA $1,025/mo",
        "avail now",
        "2BR/1BA $1,275/mo",
        "avail Dec 15",
        "2BR/1.5BA $1,325/mo",
        "avail Jan 1",
    ] {
        assert!(reply.contains(needle), "missing {needle:?} in {reply}");
    }
    assert!(reply.ends_with("How many bedrooms do you need?"), "{reply}");
    assert_eq!(c.lead.building.as_deref(), Some("jeffery-shores"));
    // A follow-up timer keyed per lead, after the office's silence hours.
    assert!(actions.iter().any(
        |a| matches!(a, Action::Schedule { key, name: "followup", delay_ms, payload, .. }
        if key == "followup:+15557654321" && *delay_ms == 24 * MS_PER_HOUR && payload == LEAD)
    ));
    assert_eq!(c.stats.leads_in, 1);
}

#[test]
fn qualifies_one_question_at_a_time_then_books_a_tour() {
    let mut c = Convo::new();
    c.say("Hi, do you allow dogs at Chatham Park Place?");
    assert_eq!(c.lead.building.as_deref(), Some("chatham-park-place"));
    let (r, _) = c.say("2");
    assert_eq!(c.lead.bedrooms, Some(2));
    assert!(r.contains("When are you looking to move in?"), "{r}");
    let (r, _) = c.say("December 1st");
    assert_eq!(c.lead.move_in.as_deref(), Some("2026-12-01"));
    assert!(r.contains("budget"), "{r}");
    let (r, _) = c.say("$1,200");
    assert_eq!(c.lead.budget, Some(1200));
    assert!(r.contains("pets"), "{r}");
    let (r, _) = c.say("one small dog");
    assert_eq!(c.lead.pets.map(|p| p.dogs), Some(true));
    // Qualified: the best fits across the portfolio (2BR, <= $1,200, dogs OK).
    assert!(r.contains("Good fits for you: Heights Garden (Chicago Heights) 2BR/1BA $1,050, avail Dec 1; Chatham Park Place (Chatham) 2BR/1BA $1,150, avail Dec 1"), "{r}");
    assert!(
        !r.contains("Jeffery") && !r.contains("Yates") && !r.contains("Evans"),
        "over budget or no dogs: {r}"
    );
    let (r, _) = c.say("yes I'd like a tour");
    assert!(
        r.contains("1) Mon Nov 23, 10am 2) Tue Nov 24, 2pm 3) Wed Nov 25, 5:30pm"),
        "{r}"
    );
    let (r, actions) = c.say("2");
    assert!(r.contains("You're booked: tour of Chatham Park Place on Tue Nov 24, 2pm at 8201 S Cottage Grove Ave"), "{r}");
    let tour = c.lead.tour.clone().unwrap();
    assert!(actions.iter().any(
        |a| matches!(a, Action::TrackSla { id, kind: "showing_scheduled", deadline_ms, .. }
        if id == "showing:+15557654321" && *deadline_ms == c.now + 48 * MS_PER_HOUR)
    ));
    assert_eq!(tour.label, "Tue Nov 24, 2pm");
    assert_eq!(c.stats.tours_booked, 1);
}

#[test]
fn proposed_time_books_when_inside_tour_hours() {
    let mut c = Convo::new();
    c.say("I want to see Yates Park");
    assert_eq!(c.lead.offered_slots.len(), 3);
    let (r, _) = c.say("how about friday at 3pm");
    assert!(
        r.contains("You're booked: tour of Yates Park Residences on Fri Nov 27, 3pm"),
        "{r}"
    );
}

#[test]
fn portfolio_questions_answer_across_buildings() {
    let mut c = Convo::new();
    let (r, _) = c.say("Do any of your buildings take dogs?");
    assert!(r.contains("Dogs are welcome at Jeffery Shores, Rainbow Beach Lofts, Chatham Park Place, King Drive and Heights Garden"), "{r}");
    let (r, _) = c.say("what's open in chatham? 3 bedroom");
    assert!(r.contains("in Chatham"), "{r}");
    assert!(
        r.contains("Chatham Park Place (Chatham) 3BR from $1,450"),
        "{r}"
    );
    assert!(r.contains("King Drive (Chatham) 3BR from $1,525"), "{r}");
    assert!(!r.contains("Evans"), "Evans has no 3BR: {r}");
}

#[test]
fn parking_and_pets_for_the_building_in_context() {
    let mut c = Convo::new();
    c.say("tell me about Rainbow Beach Lofts");
    let (r, _) = c.say("is there parking? and what about cats");
    assert!(r.contains("Parking: indoor garage, $95/mo."), "{r}");
    assert!(r.contains("Cats OK; dogs OK up to 60 lbs"), "{r}");
}

#[test]
fn not_interested_closes_and_cancels_the_follow_up() {
    let mut c = Convo::new();
    c.say("hi");
    let (r, actions) = c.say("found a place already, thanks");
    assert!(r.contains("good luck"), "{r}");
    assert_eq!(c.lead.status, Status::Dead);
    assert!(actions.contains(&Action::Cancel("followup:+15557654321".into())));
    assert_eq!(c.stats.dead_leads, 1);
    let (r, _) = c.say("ok thanks");
    assert!(r.is_empty(), "a closed lead's thanks gets no reply: {r}");
}

#[test]
fn handoff_alerts_once_and_then_goes_quiet() {
    let mut c = Convo::new();
    c.say("hello");
    let (r, actions) = c.say("this is ridiculous, nobody showed up");
    assert!(r.contains("a person will reach out"), "{r}");
    assert!(actions.iter().any(|a| matches!(a, Action::Alert { kind: "handoff", fields, .. }
        if fields.iter().any(|(k, v)| k == "lead" && v == LEAD) && fields.iter().any(|(k, v)| k == "last_message" && v.contains("ridiculous")))));
    assert_eq!(c.lead.status, Status::HandedOff);
    c.now += MS_PER_HOUR;
    let (r, _) = c.say("hello??");
    assert!(r.is_empty(), "already told within the day: {r}");
    c.now += 24 * MS_PER_HOUR;
    let (r, _) = c.say("anyone?");
    assert!(r.contains("team will reply"), "{r}");
}

#[test]
fn documents_go_on_the_sla_ladder() {
    let mut c = Convo::new();
    c.say("hi");
    let (r, actions) = c.say("I just uploaded my documents");
    assert!(
        r.contains("within 24 hours") && r.contains("48 hours"),
        "{r}"
    );
    assert!(actions.iter().any(|a| matches!(a, Action::TrackSla { kind: "doc_review", deadline_ms, .. } if *deadline_ms == c.now + 24 * MS_PER_HOUR)));
    assert!(actions.iter().any(|a| matches!(a, Action::TrackSla { kind: "application_decision", deadline_ms, .. } if *deadline_ms == c.now + 48 * MS_PER_HOUR)));
}

#[test]
fn follow_ups_nudge_then_close_after_the_maximum() {
    let mut c = Convo::new();
    c.say("how much is a 1 bedroom at yates?");
    for n in 1..=3 {
        c.now += 24 * MS_PER_HOUR;
        let (r, actions) = c.followup();
        assert!(!r.is_empty(), "nudge {n}");
        let rescheduled = actions.iter().any(|a| matches!(a, Action::Schedule { .. }));
        assert_eq!(rescheduled, n < 3, "nudge {n}");
    }
    assert_eq!(c.lead.status, Status::Dead);
    assert_eq!(c.lead.followup_due_ms, None);
    c.now += 24 * MS_PER_HOUR;
    assert!(c.followup().0.is_empty());
}

#[test]
fn stop_silences_and_cancels() {
    let mut c = Convo::new();
    c.say("hi");
    let (r, actions) = c.say("STOP");
    assert!(r.is_empty());
    assert!(actions.contains(&Action::Cancel("followup:+15557654321".into())));
    let (r, _) = c.say("what's available?");
    assert!(r.is_empty());
}

#[test]
fn help_and_unknown_messages() {
    let mut c = Convo::new();
    let (r, _) = c.say("HELP");
    assert!(r.contains("(773) 555-0142") && r.contains("STOP"), "{r}");
    c.say("hi");
    let (r, actions) = c.say("what's the meaning of life");
    assert!(actions.iter().any(|a| matches!(a, Action::AskLlm { .. })));
    assert!(
        r.contains("South Shore, Chatham and Chicago Heights"),
        "{r}"
    );
}

#[test]
fn owner_report_counts_and_resets() {
    let mut c = Convo::new();
    c.say("hi");
    c.say("I want to tour Jeffery Shores");
    c.say("1");
    let p = sample();
    let mut turn = Turn::new(&p, c.now);
    turn.owner_report(&mut c.stats);
    let Action::Alert {
        kind,
        message,
        fields,
        ..
    } = &turn.actions[0]
    else {
        panic!()
    };
    assert_eq!(*kind, "owner-report");
    assert!(
        message.contains("1 new leads")
            && message.contains("1 tours booked")
            && message.contains("3 replies sent"),
        "{message}"
    );
    assert!(fields.contains(&("tours_booked".into(), "1".into())));
    assert_eq!(c.stats.leads_in, 0);
}

#[test]
fn due_keys_sort_by_time() {
    let a = crate::agent::due_key(999, "+1");
    let b = crate::agent::due_key(1_000_000, "+1");
    assert!(a < b);
    assert_eq!(
        crate::agent::parse_due_key(&b),
        Some((1_000_000, "+1".into()))
    );
}

#[test]
fn llm_prompts_carry_the_recent_conversation() {
    use agenthost_sdk::llm::Role;
    use agenthost_sdk::{Direction, HistoryEntry};
    let entry = |direction, body: &str| HistoryEntry {
        direction,
        body: body.into(),
        at_ms: 0,
    };
    let mut history = vec![entry(Direction::Inbound, "too old to matter")];
    for i in 0..4 {
        history.push(entry(Direction::Inbound, &format!("lead {i}")));
        history.push(entry(Direction::Outbound, &format!("us {i}")));
    }
    let messages = super::chat_messages(&history, "is the gym open late?");
    assert_eq!(messages.len(), super::LLM_HISTORY + 1);
    assert_eq!(messages[0].content, "lead 0");
    assert!(matches!(messages[0].role, Role::User));
    assert!(matches!(messages[1].role, Role::Assistant));
    assert_eq!(messages[7].content, "us 3");
    let last = messages.last().unwrap();
    assert_eq!(last.content, "is the gym open late?");
    assert!(matches!(last.role, Role::User));
    assert_eq!(super::chat_messages(&[], "hi").len(), 1);
}

#[test]
fn a_stale_followup_firing_does_not_nudge_twice() {
    // After an outage both the timer job and the overdue sweep run the same follow-up.
    let mut c = Convo::new();
    c.say("What's available at jeffery shores?");
    c.now += 25 * MS_PER_HOUR;
    let (first, _) = c.followup();
    assert!(first.contains("checking in"), "{first}");
    assert!(c.lead.followup_due_ms.is_some_and(|due| due > c.now));
    let (second, actions) = c.followup();
    assert!(second.is_empty(), "a second firing moments later: {second}");
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(c.lead.followups_sent, 1);
    // The next one still comes a day later.
    c.now += 24 * MS_PER_HOUR + MS_PER_MINUTE;
    assert!(c.followup().0.starts_with("Just following up"));
}
