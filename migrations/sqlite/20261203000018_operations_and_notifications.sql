-- Each project's operations (named actions operators run on its tickets), its notification
-- rules, and the notifications the rules deliver to users.
-- UUIDs are 16-byte blobs, timestamps RFC 3339 UTC text.

create table project_operations (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    project_id blob not null references projects (id),
    key text not null,
    -- JSON: the operation's definition (name, statuses it is offered in, its effects).
    definition text not null,
    active boolean not null default true,
    created_at text not null,
    updated_at text not null,
    version bigint not null default 1,
    unique (project_id, key)
);

create table project_notification_rules (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    project_id blob not null references projects (id),
    -- JSON: the rule's definition (name, trigger, conditions, recipients).
    definition text not null,
    active boolean not null default true,
    created_at text not null,
    updated_at text not null,
    version bigint not null default 1
);

create index project_notification_rules_by_project
    on project_notification_rules (tenant_id, project_id);

create table notifications (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    user_id blob not null references users (id),
    project_id blob not null references projects (id),
    ticket_id blob not null references tickets (id),
    rule_id blob not null references project_notification_rules (id),
    trigger text not null,
    message text not null,
    created_at text not null,
    read_at text
);

create index notifications_by_user on notifications (tenant_id, user_id, created_at);
