-- Departments and positions, employees (linked to users), their contracts (hours per week and
-- weekly work pattern, by the date they take effect), absences with approval, and personal data
-- kept apart from the directory.

create table hr_departments (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    name text not null,
    created_at timestamptz not null,
    unique (tenant_id, name)
);

create table hr_positions (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    name text not null,
    created_at timestamptz not null,
    unique (tenant_id, name)
);

create table employees (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    user_id uuid references users (id),
    full_name text not null,
    department_id uuid references hr_departments (id),
    position_id uuid references hr_positions (id),
    -- The access-control badge, so that swipes map to the employee.
    badge_id text,
    hired_on date not null,
    left_on date,
    -- JSON of the personal data (birth date, phones, address): HR and the person only.
    personal text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    version bigint not null default 1,
    unique (tenant_id, user_id),
    unique (tenant_id, badge_id)
);

create table employee_contracts (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    employee_id uuid not null references employees (id),
    valid_from date not null,
    hours_per_week double precision not null,
    -- JSON of the weekly work pattern (opening-hours shape: mon..sun lists of from/to).
    work_pattern text not null,
    created_at timestamptz not null,
    unique (employee_id, valid_from)
);

create table absences (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    employee_id uuid not null references employees (id),
    -- vacation, sick_leave, day_off, unpaid_leave.
    kind text not null,
    starts_on date not null,
    ends_on date not null,
    -- requested, approved, rejected, cancelled.
    status text not null,
    note text not null,
    requested_by text not null,
    decided_by text,
    decided_at timestamptz,
    decision_note text,
    created_at timestamptz not null,
    version bigint not null default 1
);

create index absences_by_employee on absences (tenant_id, employee_id, starts_on);
