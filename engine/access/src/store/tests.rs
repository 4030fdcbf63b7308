use super::*;
use crate::quota::{LimitsPatch, Quota};

fn fresh() -> (tempfile::TempDir, Access, Caller) {
    let dir = tempfile::tempdir().unwrap();
    let access = Access::open(&dir.path().join("slate.sqlite")).unwrap();
    let (_, token) = access.init_admin("Ada").unwrap();
    let admin = access.authenticate(&token.secret).unwrap();
    (dir, access, admin)
}

fn member(access: &Access, admin: &Caller) -> Caller {
    let invite = access.invite(admin, 1, None, Role::Member).unwrap();
    let (_, token) = access.sign_up(&invite.code, "Grace").unwrap();
    access.authenticate(&token.secret).unwrap()
}

#[test]
fn there_is_one_first_admin() {
    let (_dir, access, admin) = fresh();
    let e = access.init_admin("Eve").unwrap_err();
    assert!(
        matches!(e, AccessError::Conflict { what: "admin", ref id } if *id == admin.account),
        "{e}"
    );
}

#[test]
fn an_old_token_file_becomes_the_admins_token() {
    let (_dir, access, admin) = fresh();
    let old = "0123456789abcdef0123456789abcdef";
    assert_eq!(access.adopt_admin_token(old).unwrap(), admin.account);
    assert_eq!(
        access.adopt_admin_token(old).unwrap(),
        admin.account,
        "adopting twice is once"
    );
    assert_eq!(access.authenticate(old).unwrap().account, admin.account);
    assert_eq!(access.tokens(&admin.account).unwrap().len(), 2);
    // On a fresh install it makes the admin.
    let dir = tempfile::tempdir().unwrap();
    let access = Access::open(&dir.path().join("slate.sqlite")).unwrap();
    let id = access.adopt_admin_token(old).unwrap();
    assert_eq!(access.account(&id).unwrap().role, Role::Admin);
}

#[test]
fn refusals_name_the_invite_field() {
    let (_dir, access, admin) = fresh();
    let field = |code: &str| match access.sign_up(code, "X").unwrap_err() {
        AccessError::Forbidden { field, .. } => field,
        e => panic!("{e}"),
    };
    assert_eq!(field("inv_nothing"), "invite");
    let once = access.invite(&admin, 1, None, Role::Member).unwrap();
    access.sign_up(&once.code, "A").unwrap();
    assert_eq!(field(&once.code), "invite.uses");
    let soon = access.invite(&admin, 5, Some(crate::now() + 1), Role::Member).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(field(&soon.code), "invite.expires_at");
}

#[test]
fn revoked_tokens_and_disabled_accounts_stop_at_once() {
    let (_dir, access, admin) = fresh();
    let member = member(&access, &admin);
    let extra = access
        .create_token(&member, "ci", Scopes::of([Scope::FeedRead]), None)
        .unwrap();
    let reader = access.authenticate(&extra.secret).unwrap();
    assert!(reader.can(Scope::FeedRead) && !reader.can(Scope::FeedSignal));
    access.revoke_token(&member, &extra.info.id).unwrap();
    assert!(matches!(
        access.authenticate(&extra.secret),
        Err(AccessError::Unauthenticated(_))
    ));
    let second = access
        .create_token(&member, "ci2", Scopes::of([Scope::FeedRead]), None)
        .unwrap();
    access.set_disabled(&admin, &member.account, Some("spam")).unwrap();
    let e = access.authenticate(&second.secret).unwrap_err();
    assert!(e.to_string().contains("disabled (spam)"), "{e}");
    access.set_disabled(&admin, &member.account, None).unwrap();
    access.authenticate(&second.secret).unwrap();
    let actions: Vec<String> = access.audit(100).unwrap().into_iter().map(|e| e.action).collect();
    for action in [
        "invite.create",
        "account.create",
        "token.revoke",
        "account.disable",
        "account.enable",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} not in {actions:?}");
    }
}

#[test]
fn a_member_cannot_widen_its_tokens_or_revoke_others() {
    let (_dir, access, admin) = fresh();
    let member = member(&access, &admin);
    let e = access
        .create_token(&member, "x", Scopes::of([Scope::Admin]), None)
        .unwrap_err();
    assert!(e.to_string().contains("`admin`"), "{e}");
    assert!(access.invite(&member, 1, None, Role::Member).is_err());
    let theirs = access.tokens(&admin.account).unwrap()[0].id.clone();
    assert!(matches!(
        access.revoke_token(&member, &theirs),
        Err(AccessError::Unknown { .. })
    ));
}

#[test]
fn charges_stop_at_the_limit_and_refunds_give_back() {
    let (_dir, access, admin) = fresh();
    let member = member(&access, &admin);
    let patch = LimitsPatch {
        stored_bytes: Some(100),
        ..Default::default()
    };
    access.set_limits(&admin, &member.account, patch).unwrap();
    let first = access.charge(&member.account, Quota::StoredBytes, 60).unwrap();
    let AccessError::Quota(over) = access.charge(&member.account, Quota::StoredBytes, 41).unwrap_err() else {
        panic!("not a quota refusal")
    };
    assert_eq!((over.used, over.limit, over.resets_at), (60, 100, None));
    access.charge(&member.account, Quota::StoredBytes, 40).unwrap();
    access.refund(&member.account, first).unwrap();
    let usage = access.usage(&member.account).unwrap();
    let stored = usage.iter().find(|u| u.quota == Quota::StoredBytes).unwrap();
    assert_eq!((stored.used, stored.limit), (40, 100));
    let uploads = usage.iter().find(|u| u.quota == Quota::Uploads).unwrap();
    assert!(uploads.resets_at.unwrap() > crate::now());
}

#[test]
fn a_name_made_again_belongs_to_whoever_made_it_last() {
    let (_dir, access, admin) = fresh();
    let member = member(&access, &admin);
    access.own("upload", "take.mp4", &admin.account).unwrap();
    access.require_owner(&member, "upload", "take.mp4").unwrap_err();
    // `slate ingest` took the first; the member uploads one of that name.
    access.own("upload", "take.mp4", &member.account).unwrap();
    access.require_owner(&member, "upload", "take.mp4").unwrap();
    assert_eq!(access.owned("upload", &member.account).unwrap(), ["take.mp4"]);
    assert!(access.owned("upload", &admin.account).unwrap().is_empty());
}
