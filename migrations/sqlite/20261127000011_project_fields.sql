-- The project constructor's request types and custom fields, and each ticket's type and field
-- values. Definitions are never deleted, only retired (active = false), and a field's key and
-- type never change, so existing tickets keep their meaning.

create table request_types (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    project_id blob not null references projects (id),
    key text not null,
    name text not null,
    active integer not null default 1,
    created_at text not null,
    unique (project_id, key)
);

create table project_fields (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    project_id blob not null references projects (id),
    key text not null,
    label text not null,
    -- text, number, date, boolean or choice.
    kind text not null,
    required integer not null default 0,
    -- JSON array of the choices of a choice field (its dictionary).
    choices text not null,
    active integer not null default 1,
    created_at text not null,
    updated_at text not null,
    version bigint not null default 1,
    unique (project_id, key)
);

alter table tickets add column request_type text;
-- JSON object of the custom field values, by field key.
alter table tickets add column fields text not null default '{}';
