use super::*;

fn person(n: u128, phone: Option<&str>, email: Option<&str>, ch: Option<&str>) -> Person {
    Person {
        id: Uuid::from_u128(n),
        name: format!("p{n}"),
        phone: phone.map(str::to_string),
        email: email.map(str::to_string),
        primary_channel: ch.map(str::to_string),
    }
}

#[test]
fn segment_counts() {
    assert_eq!(segments("").segments, 0);
    let s = segments(&"a".repeat(160));
    assert_eq!((s.encoding, s.units, s.segments), (Encoding::Gsm7, 160, 1));
    let s = segments(&"a".repeat(161));
    assert_eq!((s.segments, s.per_segment), (2, 153));
    assert_eq!(segments(&"a".repeat(306)).segments, 2);
    assert_eq!(segments(&"a".repeat(307)).segments, 3);
    // extension characters take two septets
    assert_eq!(segments(&"€".repeat(80)).units, 160);
    assert_eq!(segments(&"€".repeat(81)).segments, 2);
    // one non-GSM character switches the whole message to UCS-2
    let s = segments(&format!("{}é", "a".repeat(69)));
    assert_eq!((s.encoding, s.segments), (Encoding::Gsm7, 1));
    let s = segments(&format!("{}ł", "a".repeat(69)));
    assert_eq!((s.encoding, s.units, s.segments), (Encoding::Ucs2, 70, 1));
    let s = segments(&format!("{}ł", "a".repeat(70)));
    assert_eq!((s.segments, s.per_segment), (2, 67));
    // an emoji is two UTF-16 units
    assert_eq!(segments("🚨").units, 2);
    assert_eq!(segments(&"a".repeat(134)).label(), "GSM-7 134/160 · 1 SMS");
}

#[test]
fn levels_and_messages() {
    assert_eq!(Level::parse("CRITICAL").unwrap(), Level::Critical);
    assert!(
        Level::parse("apocalyptic")
            .unwrap_err()
            .contains("unknown level")
    );
    assert!(validate_message("   ").unwrap_err().contains("empty"));
    assert_eq!(validate_message(" hi \n").unwrap(), "hi");
    assert!(validate_message(&"x".repeat(2000)).is_err());
    assert!(validate_message("a\u{7}b").is_err());
    assert_eq!(
        Channel::parse_list("sms, voice,sms").unwrap(),
        vec![Channel::Sms, Channel::Voice]
    );
    assert!(Channel::parse_list("pigeon").is_err());
}

#[test]
fn templates_expand() {
    let t = expand_template(
        "{level}: leave {venue} ({event})",
        Some("Gala"),
        "Hall",
        Level::Urgent,
    );
    assert_eq!(t.unwrap(), "URGENT: leave Hall (Gala)");
    assert!(expand_template("{who}", None, "Hall", Level::Info).is_err());
    assert!(expand_template("{venue", None, "Hall", Level::Info).is_err());
    for (_, t) in DEFAULT_TEMPLATES {
        assert!(expand_template(t, Some("E"), "V", Level::Info).is_ok());
    }
}

#[test]
fn plan_preferences_override_and_dedupe() {
    let people = vec![
        person(1, Some("+33612345678"), Some("a@x.org"), Some("whatsapp")),
        person(2, Some("+33612345678"), Some("b@x.org"), Some("sms")), // same phone as 1
        person(3, None, Some("c@x.org"), Some("sms")),                 // no phone: e-mail
        person(4, Some("555-0199"), None, Some("sms")),                // nothing valid
        person(5, None, Some("A@X.org"), None),                        // same e-mail as 1
        person(1, Some("+33612345678"), None, None),                   // same person again
    ];
    let p = plan(&people, Level::Warning, None);
    assert_eq!(p.people, 5);
    assert_eq!(p.by_channel.get(&Channel::Whatsapp), Some(&1));
    assert_eq!(p.by_channel.get(&Channel::Sms), Some(&1));
    assert_eq!(p.by_channel.get(&Channel::Email), Some(&2));
    assert_eq!(p.unreachable.len(), 1);
    assert_eq!(p.unreachable[0].id, Uuid::from_u128(4));
    assert_eq!(p.duplicates, 0);

    // critical: SMS + voice to everyone with a phone, de-duplicated by number
    let p = plan(&people, Level::Critical, None);
    assert_eq!(p.by_channel.get(&Channel::Sms), Some(&1));
    assert_eq!(p.by_channel.get(&Channel::Voice), Some(&1));
    // persons 3 and 5 have no phone: e-mail (a@x.org is not used by person 1 under critical)
    assert_eq!(p.by_channel.get(&Channel::Email), Some(&2));
    assert_eq!(p.duplicates, 2); // person 2's sms + voice (person 1's number)
    assert_eq!(p.unreachable.len(), 1);

    // explicit channels
    let p = plan(&people, Level::Info, Some(&[Channel::Email]));
    assert_eq!(p.by_channel.get(&Channel::Email), Some(&3));
    assert_eq!(p.duplicates, 1); // A@X.org = a@x.org
    assert_eq!(p.unreachable.len(), 1);
}
