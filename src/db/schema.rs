//! The tables shared by both backends. Written by hand: only column types
//! that diesel's `MultiConnection` maps on SQLite and PostgreSQL alike.

diesel::table! {
    app_settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    organizations (id) {
        id -> Text,
        kind -> Text,
        name -> Text,
        code -> Nullable<Text>,
        parent_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        full_name -> Text,
        role -> Text,
        organization_id -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    participants (id) {
        id -> Text,
        full_name -> Text,
        category -> Text,
        organization_id -> Nullable<Text>,
        gender -> Text,
        birth_date -> Nullable<Date>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        guardian_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    login_sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        login_session_id -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Text,
        subject_hash -> Text,
        attempted_at -> Timestamp,
        pending -> Bool,
    }
}

diesel::joinable!(users -> organizations (organization_id));
diesel::joinable!(login_sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> login_sessions (login_session_id));

diesel::allow_tables_to_appear_in_same_query!(
    app_settings,
    organizations,
    users,
    participants,
    login_sessions,
    refresh_tokens,
    login_attempts,
);
