-- Tenants (client companies) and the API tokens integrations authenticate with.
create table tenants (
    id uuid primary key,
    name text not null,
    created_at timestamptz not null default now()
);

create table api_tokens (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    role text not null,
    label text not null default '',
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash bytea not null unique,
    created_at timestamptz not null,
    expires_at timestamptz,
    revoked_at timestamptz
);

create index api_tokens_tenant_id on api_tokens (tenant_id);
