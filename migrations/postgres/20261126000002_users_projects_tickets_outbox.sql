-- Users and their sessions, projects, tickets with comments and history, idempotency keys,
-- and the transactional outbox of events.

create table users (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    email text not null,
    display_name text not null,
    role text not null,
    -- argon2id PHC string.
    password_hash text not null,
    active boolean not null default true,
    failed_logins integer not null default 0,
    locked_until timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    version bigint not null default 1,
    unique (tenant_id, email)
);

create table sessions (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    user_id uuid not null references users (id),
    token_hash bytea not null unique,
    csrf_token text not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    revoked_at timestamptz
);

create index sessions_user on sessions (tenant_id, user_id);

create table projects (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    key text not null,
    name text not null,
    created_at timestamptz not null,
    version bigint not null default 1,
    unique (tenant_id, key)
);

create table project_members (
    tenant_id uuid not null references tenants (id),
    project_id uuid not null references projects (id),
    user_id uuid not null references users (id),
    primary key (project_id, user_id)
);

create index project_members_user on project_members (tenant_id, user_id);

-- The last ticket number handed out per tenant: tickets are numbered 1, 2, 3... per company.
create table ticket_numbers (
    tenant_id uuid primary key references tenants (id),
    last_number bigint not null
);

create table tickets (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    project_id uuid not null references projects (id),
    number bigint not null,
    subject text not null,
    description text not null,
    channel text not null,
    status text not null,
    priority text not null,
    assignee_id uuid references users (id),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    version bigint not null default 1,
    unique (tenant_id, number)
);

create index tickets_by_project on tickets (tenant_id, project_id, id);
create index tickets_by_assignee on tickets (tenant_id, assignee_id, id);

create table ticket_comments (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    ticket_id uuid not null references tickets (id),
    -- JSON of the acting principal (user or API token).
    author text not null,
    public boolean not null,
    body text not null,
    created_at timestamptz not null
);

create index ticket_comments_by_ticket on ticket_comments (tenant_id, ticket_id, created_at);

create table ticket_history (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    ticket_id uuid not null references tickets (id),
    actor text not null,
    field text not null,
    old_value text,
    new_value text,
    at timestamptz not null
);

create index ticket_history_by_ticket on ticket_history (tenant_id, ticket_id, at);

-- A creating request's key and its answer, so a retried request gets the same answer.
create table idempotency_keys (
    tenant_id uuid not null references tenants (id),
    key text not null,
    request_hash bytea not null,
    status integer not null,
    body text not null,
    created_at timestamptz not null,
    primary key (tenant_id, key)
);

create table outbox (
    id bigint generated always as identity primary key,
    event_id uuid not null unique,
    tenant_id uuid not null,
    topic text not null,
    partition_key text not null,
    -- The event's JSON wire form and the trace headers that travel with it.
    payload text not null,
    headers text not null,
    created_at timestamptz not null,
    published_at timestamptz
);

create index outbox_unpublished on outbox (id) where published_at is null;
