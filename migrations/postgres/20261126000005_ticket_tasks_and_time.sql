-- Tasks on tickets (follow-ups created, assigned and closed by operators) and the time spent
-- working each ticket.

create table ticket_tasks (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    ticket_id uuid not null references tickets (id),
    title text not null,
    assignee_id uuid references users (id),
    due_at timestamptz,
    done_at timestamptz,
    -- JSON of the principal who created it.
    created_by text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    version bigint not null default 1
);

create index ticket_tasks_by_ticket on ticket_tasks (tenant_id, ticket_id, id);
create index ticket_tasks_by_assignee on ticket_tasks (tenant_id, assignee_id, id);

create table ticket_time_entries (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    ticket_id uuid not null references tickets (id),
    -- JSON of the principal who logged it.
    author text not null,
    minutes integer not null check (minutes > 0),
    note text not null,
    worked_at timestamptz not null,
    created_at timestamptz not null
);

create index ticket_time_entries_by_ticket on ticket_time_entries (tenant_id, ticket_id, id);
