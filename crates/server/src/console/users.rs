//! Staff users and API tokens (administrators only): add a user (the setup link is shown
//! once), change a role, disable or enable; issue a scoped API token (shown once) and revoke one.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use ombud_domain::policy::Keyword;
use ombud_domain::staff::{Role, Scope, Scopes};
use ombud_store::{StaffChange, StoreError};
use secrecy::ExposeSecret;
use serde::Serialize;

use super::session::Staff;
use super::{staff_page, text};
use crate::staff::tokens::{self, Revoked};
use crate::staff::{StaffError, add_user};
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct UserRow {
    id: i64,
    email: String,
    role: &'static str,
    set_up: bool,
    disabled: bool,
    locked: bool,
    me: bool,
}

#[derive(Debug, Serialize)]
struct TokenRow {
    id: i64,
    name: String,
    scopes: String,
    created_at: String,
    last_used_at: Option<String>,
    revoked: bool,
}

/// The users page, with a one-time secret to show (a setup link or a token) and an error.
async fn render_users(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    shown: Option<(&str, String)>,
    error: Option<(&str, String)>,
) -> Response {
    let store = state.store();
    let (users, tokens) = match (store.staff_users().await, store.api_tokens().await) {
        (Ok(u), Ok(t)) => (u, t),
        (Err(e), _) | (_, Err(e)) => return super::store_failed(staff, &e),
    };
    let now = jiff::Timestamp::now();
    let users: Vec<UserRow> = users
        .iter()
        .map(|u| UserRow {
            id: u.id,
            email: u.email.clone(),
            role: u.role.key(),
            set_up: u.is_set_up(),
            disabled: u.disabled_at.is_some(),
            locked: u.locked_until.is_some_and(|t| t > now),
            me: u.id == staff.user.id,
        })
        .collect();
    let day = |t: jiff::Timestamp| t.strftime("%Y-%m-%d %H:%M UTC").to_string();
    let tokens: Vec<TokenRow> = tokens
        .iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name.clone(),
            scopes: t.scopes.to_string(),
            created_at: day(t.created_at),
            last_used_at: t.last_used_at.map(day),
            revoked: !t.is_active(),
        })
        .collect();
    staff_page(
        staff,
        status,
        "users.html",
        text::translate(staff.lang, "Users and API tokens"),
        context! {
            nav => "users",
            users => Serde(&users),
            tokens => Serde(&tokens),
            roles => Role::all().iter().map(|r| r.key()).collect::<Vec<_>>(),
            scopes => Scope::all().iter().map(|s| s.key()).collect::<Vec<_>>(),
            shown => shown.map(|(what, secret)| context! { what => text::translate(staff.lang, what), secret }),
            failed => error.as_ref().map(|(form, _)| *form),
            error => error.map(|(_, e)| e),
        },
    )
}

pub(crate) async fn page(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
) -> Response {
    render_users(&state, &staff, StatusCode::OK, None, None).await
}

/// The users page with a secret shown once (a setup link or a token), under the words `what`.
async fn show_once(state: &AppState, staff: &Staff, what: &str, secret: String) -> Response {
    render_users(state, staff, StatusCode::OK, Some((what, secret)), None).await
}

/// The users page again with the error `e` next to the form named `form`, in the page's
/// language.
async fn refuse(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    form: &str,
    e: &str,
) -> Response {
    let e = text::translate(staff.lang, e).to_owned();
    render_users(state, staff, status, None, Some((form, e))).await
}

/// Adds a user and shows their setup link once.
pub(crate) async fn add(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let email = f.get("email").map(|s| s.trim()).unwrap_or("");
    let Some(role) = f.get("role").and_then(|r| Role::parse(r)) else {
        return refuse(
            &state,
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            "add",
            "Choose a role.",
        )
        .await;
    };
    match add_user(
        state.store(),
        state.public_url(),
        email,
        role,
        &staff.actor(),
    )
    .await
    {
        Ok(added) => {
            let link = added.setup_url.expose_secret().to_owned();
            show_once(
                &state,
                &staff,
                "Setup link (shown once, valid for 24 hours)",
                link,
            )
            .await
        }
        Err(StaffError::InvalidEmail) => {
            refuse(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                "add",
                "That is not an e-mail address.",
            )
            .await
        }
        Err(StaffError::Taken) => {
            refuse(
                &state,
                &staff,
                StatusCode::CONFLICT,
                "add",
                "A staff user with that e-mail address exists already.",
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "adding a staff user failed");
            super::unavailable(staff.lang)
        }
    }
}

/// Changes a user's role, or disables or enables them. Nobody changes their own account here,
/// so the last administrator can't lock everyone out by accident.
pub(crate) async fn change(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if id == staff.user.id {
        return refuse(
            &state,
            &staff,
            StatusCode::CONFLICT,
            "change",
            "You cannot change your own account.",
        )
        .await;
    }
    if f.get("change").map(String::as_str) == Some("reset") {
        return match crate::staff::reset_user(state.store(), state.public_url(), id, &staff.actor())
            .await
        {
            Ok(reset) => {
                let link = reset.setup_url.expose_secret().to_owned();
                show_once(
                    &state,
                    &staff,
                    "Setup link (shown once, valid for 24 hours)",
                    link,
                )
                .await
            }
            Err(StaffError::Store(StoreError::NotFound)) => super::not_found(&staff),
            Err(e) => {
                tracing::error!(error = %e, "resetting a staff user failed");
                super::unavailable(staff.lang)
            }
        };
    }
    let change = match f.get("change").map(String::as_str) {
        Some("disable") => StaffChange::Disable,
        Some("enable") => StaffChange::Enable,
        Some("role") => match f.get("role").and_then(|r| Role::parse(r)) {
            Some(role) => StaffChange::Role(role),
            None => {
                return refuse(
                    &state,
                    &staff,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "change",
                    "Choose a role.",
                )
                .await;
            }
        },
        _ => {
            return refuse(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                "change",
                "Choose a change.",
            )
            .await;
        }
    };
    match state
        .store()
        .change_staff_user(id, change, &staff.actor())
        .await
    {
        Ok(_) => Redirect::to("/console/users").into_response(),
        Err(StoreError::NotFound) => super::not_found(&staff),
        Err(e) => super::store_failed(&staff, &e),
    }
}

/// Issues an API token with the chosen scopes and shows it once.
pub(crate) async fn issue_token(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let name = f
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.trim())
        .unwrap_or("");
    let chosen: Vec<Scope> = f
        .iter()
        .filter(|(k, _)| k == "scope")
        .filter_map(|(_, v)| Scope::parse(v))
        .collect();
    let scopes = match Scopes::new(chosen) {
        Ok(s) if !name.is_empty() => s,
        _ => {
            return refuse(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                "token",
                "Give the token a name and at least one scope.",
            )
            .await;
        }
    };
    match tokens::issue(state.store(), name, &scopes, &staff.actor()).await {
        Ok((_, token)) => {
            show_once(
                &state,
                &staff,
                "API token (shown once)",
                token.expose_secret().to_owned(),
            )
            .await
        }
        Err(StaffError::Invalid(rule)) => {
            refuse(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                "token",
                rule,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "issuing an API token failed");
            super::unavailable(staff.lang)
        }
    }
}

/// Revokes an API token.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<i64>,
) -> Response {
    match tokens::revoke(state.store(), id, &staff.actor()).await {
        Ok(Revoked::Now | Revoked::Already) => Redirect::to("/console/users").into_response(),
        Ok(Revoked::Unknown) => super::not_found(&staff),
        Err(e) => {
            tracing::error!(error = %e, "revoking an API token failed");
            super::unavailable(staff.lang)
        }
    }
}
