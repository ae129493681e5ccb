//! The one schema both engines end at (checked by `tests/schema.rs` against the migrations).

diesel::table! {
    regions (id) {
        id -> BigInt,
        parent_id -> Nullable<BigInt>,
        code -> Text,
        name -> Text,
        kind -> Text,
        path -> Text,
        depth -> Integer,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    peoples (code) {
        code -> Text,
        name -> Text,
        romanization -> Text,
        letter_code -> Text,
    }
}

diesel::table! {
    sites (id) {
        id -> BigInt,
        region_id -> BigInt,
        name -> Text,
        site_type -> Text,
        address -> Nullable<Text>,
        contact_name -> Nullable<Text>,
        contact_phone -> Nullable<Text>,
        opening_hours -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    units (id) {
        id -> BigInt,
        region_id -> BigInt,
        name -> Text,
        category -> Text,
        contact_name -> Nullable<Text>,
        contact_phone -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        region_id -> BigInt,
        unit_id -> Nullable<BigInt>,
        site_id -> Nullable<BigInt>,
        phone -> Nullable<Text>,
        locale -> Text,
        active -> Bool,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        password_changed_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    user_grids (user_id, grid_id) {
        user_id -> BigInt,
        grid_id -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        client_addr -> Text,
        user_agent -> Text,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        permissions -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        actor -> Text,
        action -> Text,
        entity -> Text,
        entity_id -> Nullable<Text>,
        region_id -> Nullable<BigInt>,
        before_digest -> Nullable<Text>,
        after_digest -> Nullable<Text>,
        detail -> Text,
        request_id -> Text,
        client_addr -> Text,
        prev_hash -> Text,
        hash -> Text,
        chain -> Integer,
        link -> BigInt,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    config_stamp (id) {
        id -> Integer,
        database_id -> BigInt,
        stamp -> BigInt,
    }
}

diesel::table! {
    request_categories (id) {
        id -> BigInt,
        parent_id -> Nullable<BigInt>,
        code -> Text,
        name -> Text,
        name_en -> Text,
        service_minutes -> Nullable<Integer>,
        sort_order -> Integer,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        on_the_spot -> Bool,
    }
}

diesel::table! {
    requests (id) {
        id -> BigInt,
        code -> Text,
        channel -> Text,
        category_id -> BigInt,
        region_id -> BigInt,
        region_path -> Text,
        status -> Text,
        description -> Text,
        place -> Nullable<Text>,
        contact_name -> Nullable<Text>,
        contact_phone -> Nullable<Text>,
        consent -> Bool,
        site_id -> Nullable<BigInt>,
        unit_id -> Nullable<BigInt>,
        routed_by -> Text,
        transfer_site_id -> Nullable<BigInt>,
        transfer_unit_id -> Nullable<BigInt>,
        intake_site_id -> Nullable<BigInt>,
        created_by -> Nullable<BigInt>,
        received_at -> Timestamp,
        due_at -> Nullable<Timestamp>,
        paused_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
        reply -> Nullable<Text>,
        rating -> Nullable<Text>,
        rated_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    request_words (request_id) {
        request_id -> BigInt,
        words -> Text,
    }
}

diesel::table! {
    request_changes (seq) {
        seq -> BigInt,
        request_id -> BigInt,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    request_tallies (region_path, dim, month, key, status) {
        region_path -> Text,
        depth -> Integer,
        month -> Text,
        dim -> Text,
        key -> Text,
        status -> Text,
        received -> BigInt,
        resolved -> BigInt,
        resolved_with_deadline -> BigInt,
        on_time -> BigInt,
        rated -> BigInt,
        satisfied -> BigInt,
        handling_seconds -> BigInt,
    }
}

diesel::table! {
    request_tally_journal (id) {
        id -> BigInt,
        region_path -> Text,
        month -> Text,
        category_id -> BigInt,
        channel -> Text,
        site -> Text,
        status -> Text,
        received -> BigInt,
        resolved -> BigInt,
        resolved_with_deadline -> BigInt,
        on_time -> BigInt,
        rated -> BigInt,
        satisfied -> BigInt,
        handling_seconds -> BigInt,
        resolved_month -> Text,
    }
}

diesel::table! {
    request_events (id) {
        id -> BigInt,
        request_id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        actor -> Text,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        note -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    request_attachments (id) {
        id -> BigInt,
        request_id -> BigInt,
        name -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        data -> Binary,
        uploaded_by -> Nullable<BigInt>,
        uploader -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    request_cohandlers (id) {
        id -> BigInt,
        request_id -> BigInt,
        site_id -> Nullable<BigInt>,
        unit_id -> Nullable<BigInt>,
        asked -> Text,
        status -> Text,
        answer -> Nullable<Text>,
        asked_by -> Text,
        asked_at -> Timestamp,
        answered_by -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    category_levels (category_id, region_id) {
        category_id -> BigInt,
        region_id -> BigInt,
        region_path -> Text,
        service_minutes -> Nullable<Integer>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    region_calendar_days (region_id, day) {
        region_id -> BigInt,
        region_path -> Text,
        day -> Date,
        kind -> Text,
        note -> Text,
    }
}

diesel::table! {
    calendar_days (day) {
        day -> Date,
        kind -> Text,
        note -> Text,
    }
}

diesel::table! {
    routing_rules (id) {
        id -> BigInt,
        position -> Integer,
        category_id -> Nullable<BigInt>,
        region_id -> Nullable<BigInt>,
        region_path -> Nullable<Text>,
        keywords -> Text,
        site_id -> Nullable<BigInt>,
        unit_id -> Nullable<BigInt>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    category_questions (id) {
        id -> BigInt,
        category_id -> BigInt,
        code -> Text,
        label -> Text,
        label_en -> Text,
        kind -> Text,
        required -> Bool,
        choices -> Text,
        sort_order -> Integer,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    request_handlers (request_id) {
        request_id -> BigInt,
        user_id -> BigInt,
        since -> Timestamp,
    }
}

diesel::table! {
    request_media (request_id) {
        request_id -> BigInt,
        url -> Text,
    }
}

diesel::table! {
    request_points (request_id) {
        request_id -> BigInt,
        lat -> Double,
        long -> Double,
    }
}

diesel::table! {
    request_answers (request_id, question_id) {
        request_id -> BigInt,
        question_id -> BigInt,
        value -> Text,
    }
}

diesel::table! {
    reply_templates (id) {
        id -> BigInt,
        category_id -> Nullable<BigInt>,
        title -> Text,
        body -> Text,
        sort_order -> Integer,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    disputes (id) {
        id -> BigInt,
        request_id -> BigInt,
        region_id -> BigInt,
        region_path -> Text,
        kind -> Text,
        summary -> Text,
        status -> Text,
        outcome -> Nullable<Text>,
        agreement -> Nullable<Text>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    dispute_parties (id) {
        id -> BigInt,
        dispute_id -> BigInt,
        side -> Text,
        name -> Text,
        people -> Nullable<Text>,
        phone -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dispute_mediators (id) {
        id -> BigInt,
        dispute_id -> BigInt,
        name -> Text,
        organisation -> Nullable<Text>,
        created_at -> Timestamp,
        user_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    dispute_sessions (id) {
        id -> BigInt,
        dispute_id -> BigInt,
        held_on -> Date,
        place -> Nullable<Text>,
        notes -> Text,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    legal_aid_cases (id) {
        id -> BigInt,
        request_id -> BigInt,
        region_id -> BigInt,
        region_path -> Text,
        matter -> Text,
        lawyer_id -> BigInt,
        status -> Text,
        result -> Nullable<Text>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    legal_consultations (id) {
        id -> BigInt,
        case_id -> BigInt,
        held_on -> Date,
        mode -> Text,
        summary -> Text,
        advice -> Text,
        minutes -> Nullable<Integer>,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    households (id) {
        id -> BigInt,
        region_id -> BigInt,
        region_path -> Text,
        address -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    persons (id) {
        id -> BigInt,
        name -> Text,
        id_sealed -> Nullable<Binary>,
        id_key -> Nullable<Binary>,
        id_masked -> Nullable<Text>,
        sex -> Text,
        birth_date -> Date,
        people -> Text,
        mobile -> Nullable<Text>,
        hukou -> Text,
        region_id -> BigInt,
        region_path -> Text,
        address -> Text,
        household_id -> Nullable<BigInt>,
        relation -> Nullable<Text>,
        arrived_on -> Nullable<Date>,
        occupation -> Nullable<Text>,
        employer -> Nullable<Text>,
        employment -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        moved_out_on -> Nullable<Date>,
    }
}

diesel::table! {
    registry_tallies (region_path, dim, key) {
        region_path -> Text,
        depth -> Integer,
        dim -> Text,
        key -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    registry_tally_journal (id) {
        id -> BigInt,
        region_path -> Text,
        dim -> Text,
        key -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    person_tags (person_id, tag) {
        person_id -> BigInt,
        tag -> Text,
    }
}

diesel::table! {
    residences (id) {
        id -> BigInt,
        person_id -> BigInt,
        region_id -> BigInt,
        region_path -> Text,
        address -> Text,
        from_date -> Date,
        to_date -> Nullable<Date>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consents (id) {
        id -> BigInt,
        person_id -> BigInt,
        purpose -> Text,
        channel -> Text,
        given_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
        recorded_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    declarations (id) {
        id -> BigInt,
        code -> Text,
        region_id -> BigInt,
        region_path -> Text,
        status -> Text,
        payload -> Text,
        reason -> Nullable<Text>,
        person_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    assists (id) {
        id -> BigInt,
        kind -> Text,
        person_id -> BigInt,
        from_region_id -> BigInt,
        from_path -> Text,
        to_region_id -> BigInt,
        to_path -> Text,
        subject -> Text,
        body -> Text,
        due_on -> Date,
        status -> Text,
        reply -> Nullable<Text>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        replied_by -> Nullable<BigInt>,
        replied_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    surveys (id) {
        id -> BigInt,
        name -> Text,
        region_id -> BigInt,
        region_path -> Text,
        tag -> Nullable<Text>,
        starts_on -> Date,
        ends_on -> Date,
        questions -> Text,
        status -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    survey_responses (id) {
        id -> BigInt,
        survey_id -> BigInt,
        household_id -> BigInt,
        region_id -> BigInt,
        region_path -> Text,
        answers -> Text,
        surveyed_by -> Nullable<BigInt>,
        surveyed_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    needs (id) {
        id -> BigInt,
        person_id -> BigInt,
        response_id -> Nullable<BigInt>,
        kind -> Text,
        note -> Nullable<Text>,
        status -> Text,
        region_path -> Text,
        request_id -> Nullable<BigInt>,
        provider -> Nullable<Text>,
        planned_on -> Nullable<Date>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    services (id) {
        id -> BigInt,
        person_id -> BigInt,
        kind -> Text,
        delivered_on -> Date,
        provider -> Text,
        amount_fen -> Nullable<BigInt>,
        note -> Nullable<Text>,
        need_id -> Nullable<BigInt>,
        region_path -> Text,
        recorded_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    registry_imports (id) {
        id -> BigInt,
        sha256 -> Text,
        people -> Integer,
        households -> Integer,
        skipped -> Integer,
        imported_by -> Nullable<BigInt>,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    eval_schemes (id) {
        id -> BigInt,
        region_id -> BigInt,
        region_path -> Text,
        organiser -> Text,
        year -> Integer,
        name -> Text,
        stage -> Text,
        merge_rule -> Text,
        bonus_cap -> Nullable<BigInt>,
        deduction_cap -> Nullable<BigInt>,
        grades -> Text,
        self_due -> Nullable<Timestamp>,
        first_due -> Nullable<Timestamp>,
        field_due -> Nullable<Timestamp>,
        feedback_due -> Nullable<Timestamp>,
        copied_from -> Nullable<BigInt>,
        published_at -> Nullable<Timestamp>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    eval_categories (id) {
        id -> BigInt,
        scheme_id -> BigInt,
        name -> Text,
        sort -> Integer,
    }
}

diesel::table! {
    eval_participants (scheme_id, unit_id) {
        scheme_id -> BigInt,
        unit_id -> BigInt,
        category_id -> BigInt,
        key_unit -> Bool,
    }
}

diesel::table! {
    eval_indicators (id) {
        id -> BigInt,
        scheme_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        level -> Text,
        code -> Text,
        name -> Text,
        max_points -> BigInt,
        kind -> Text,
        guidance -> Nullable<Text>,
        evidence -> Nullable<Text>,
        sort -> Integer,
    }
}

diesel::table! {
    eval_weights (category_id, area_id) {
        category_id -> BigInt,
        area_id -> BigInt,
        points -> BigInt,
    }
}

diesel::table! {
    eval_teams (id) {
        id -> BigInt,
        scheme_id -> BigInt,
        round -> Text,
        name -> Text,
    }
}

diesel::table! {
    eval_team_members (team_id, user_id) {
        team_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    eval_team_units (team_id, unit_id) {
        team_id -> BigInt,
        unit_id -> BigInt,
    }
}

diesel::table! {
    eval_scores (scheme_id, unit_id, round, indicator_id) {
        scheme_id -> BigInt,
        unit_id -> BigInt,
        indicator_id -> BigInt,
        round -> Text,
        points -> Nullable<BigInt>,
        note -> Nullable<Text>,
        scored_by -> Nullable<BigInt>,
        scorer -> Text,
        scored_at -> Timestamp,
    }
}

diesel::table! {
    eval_submissions (scheme_id, unit_id, round) {
        scheme_id -> BigInt,
        unit_id -> BigInt,
        round -> Text,
        submitted_by -> Nullable<BigInt>,
        submitter -> Text,
        submitted_at -> Timestamp,
    }
}

diesel::table! {
    eval_reminders (scheme_id, stage, kind, recipient) {
        scheme_id -> BigInt,
        stage -> Text,
        kind -> Text,
        recipient -> BigInt,
        units_left -> Integer,
        criteria_left -> Integer,
        due_at -> Timestamp,
        sent_at -> Timestamp,
        sender -> Text,
        times -> Integer,
    }
}

diesel::table! {
    eval_evidence (id) {
        id -> BigInt,
        scheme_id -> BigInt,
        unit_id -> BigInt,
        indicator_id -> BigInt,
        round -> Text,
        name -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        data -> Binary,
        uploaded_by -> Nullable<BigInt>,
        uploader -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    eval_ledger_links (id) {
        id -> BigInt,
        scheme_id -> BigInt,
        unit_id -> BigInt,
        indicator_id -> BigInt,
        report_id -> BigInt,
        linked_by -> Nullable<BigInt>,
        linker -> Text,
        linked_at -> Timestamp,
    }
}

diesel::table! {
    eval_decisions (scheme_id, unit_id, indicator_id) {
        scheme_id -> BigInt,
        unit_id -> BigInt,
        indicator_id -> BigInt,
        accepted -> Bool,
        points -> Nullable<BigInt>,
        reason -> Text,
        decided_by -> Nullable<BigInt>,
        decider -> Text,
        decided_at -> Timestamp,
    }
}

diesel::table! {
    eval_final_scores (scheme_id, unit_id, indicator_id) {
        scheme_id -> BigInt,
        unit_id -> BigInt,
        indicator_id -> BigInt,
        points -> BigInt,
    }
}

diesel::table! {
    eval_results (scheme_id, unit_id) {
        scheme_id -> BigInt,
        unit_id -> BigInt,
        category_id -> BigInt,
        total -> BigInt,
        bonus -> BigInt,
        deduction -> BigInt,
        rank -> Integer,
        grade -> Text,
        commended -> Bool,
    }
}

diesel::table! {
    eval_corrections (id) {
        id -> BigInt,
        scheme_id -> BigInt,
        unit_id -> BigInt,
        indicator_id -> BigInt,
        before_points -> BigInt,
        after_points -> BigInt,
        reason -> Text,
        corrected_by -> Nullable<BigInt>,
        corrector -> Text,
        corrected_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        channel -> Text,
        kind -> Text,
        user_id -> Nullable<BigInt>,
        phone -> Nullable<Text>,
        request_id -> Nullable<BigInt>,
        region_path -> Text,
        params -> Text,
        status -> Text,
        attempts -> Integer,
        due_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        read_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    message_attempts (id) {
        id -> BigInt,
        message_id -> BigInt,
        at -> Timestamp,
        provider -> Text,
        ok -> Bool,
        detail -> Text,
    }
}

diesel::table! {
    sms_log (id) {
        id -> BigInt,
        message_id -> BigInt,
        phone -> Text,
        sign_name -> Text,
        template -> Text,
        params -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    request_sms_consents (request_id) {
        request_id -> BigInt,
        given_at -> Timestamp,
    }
}

diesel::table! {
    resident_codes (id) {
        id -> BigInt,
        phone -> Text,
        client_addr -> Text,
        code_hash -> Text,
        tries -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    task_plans (id) {
        id -> BigInt,
        region_id -> BigInt,
        region_path -> Text,
        name -> Text,
        organiser -> Text,
        starts_on -> Date,
        ends_on -> Date,
        phases -> Text,
        status -> Text,
        copied_from -> Nullable<BigInt>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    task_items (id) {
        id -> BigInt,
        plan_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        level -> Text,
        seq -> Text,
        title -> Text,
        deliverables -> Nullable<Text>,
        due_on -> Nullable<Date>,
        recurrence -> Text,
        target_value -> Nullable<BigInt>,
        target_unit -> Nullable<Text>,
        notes -> Nullable<Text>,
        sort -> Integer,
    }
}

diesel::table! {
    task_item_tallies (item_id) {
        item_id -> BigInt,
        plan_id -> BigInt,
        tally -> Text,
    }
}

diesel::table! {
    task_assignments (item_id, unit_id) {
        item_id -> BigInt,
        unit_id -> BigInt,
        plan_id -> BigInt,
        lead -> Bool,
        sort -> Integer,
    }
}

diesel::table! {
    task_reports (id) {
        id -> BigInt,
        plan_id -> BigInt,
        item_id -> BigInt,
        unit_id -> BigInt,
        period -> Text,
        status -> Text,
        progress -> Text,
        figure -> Nullable<BigInt>,
        opinion -> Nullable<Text>,
        submitted_by -> Nullable<BigInt>,
        submitted_at -> Timestamp,
        reviewed_by -> Nullable<BigInt>,
        reviewed_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    task_report_events (id) {
        id -> BigInt,
        report_id -> BigInt,
        action -> Text,
        body -> Text,
        figure -> Nullable<BigInt>,
        actor_id -> Nullable<BigInt>,
        actor_name -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    task_report_files (id) {
        id -> BigInt,
        report_id -> BigInt,
        name -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        data -> Binary,
        uploaded_by -> Nullable<BigInt>,
        uploader -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    task_inspections (id) {
        id -> BigInt,
        plan_id -> BigInt,
        kind -> Text,
        title -> Text,
        team -> Text,
        starts_on -> Date,
        ends_on -> Date,
        notes -> Nullable<Text>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    task_inspection_units (inspection_id, unit_id) {
        inspection_id -> BigInt,
        unit_id -> BigInt,
        plan_id -> BigInt,
        sort -> Integer,
    }
}

diesel::table! {
    task_findings (id) {
        id -> BigInt,
        inspection_id -> BigInt,
        plan_id -> BigInt,
        unit_id -> BigInt,
        seq -> Integer,
        problem -> Text,
        measures -> Nullable<Text>,
        due_on -> Date,
        status -> Text,
        progress -> Nullable<Text>,
        opinion -> Nullable<Text>,
        reported_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    task_finding_events (id) {
        id -> BigInt,
        finding_id -> BigInt,
        action -> Text,
        body -> Text,
        actor_id -> Nullable<BigInt>,
        actor_name -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    task_instructions (id) {
        id -> BigInt,
        plan_id -> BigInt,
        source -> Text,
        title -> Text,
        reference -> Nullable<Text>,
        issuer -> Nullable<Text>,
        said_on -> Date,
        body -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    task_instruction_items (instruction_id, item_id) {
        instruction_id -> BigInt,
        item_id -> BigInt,
        plan_id -> BigInt,
    }
}

diesel::table! {
    task_reminders (item_id, unit_id, period, kind) {
        item_id -> BigInt,
        unit_id -> BigInt,
        period -> Text,
        kind -> Text,
        plan_id -> BigInt,
        due_on -> Date,
        sent_at -> Timestamp,
        sender -> Text,
        times -> Integer,
    }
}

diesel::joinable!(task_plans -> regions (region_id));
diesel::joinable!(task_items -> task_plans (plan_id));
diesel::joinable!(task_assignments -> task_items (item_id));
diesel::joinable!(task_assignments -> units (unit_id));
diesel::joinable!(task_reports -> units (unit_id));
diesel::joinable!(task_report_events -> task_reports (report_id));
diesel::joinable!(task_report_files -> task_reports (report_id));
diesel::joinable!(task_inspections -> task_plans (plan_id));
diesel::joinable!(task_inspection_units -> task_inspections (inspection_id));
diesel::joinable!(task_inspection_units -> units (unit_id));
diesel::joinable!(task_findings -> task_inspections (inspection_id));
diesel::joinable!(task_findings -> units (unit_id));
diesel::joinable!(task_finding_events -> task_findings (finding_id));
diesel::joinable!(task_instructions -> task_plans (plan_id));
diesel::joinable!(task_instruction_items -> task_instructions (instruction_id));
diesel::joinable!(task_instruction_items -> task_items (item_id));
diesel::table! {
    task_pair_marks (item_id, unit_id) {
        item_id -> BigInt,
        unit_id -> BigInt,
        plan_id -> BigInt,
        marks -> Text,
    }
}

diesel::joinable!(task_reminders -> task_items (item_id));
diesel::joinable!(task_reminders -> units (unit_id));
diesel::joinable!(eval_ledger_links -> task_reports (report_id));
diesel::joinable!(sites -> regions (region_id));
diesel::joinable!(requests -> request_categories (category_id));
diesel::joinable!(request_events -> requests (request_id));
diesel::joinable!(request_attachments -> requests (request_id));
diesel::joinable!(request_media -> requests (request_id));
diesel::joinable!(request_points -> requests (request_id));
diesel::joinable!(request_handlers -> requests (request_id));
diesel::joinable!(request_words -> requests (request_id));
diesel::joinable!(request_cohandlers -> requests (request_id));
diesel::joinable!(request_cohandlers -> sites (site_id));
diesel::joinable!(request_cohandlers -> units (unit_id));
diesel::joinable!(disputes -> requests (request_id));
diesel::joinable!(dispute_parties -> disputes (dispute_id));
diesel::joinable!(dispute_mediators -> disputes (dispute_id));
diesel::joinable!(dispute_sessions -> disputes (dispute_id));
diesel::joinable!(legal_aid_cases -> requests (request_id));
diesel::joinable!(legal_aid_cases -> users (lawyer_id));
diesel::joinable!(legal_consultations -> legal_aid_cases (case_id));
diesel::joinable!(request_answers -> category_questions (question_id));
diesel::joinable!(units -> regions (region_id));
diesel::joinable!(eval_schemes -> regions (region_id));
diesel::joinable!(eval_categories -> eval_schemes (scheme_id));
diesel::joinable!(eval_participants -> eval_schemes (scheme_id));
diesel::joinable!(eval_participants -> units (unit_id));
diesel::joinable!(eval_participants -> eval_categories (category_id));
diesel::joinable!(eval_indicators -> eval_schemes (scheme_id));
diesel::joinable!(eval_weights -> eval_categories (category_id));
diesel::joinable!(eval_weights -> eval_indicators (area_id));
diesel::joinable!(eval_teams -> eval_schemes (scheme_id));
diesel::joinable!(eval_team_members -> eval_teams (team_id));
diesel::joinable!(eval_team_members -> users (user_id));
diesel::joinable!(eval_team_units -> eval_teams (team_id));
diesel::joinable!(eval_team_units -> units (unit_id));
diesel::joinable!(eval_scores -> eval_indicators (indicator_id));
diesel::joinable!(eval_reminders -> eval_schemes (scheme_id));
diesel::joinable!(eval_results -> units (unit_id));
diesel::joinable!(eval_corrections -> eval_indicators (indicator_id));
diesel::joinable!(users -> regions (region_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(user_grids -> regions (grid_id));
diesel::joinable!(persons -> regions (region_id));
diesel::joinable!(persons -> households (household_id));
diesel::joinable!(person_tags -> persons (person_id));
diesel::joinable!(residences -> persons (person_id));
diesel::joinable!(consents -> persons (person_id));
diesel::joinable!(assists -> persons (person_id));
diesel::joinable!(needs -> persons (person_id));
diesel::joinable!(services -> persons (person_id));
diesel::joinable!(messages -> users (user_id));
diesel::joinable!(message_attempts -> messages (message_id));

diesel::table! {
    activity_terms (id) {
        id -> BigInt,
        list -> Text,
        name -> Text,
        unit_word -> Nullable<Text>,
        sort -> Integer,
        active -> Bool,
        version -> Integer,
    }
}

diesel::table! {
    activities (id) {
        id -> BigInt,
        form -> Text,
        title -> Text,
        kind_id -> Nullable<BigInt>,
        venue -> Nullable<Text>,
        organiser_unit_id -> BigInt,
        co_organisers -> Nullable<Text>,
        region_id -> BigInt,
        region_path -> Text,
        site_id -> Nullable<BigInt>,
        held_on -> Date,
        starts_at -> Nullable<Text>,
        ends_on -> Nullable<Date>,
        participants -> Integer,
        audience_id -> Nullable<BigInt>,
        hours_tenths -> Nullable<Integer>,
        summary -> Nullable<Text>,
        photos -> Integer,
        recorded_by -> Nullable<BigInt>,
        recorder -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    activity_materials (activity_id, term_id) {
        activity_id -> BigInt,
        term_id -> BigInt,
        quantity -> Integer,
    }
}

diesel::table! {
    activity_photos (id) {
        id -> BigInt,
        activity_id -> BigInt,
        name -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        data -> Binary,
        uploaded_by -> Nullable<BigInt>,
        uploader -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    activity_tallies (region_path, month, form, kind_id, venue, material_id) {
        region_path -> Text,
        month -> Text,
        form -> Text,
        kind_id -> BigInt,
        venue -> Text,
        material_id -> BigInt,
        n -> BigInt,
        people -> BigInt,
    }
}

diesel::table! {
    activity_unit_tallies (unit_id, year, form, venue) {
        unit_id -> BigInt,
        year -> Integer,
        form -> Text,
        venue -> Text,
        n -> BigInt,
        people -> BigInt,
    }
}

diesel::table! {
    activity_tally_journal (id) {
        id -> BigInt,
        region_path -> Text,
        unit_id -> BigInt,
        month -> Text,
        form -> Text,
        kind_id -> BigInt,
        venue -> Text,
        material_id -> BigInt,
        n -> BigInt,
        people -> BigInt,
    }
}

diesel::table! {
    activity_trainees (id) {
        id -> BigInt,
        activity_id -> BigInt,
        name -> Text,
        organisation -> Nullable<Text>,
        post -> Nullable<Text>,
        phone -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    activity_targets (unit_id, year) {
        unit_id -> BigInt,
        year -> Integer,
        activities -> Integer,
        trainings -> Integer,
        every_venue -> Bool,
        set_by -> Nullable<BigInt>,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    councils (id) {
        id -> BigInt,
        name -> Text,
        region_id -> BigInt,
        region_path -> Text,
        rhythm -> Text,
        day -> Nullable<Integer>,
        place -> Text,
        starts_at -> Nullable<Text>,
        public_code -> Text,
        active -> Bool,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    council_members (id) {
        id -> BigInt,
        council_id -> BigInt,
        name -> Text,
        role -> Text,
        note -> Nullable<Text>,
        phone -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    council_meetings (id) {
        id -> BigInt,
        council_id -> BigInt,
        region_path -> Text,
        held_on -> Date,
        status -> Text,
        guests -> Integer,
        notes -> Nullable<Text>,
        recorded_by -> Nullable<BigInt>,
        recorder -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    council_attendance (meeting_id, member_id) {
        meeting_id -> BigInt,
        member_id -> BigInt,
    }
}

diesel::table! {
    council_items (id) {
        id -> BigInt,
        council_id -> BigInt,
        region_path -> Text,
        meeting_id -> Nullable<BigInt>,
        channel -> Text,
        text -> Text,
        raised_by -> Nullable<Text>,
        phone -> Nullable<Text>,
        publish_name -> Bool,
        raised_at -> Timestamp,
        raised_on -> Date,
        brought_by -> Nullable<BigInt>,
        status -> Text,
        decision -> Nullable<Text>,
        responsible -> Nullable<Text>,
        due_on -> Nullable<Date>,
        decided_on -> Nullable<Date>,
        done_on -> Nullable<Date>,
        outcome -> Nullable<Text>,
        request_id -> Nullable<BigInt>,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    council_counts (council_id) {
        council_id -> BigInt,
        waiting -> BigInt,
        open -> BigInt,
        last_held_on -> Nullable<Date>,
    }
}

diesel::table! {
    council_tallies (region_path, month) {
        region_path -> Text,
        month -> Text,
        meetings -> BigInt,
        attendance -> BigInt,
        items_raised -> BigInt,
        items_decided -> BigInt,
        items_declined -> BigInt,
        items_done -> BigInt,
        items_on_time -> BigInt,
    }
}

diesel::table! {
    council_tally_journal (id) {
        id -> BigInt,
        region_path -> Text,
        month -> Text,
        meetings -> BigInt,
        attendance -> BigInt,
        items_raised -> BigInt,
        items_decided -> BigInt,
        items_declined -> BigInt,
        items_done -> BigInt,
        items_on_time -> BigInt,
    }
}

diesel::joinable!(council_counts -> councils (council_id));
diesel::joinable!(activities -> regions (region_id));
diesel::joinable!(activities -> units (organiser_unit_id));
diesel::joinable!(activity_materials -> activities (activity_id));
diesel::joinable!(activity_materials -> activity_terms (term_id));
diesel::joinable!(activity_photos -> activities (activity_id));
diesel::joinable!(activity_trainees -> activities (activity_id));
diesel::joinable!(activity_targets -> units (unit_id));
diesel::joinable!(councils -> regions (region_id));
diesel::joinable!(council_members -> councils (council_id));
diesel::joinable!(council_meetings -> councils (council_id));
diesel::joinable!(council_attendance -> council_meetings (meeting_id));
diesel::joinable!(council_attendance -> council_members (member_id));
diesel::joinable!(council_items -> councils (council_id));
diesel::joinable!(council_items -> council_meetings (meeting_id));
diesel::joinable!(council_items -> requests (request_id));

diesel::allow_tables_to_appear_in_same_query!(
    task_item_tallies,
    councils,
    council_members,
    council_counts,
    council_tallies,
    council_tally_journal,
    council_meetings,
    council_attendance,
    council_items,
    activity_terms,
    activities,
    activity_materials,
    activity_photos,
    activity_tallies,
    activity_tally_journal,
    activity_trainees,
    activity_unit_tallies,
    activity_targets,
    messages,
    message_attempts,
    sms_log,
    request_sms_consents,
    resident_codes,
    eval_decisions,
    eval_final_scores,
    eval_results,
    eval_corrections,
    eval_teams,
    eval_team_members,
    eval_team_units,
    eval_scores,
    eval_submissions,
    eval_reminders,
    eval_evidence,
    eval_ledger_links,
    eval_schemes,
    eval_categories,
    eval_participants,
    eval_indicators,
    eval_weights,
    region_calendar_days,
    regions,
    assists,
    registry_imports,
    surveys,
    survey_responses,
    needs,
    services,
    households,
    persons,
    person_tags,
    residences,
    consents,
    declarations,
    peoples,
    sites,
    units,
    users,
    user_grids,
    sessions,
    api_tokens,
    audit_log,
    audit_head,
    config_stamp,
    request_categories,
    requests,
    request_tallies,
    request_tally_journal,
    request_changes,
    request_words,
    registry_tallies,
    registry_tally_journal,
    disputes,
    dispute_parties,
    dispute_mediators,
    dispute_sessions,
    legal_aid_cases,
    legal_consultations,
    request_events,
    request_attachments,
    request_handlers,
    request_media,
    request_points,
    request_cohandlers,
    calendar_days,
    category_levels,
    routing_rules,
    category_questions,
    request_answers,
    reply_templates,
    task_plans,
    task_items,
    task_assignments,
    task_reports,
    task_report_events,
    task_report_files,
    task_inspections,
    task_inspection_units,
    task_findings,
    task_finding_events,
    task_instructions,
    task_instruction_items,
    task_reminders,
    task_pair_marks,
);
