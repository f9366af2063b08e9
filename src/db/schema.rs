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
        search_name -> Text,
        anonymized_at -> Nullable<Timestamp>,
        consent_guardian_id -> Nullable<Text>,
        consent_method -> Nullable<Text>,
        consent_recorded_by -> Nullable<Text>,
        consent_recorded_at -> Nullable<Timestamp>,
        consent_withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    programmes (id) {
        id -> Text,
        name -> Text,
        theme -> Nullable<Text>,
        starts_on -> Date,
        ends_on -> Date,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    courses (id) {
        id -> Text,
        title -> Text,
        summary -> Nullable<Text>,
        topics -> Text,
        target_categories -> Text,
        duration_minutes -> Integer,
        programme_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        course_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        venue -> Text,
        capacity -> Integer,
        status -> Text,
        enrolment_opens_at -> Nullable<Timestamp>,
        enrolment_closes_at -> Nullable<Timestamp>,
        eligible_categories -> Nullable<Text>,
        waitlist -> Bool,
        enrolled_count -> Integer,
        waitlisted_count -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        local_day -> Nullable<Date>,
    }
}

diesel::table! {
    session_trainers (session_id, user_id) {
        session_id -> Text,
        user_id -> Text,
        sync_position -> BigInt,
    }
}

diesel::table! {
    enrolments (id) {
        id -> Text,
        session_id -> Text,
        participant_id -> Text,
        status -> Text,
        waitlist_position -> Nullable<Integer>,
        source -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_id -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        changes -> Text,
        device_id -> Nullable<Text>,
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

diesel::table! {
    idempotency_keys (caller_id, key) {
        caller_id -> Text,
        key -> Text,
        method -> Text,
        target_digest -> Text,
        body_digest -> Text,
        status -> Nullable<Integer>,
        headers -> Text,
        body -> Nullable<Binary>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    attendance_marks (enrolment_id) {
        enrolment_id -> Text,
        session_id -> Text,
        participant_id -> Text,
        status -> Text,
        note -> Nullable<Text>,
        source -> Text,
        marked_by -> Nullable<Text>,
        recorded_at -> Timestamp,
        marked_at -> Timestamp,
        device_id -> Nullable<Text>,
    }
}

diesel::table! {
    attendance_changes (id) {
        id -> Text,
        enrolment_id -> Text,
        session_id -> Text,
        participant_id -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        note -> Nullable<Text>,
        source -> Text,
        changed_by -> Nullable<Text>,
        recorded_at -> Timestamp,
        changed_at -> Timestamp,
        superseded -> Bool,
        device_id -> Nullable<Text>,
    }
}

diesel::table! {
    offline_marks (received_by, client_mark_id) {
        received_by -> Text,
        client_mark_id -> Text,
        outcome -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    check_in_codes (session_id) {
        session_id -> Text,
        code_hash -> Text,
        expires_at -> Timestamp,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    check_in_failures (id) {
        id -> Text,
        subject_hash -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        pairing_code_hash -> Nullable<Text>,
        pairing_expires_at -> Nullable<Timestamp>,
        token_hash -> Nullable<Text>,
        created_at -> Timestamp,
        paired_at -> Nullable<Timestamp>,
        last_seen_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    pairing_failures (id) {
        id -> Text,
        subject_hash -> Text,
        failed_at -> Timestamp,
    }
}

// The change positions that triggers keep for trainers' offline rosters
// (the roster_positions migration; `db::change_clock`). Only the rosters
// feed reads them, through these tables of their own, so that every other
// read of `sessions`, `enrolments`, `attendance_marks`, `participants`,
// `courses` and `organizations` goes on without the column (which
// `session_trainers`, read by its columns only, has in its own table).
diesel::table! {
    #[sql_name = "sessions"]
    session_positions (id) {
        id -> Text,
        sync_position -> BigInt,
    }
}

diesel::table! {
    #[sql_name = "enrolments"]
    enrolment_positions (id) {
        id -> Text,
        session_id -> Text,
        participant_id -> Text,
        sync_position -> BigInt,
    }
}

diesel::table! {
    #[sql_name = "attendance_marks"]
    mark_positions (enrolment_id) {
        enrolment_id -> Text,
        session_id -> Text,
        sync_position -> BigInt,
    }
}

diesel::table! {
    #[sql_name = "participants"]
    participant_positions (id) {
        id -> Text,
        sync_position -> BigInt,
    }
}

diesel::table! {
    #[sql_name = "courses"]
    course_positions (id) {
        id -> Text,
        sync_position -> BigInt,
    }
}

diesel::table! {
    #[sql_name = "organizations"]
    organization_positions (id) {
        id -> Text,
        sync_position -> BigInt,
    }
}

diesel::table! {
    roster_departures (session_id, user_id, sync_position) {
        session_id -> Text,
        user_id -> Text,
        sync_position -> BigInt,
    }
}

diesel::table! {
    calendar_feeds (user_id) {
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> Text,
        event_type -> Text,
        occurred_at -> Timestamp,
        due_at -> Timestamp,
        session_id -> Nullable<Text>,
        data -> Text,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        url -> Text,
        events -> Text,
        secret -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        failed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        event_type -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        last_attempt_at -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mail_messages (id) {
        id -> Text,
        event_id -> Text,
        about_id -> Text,
        addressee_id -> Text,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        attempts -> Integer,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
    }
}

diesel::joinable!(users -> organizations (organization_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(calendar_feeds -> users (user_id));
diesel::joinable!(devices -> users (user_id));
diesel::joinable!(login_sessions -> users (user_id));
diesel::table! {
    export_turns (caller_id) {
        caller_id -> Text,
        claim -> Text,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(refresh_tokens -> login_sessions (login_session_id));
diesel::joinable!(courses -> programmes (programme_id));
diesel::joinable!(sessions -> courses (course_id));
diesel::joinable!(session_trainers -> sessions (session_id));
diesel::joinable!(session_trainers -> users (user_id));
diesel::joinable!(enrolments -> sessions (session_id));
diesel::joinable!(enrolments -> participants (participant_id));
diesel::joinable!(attendance_marks -> enrolments (enrolment_id));

diesel::allow_tables_to_appear_in_same_query!(
    app_settings,
    organizations,
    users,
    participants,
    login_sessions,
    refresh_tokens,
    login_attempts,
    idempotency_keys,
    export_turns,
    programmes,
    courses,
    sessions,
    session_trainers,
    enrolments,
    audit_events,
    attendance_marks,
    attendance_changes,
    offline_marks,
    check_in_codes,
    check_in_failures,
    devices,
    pairing_failures,
    session_positions,
    enrolment_positions,
    mark_positions,
    participant_positions,
    course_positions,
    organization_positions,
    roster_departures,
    calendar_feeds,
    outbox_events,
    webhooks,
    webhook_deliveries,
    mail_messages,
);
