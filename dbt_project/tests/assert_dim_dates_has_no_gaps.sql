-- Every day between the first and the last calendar day is present exactly once.
with

calendar_bounds as (
    select
        min(date_day) as first_day,
        max(date_day) as last_day,
        count(*) as day_count
    from {{ ref('dim_dates') }}
)

select *
from calendar_bounds
where day_count != (last_day - first_day) + 1
