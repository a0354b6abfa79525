-- Published weekly schedules: one row per published version of a tenant's week (numbered 1,
-- 2, 3... per week; the highest number supersedes the others) and one row per shift of an
-- agent in it, with the shift's breaks and other activities.
-- UUIDs are 16-byte blobs, timestamps RFC 3339 UTC text, dates YYYY-MM-DD text.

create table schedules (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    -- The first day of the week, in the schedule's time zone.
    week_start text not null,
    version integer not null,
    -- IANA name.
    time_zone text not null,
    agents integer not null,
    activities integer not null,
    -- The version this one replaced.
    supersedes blob references schedules (id),
    -- JSON of the principal who published it.
    published_by text not null,
    published_at text not null,
    unique (tenant_id, week_start, version)
);

create table schedule_shifts (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    schedule_id blob not null references schedules (id),
    -- The agent as agent-state events name them.
    agent_id text not null,
    -- The user who works the shift, when the planner named one.
    user_id blob references users (id),
    starts_at text not null,
    ends_at text not null,
    -- JSON of the activities inside the shift: [{"kind", "start", "end"}], by start.
    activities text not null
);

create index schedule_shifts_by_schedule on schedule_shifts (tenant_id, schedule_id, agent_id, starts_at);
create index schedule_shifts_by_user on schedule_shifts (tenant_id, user_id);
