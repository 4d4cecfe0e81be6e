with

calendar_days as (
    select generated_day::date as date_day
    from
        generate_series(
            {{ dbt.string_literal(var('calendar_start_date')) }}::date,
            {{ dbt.string_literal(var('calendar_end_date')) }}::date,
            interval '1 day'
        ) as generated_day
),

calendar_attributes as (
    select
        date_day,
        date_trunc('week', date_day)::date as week_start_date,
        date_trunc('month', date_day)::date as month_start_date,
        date_trunc('quarter', date_day)::date as quarter_start_date,
        extract(year from date_day)::integer as calendar_year,
        extract(quarter from date_day)::integer as calendar_quarter,
        extract(month from date_day)::integer as calendar_month,
        extract(day from date_day)::integer as day_of_month,
        extract(isoyear from date_day)::integer as iso_year,
        extract(week from date_day)::integer as iso_week,
        extract(isodow from date_day)::integer as iso_day_of_week,
        to_char(date_day, 'FMDay') as day_name,
        to_char(date_day, 'FMMonth') as month_name,
        extract(isodow from date_day) in (6, 7) as is_weekend
    from calendar_days
)

select * from calendar_attributes
