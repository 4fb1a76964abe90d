//! The create form and the confirmations.

use super::*;
use crate::engines::EngineKind;

fn form(s: &State) -> &crate::tui::state::CreateForm {
    match &s.overlay {
        Some(Overlay::Create(f)) => f,
        _ => panic!("form expected, got {:?}", s.overlay),
    }
}

#[test]
fn form_fields_navigation_and_editing() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('c'));
    typed(&mut s, "Gala Gifts");
    assert_eq!(form(&s).value(FIELD_NAME), "Gala Gifts");
    update(&mut s, k(KeyCode::Tab));
    assert_eq!(form(&s).focus, FIELD_OWNER);
    update(&mut s, ctrl('u'));
    typed(&mut s, "gus@example.com");
    assert_eq!(form(&s).value(FIELD_OWNER), "gus@example.com");
    update(&mut s, k(KeyCode::Down));
    assert_eq!(form(&s).focus, FIELD_ENGINE);
    update(&mut s, k(KeyCode::Down));
    assert_eq!(form(&s).focus, FIELD_NAME, "wraps around");
    update(&mut s, k(KeyCode::BackTab));
    assert_eq!(form(&s).focus, FIELD_ENGINE);
    update(&mut s, k(KeyCode::Up));
    assert_eq!(form(&s).focus, FIELD_OWNER);
    update(&mut s, k(KeyCode::Enter));
    assert_eq!(
        form(&s).focus,
        FIELD_ENGINE,
        "enter moves on until the last field"
    );
    // 'q' and 'j' are text here.
    update(&mut s, k(KeyCode::BackTab));
    update(&mut s, k(KeyCode::BackTab));
    typed(&mut s, "q");
    assert!(!s.quit);
    assert_eq!(form(&s).value(FIELD_NAME), "Gala Giftsq");
    update(&mut s, k(KeyCode::Backspace));
    update(&mut s, k(KeyCode::Esc));
    assert!(s.overlay.is_none());
}

#[test]
fn form_validates_as_you_type_with_the_engine_rules() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('c'));
    let check = crate::tui::form::check(&s, form(&s));
    assert!(
        check.fields[FIELD_NAME]
            .as_deref()
            .unwrap()
            .contains("the store name is empty")
    );
    typed(&mut s, "X");
    let check = crate::tui::form::check(&s, form(&s));
    assert!(
        check.fields[FIELD_NAME]
            .as_deref()
            .unwrap()
            .contains("too short"),
        "{check:?}"
    );
    typed(&mut s, "ylo");
    let check = crate::tui::form::check(&s, form(&s));
    assert!(check.ok(), "{check:?}");
    assert_eq!(
        check.preview,
        Some(("store-xylo".into(), "http://xylo.localhost".into()))
    );
    update(&mut s, k(KeyCode::Tab));
    update(&mut s, k(KeyCode::Tab));
    update(&mut s, ctrl('u'));
    typed(&mut s, "medusa");
    let check = crate::tui::form::check(&s, form(&s));
    assert!(check.fields[FIELD_ENGINE].is_none(), "{check:?}");
    update(&mut s, ctrl('u'));
    typed(&mut s, "shopify");
    let check = crate::tui::form::check(&s, form(&s));
    assert!(
        check.fields[FIELD_ENGINE]
            .as_deref()
            .unwrap()
            .contains(&format!("the engines are: {}", crate::engines::names()))
    );
    // Submitting refuses and says why.
    let cmds = update(&mut s, k(KeyCode::Enter));
    assert!(cmds.is_empty());
    assert!(
        form(&s)
            .error
            .as_deref()
            .unwrap()
            .contains("not sent: unknown engine `shopify`")
    );
    // Editing clears the refusal.
    update(&mut s, k(KeyCode::Backspace));
    assert!(form(&s).error.is_none());
}

#[test]
fn form_knows_names_in_use_and_limits_before_submitting() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('c'));
    typed(&mut s, "acme shoes");
    update(&mut s, k(KeyCode::Tab));
    update(&mut s, ctrl('u'));
    typed(&mut s, "ANN@example.com");
    let check = crate::tui::form::check(&s, form(&s));
    assert_eq!(
        check.fields[FIELD_NAME].as_deref(),
        Some(
            "a store named \"acme shoes\" already exists for ann@example.com; choose another name"
        )
    );
    // Per-user limit: ann has 2; with a limit of 2 the next one is refused.
    s.info.max_stores_per_user = 2;
    update(&mut s, k(KeyCode::BackTab));
    update(&mut s, ctrl('u'));
    typed(&mut s, "Third Shop");
    let check = crate::tui::form::check(&s, form(&s));
    assert_eq!(
        check.limit.as_deref(),
        Some(
            "limit reached: MAX_STORES_PER_USER is 2; ann@example.com already has 2 stores; delete one first"
        )
    );
    assert!(update(&mut s, ctrl('s')).is_empty());
    assert!(
        form(&s)
            .error
            .as_deref()
            .unwrap()
            .contains("MAX_STORES_PER_USER")
    );
    // Global limit.
    s.info.max_stores = 5;
    let check = crate::tui::form::check(&s, form(&s));
    assert!(
        check
            .limit
            .as_deref()
            .unwrap()
            .starts_with("limit reached: MAX_STORES is 5")
    );
    // Concurrency is a note, not a refusal.
    s.info.max_stores = 100;
    s.info.max_stores_per_user = 5;
    s.info.max_concurrent = 1;
    let check = crate::tui::form::check(&s, form(&s));
    assert!(check.ok());
    assert!(
        check
            .note
            .as_deref()
            .unwrap()
            .contains("MAX_CONCURRENT_PROVISIONS is 1")
    );
    // A store past helm, waiting for Ready, holds no slot: no note.
    for st in s.stores.iter_mut() {
        if st.phase == Phase::Installing {
            st.phase = Phase::WaitingForReady;
        }
    }
    let check = crate::tui::form::check(&s, form(&s));
    assert!(check.ok());
    let note = check.note.unwrap_or_default();
    assert!(!note.contains("MAX_CONCURRENT"), "{note}");
}

#[test]
fn form_submits_once_and_handles_the_answer() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('c'));
    typed(&mut s, "Gala Gifts");
    update(&mut s, k(KeyCode::Tab));
    update(&mut s, k(KeyCode::Tab));
    let cmds = update(&mut s, k(KeyCode::Enter));
    let [Command::Create(req)] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        (req.name.as_str(), req.owner.as_str(), req.engine.as_str()),
        ("Gala Gifts", "operator", EngineKind::default().as_str())
    );
    let key = req.idempotency_key.clone().expect("an idempotency key");
    assert!(form(&s).submitting);
    // Keys are ignored while the request is on its way.
    assert!(update(&mut s, k(KeyCode::Enter)).is_empty());
    assert!(update(&mut s, ctrl('s')).is_empty());
    typed(&mut s, "zz");
    assert_eq!(form(&s).value(FIELD_ENGINE), EngineKind::default().as_str());
    // A refusal keeps the form open with the engine's message.
    update(
        &mut s,
        Msg::Created(Err("limit reached: MAX_STORES is 5; 5 stores exist".into())),
    );
    assert!(!form(&s).submitting);
    assert!(form(&s).error.as_deref().unwrap().contains("MAX_STORES"));
    // Resubmitting reuses the key: the engine creates one store at most.
    let cmds = update(&mut s, ctrl('s'));
    let [Command::Create(req2)] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(req2.idempotency_key.as_deref(), Some(key.as_str()));
    let created = store(7, "Gala Gifts", "operator", Status::Provisioning, 0);
    update(&mut s, Msg::Created(Ok(created)));
    assert!(s.overlay.is_none());
    assert_eq!(selected_name(&s), "Gala Gifts");
    assert!(s.started_here.contains(&Uuid::from_u128(7)));
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains("provisioning queued")
    );
}

#[test]
fn esc_while_submitting_closes_and_the_answer_becomes_a_flash() {
    let mut s = loaded(sample_stores());
    update(&mut s, c('c'));
    typed(&mut s, "Gala Gifts");
    update(&mut s, ctrl('s'));
    update(&mut s, k(KeyCode::Esc));
    assert!(s.overlay.is_none());
    update(
        &mut s,
        Msg::Created(Err("database error: pool timed out".into())),
    );
    assert!(is_flash_error(&s, "create failed: database error"));
}

#[test]
fn retry_confirmation_keys() {
    let open = || {
        let mut s = loaded(sample_stores());
        update(&mut s, c('/'));
        typed(&mut s, "cora");
        update(&mut s, k(KeyCode::Enter));
        update(&mut s, c('r'));
        s
    };
    for yes in [c('y'), k(KeyCode::Enter)] {
        let mut s = open();
        let cmds = update(&mut s, yes);
        assert!(
            matches!(&cmds[..], [Command::Retry { id, name }] if *id == Uuid::from_u128(3) && name == "Cora Cafe")
        );
        assert!(s.overlay.is_none());
    }
    for no in [c('n'), k(KeyCode::Esc)] {
        let mut s = open();
        assert!(update(&mut s, no).is_empty());
        assert!(s.overlay.is_none());
    }
    let mut s = open();
    assert!(update(&mut s, c('x')).is_empty());
    assert!(matches!(s.overlay, Some(Overlay::ConfirmRetry { .. })));
}

#[test]
fn delete_needs_the_exact_name() {
    let mut s = loaded(sample_stores());
    update(&mut s, ctrl('d'));
    // y, enter and a wrong name do nothing destructive.
    for key in [c('y'), k(KeyCode::Enter)] {
        assert!(update(&mut s, key).is_empty());
    }
    assert!(matches!(
        s.overlay,
        Some(Overlay::ConfirmDelete { mismatch: true, .. })
    ));
    update(&mut s, k(KeyCode::Backspace));
    assert!(
        matches!(
            s.overlay,
            Some(Overlay::ConfirmDelete {
                mismatch: false,
                ..
            })
        ),
        "editing clears the mark"
    );
    typed(&mut s, "bolt bikes");
    assert!(update(&mut s, k(KeyCode::Enter)).is_empty(), "case matters");
    for _ in 0.."bolt bikes".len() {
        update(&mut s, k(KeyCode::Backspace));
    }
    typed(&mut s, "Bolt Bikes");
    let cmds = update(&mut s, k(KeyCode::Enter));
    assert!(matches!(&cmds[..], [Command::Delete { name, .. }] if name == "Bolt Bikes"));
    assert!(s.overlay.is_none());
    // esc cancels.
    update(&mut s, ctrl('d'));
    typed(&mut s, "Bolt");
    assert!(update(&mut s, k(KeyCode::Esc)).is_empty());
    assert!(s.overlay.is_none());
}
