-- Departments and positions, employees (linked to users), their contracts (hours per week and
-- weekly work pattern, by the date they take effect), absences with approval, and personal data
-- kept apart from the directory.
-- UUIDs are 16-byte blobs, timestamps RFC 3339 UTC text, dates YYYY-MM-DD text.

create table hr_departments (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    name text not null,
    created_at text not null,
    unique (tenant_id, name)
);

create table hr_positions (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    name text not null,
    created_at text not null,
    unique (tenant_id, name)
);

create table employees (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    user_id blob references users (id),
    full_name text not null,
    department_id blob references hr_departments (id),
    position_id blob references hr_positions (id),
    -- The access-control badge, so that swipes map to the employee.
    badge_id text,
    hired_on text not null,
    left_on text,
    -- JSON of the personal data (birth date, phones, address): HR and the person only.
    personal text not null,
    created_at text not null,
    updated_at text not null,
    version bigint not null default 1,
    unique (tenant_id, user_id),
    unique (tenant_id, badge_id)
);

create table employee_contracts (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    employee_id blob not null references employees (id),
    valid_from text not null,
    hours_per_week real not null,
    -- JSON of the weekly work pattern (opening-hours shape: mon..sun lists of from/to).
    work_pattern text not null,
    created_at text not null,
    unique (employee_id, valid_from)
);

create table absences (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    employee_id blob not null references employees (id),
    -- vacation, sick_leave, day_off, unpaid_leave.
    kind text not null,
    starts_on text not null,
    ends_on text not null,
    -- requested, approved, rejected, cancelled.
    status text not null,
    note text not null,
    requested_by text not null,
    decided_by text,
    decided_at text,
    decision_note text,
    created_at text not null,
    version bigint not null default 1
);

create index absences_by_employee on absences (tenant_id, employee_id, starts_on);
