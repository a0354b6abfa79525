-- The specialists (executors) a request type routes its new tickets to: a JSON array of
-- user ids, in the order ties between equally loaded specialists are broken; and a version
-- for optimistic concurrency on changes.
alter table request_types add column specialists text not null default '[]';
alter table request_types add column version integer not null default 1;
