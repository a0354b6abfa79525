-- The per-tenant security policy set by the tenant's admins. A tenant without a row uses the
-- process's defaults (auth settings).

create table tenant_security_policies (
    tenant_id uuid primary key references tenants (id),
    password_min_length integer not null,
    password_require_digit boolean not null,
    password_require_symbol boolean not null,
    password_require_mixed_case boolean not null,
    session_lifetime_minutes integer not null,
    max_failed_logins integer not null,
    lockout_minutes integer not null,
    -- JSON array of addresses and CIDR blocks; empty admits any address.
    ip_allowlist text not null,
    version bigint not null,
    updated_at timestamptz not null
);
